# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PostgreSQL errors on one line, and the SQLSTATEs the engine acts on.

Every message the collection builds from a psycopg2 error goes through :func:`error_line`: the server's
primary message, the SQLSTATE and the hint, never the multi-line ``LINE 1: ...`` context.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"
ADMIN_SHUTDOWN = "57P01"
CRASH_SHUTDOWN = "57P02"
CANNOT_CONNECT_NOW = "57P03"
DEADLOCK_DETECTED = "40P01"
UNDEFINED_TABLE = "42P01"
UNDEFINED_FUNCTION = "42883"
READ_ONLY_VIOLATION = "25006"

_MISSING_RELATION = re.compile(r'relation "([^"]+)" does not exist')
# libpq prefixes every connection failure with where it tried; the reason is what a person needs.
_CONNECTION_PREFIX = re.compile(r'^connection to server at "[^"]*" \([^)]*\), port \d+ failed: ')


def first_line(exc):
    """The first line of the error's text (or its class name), without the ``ERROR:`` prefix."""
    line = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    return re.sub(r"^ERROR:\s*", "", line)


def primary_message(exc):
    """The server's primary message (``diag.message_primary``), else the first line of the error's text."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return primary or first_line(exc)


def error_line(exc):
    """A PostgreSQL error on one line: primary message, SQLSTATE, and the hint if there is one."""
    diag = getattr(exc, "diag", None)
    text = primary_message(exc)
    code = getattr(exc, "pgcode", None)
    hint = getattr(diag, "message_hint", None) if diag is not None else None
    line = "%s (SQLSTATE %s)" % (text, code) if code else text
    if hint:
        line += "; hint: %s" % " ".join(hint.split())
    return line


def missing_relation(exc):
    """The relation name of an 'undefined table' error ("?" when unnamed); None for other errors."""
    if getattr(exc, "pgcode", None) != UNDEFINED_TABLE:
        return None
    match = _MISSING_RELATION.search(error_line(exc))
    return match.group(1) if match else "?"


def connection_failure(exc):
    """Why a connection attempt failed, on one line, without libpq's "connection to server at" prefix."""
    return _CONNECTION_PREFIX.sub("", first_line(exc))
