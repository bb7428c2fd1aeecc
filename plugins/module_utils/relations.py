# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table names as users write them (``facts``, ``public.facts``, ``"public"."facts"``), parsed in one place.

:func:`split_relation` gives ``(schema or None, table)``; :func:`qualified` fills in a default schema;
:func:`identifier` composes the name for SQL (``psycopg2.sql.Identifier``), never by formatting text.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib('psycopg2')
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def split_relation(name, what="table name", plain=False):
    """``(schema or None, table)`` of ``table`` or ``schema.table``; InvalidInput naming ``what`` otherwise.

    Double quotes around a part are dropped. With ``plain`` every part must be a plain identifier
    (letters, digits, ``_``, ``$``), as needed where the name is compared with catalog text.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("%s must be a non-empty string, got %r" % (what, name))
    parts = [part.strip().strip('"') for part in name.strip().split(".")]
    if plain and (len(parts) > 2 or not all(PLAIN_NAME.match(part) for part in parts)):
        raise InvalidInput("%s %r is not a plain [schema.]table name" % (what, name))
    if len(parts) > 2 or not all(parts):
        raise InvalidInput("%s %r must be 'table' or 'schema.table'" % (what, name))
    return (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def qualified(name, default_schema="public", what="table name", plain=True):
    """``schema.table``, with ``default_schema`` when no schema is given."""
    schema, table = split_relation(name, what, plain=plain)
    return "%s.%s" % (schema or default_schema, table)


def identifier(name, default_schema=None, what="table name"):
    """The psycopg2 Identifier of ``name`` (schema-qualified when it has or gets a schema)."""
    schema, table = split_relation(name, what)
    schema = schema or default_schema
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)
