# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Supabase CLI's own history table, ``supabase_migrations.schema_migrations``.

We read and write the CLI's table rather than a table of our own, so that ``supabase migration
list`` and ``supabase db push`` agree with us. The table is created with the same statements the
CLI runs (checked against a fresh database pushed by CLI 2.122.1: ``version text`` primary key,
``statements text[]``, ``name text``, in that order); extra nullable columns added by other tools
or later CLI releases are tolerated. All functions take a psycopg2 cursor and leave transaction
control to the caller.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    sql = None

HISTORY_SCHEMA = "supabase_migrations"
HISTORY_TABLE = "schema_migrations"
HISTORY_QUALIFIED = "%s.%s" % (HISTORY_SCHEMA, HISTORY_TABLE)

# The CLI's statements, in its order (pkg/migration/history.go: CreateMigrationTable).
CREATE_STATEMENTS = (
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text",
)
REQUIRED_COLUMNS = ("version", "statements", "name")


class HistoryRow(namedtuple("HistoryRow", ["version", "name", "statements"])):
    """One row: ``version`` (str), ``name`` (str, '' when NULL), ``statements`` (list or None when NULL)."""

    __slots__ = ()

    def as_dict(self):
        return {"version": self.version, "name": self.name,
                "statements": list(self.statements) if self.statements is not None else None}


def _table():
    return sql.SQL("{}.{}").format(sql.Identifier(HISTORY_SCHEMA), sql.Identifier(HISTORY_TABLE))


def history_exists(cur):
    """True when the history table exists (a missing table means: nothing applied yet)."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (HISTORY_QUALIFIED,))
    return bool(cur.fetchone()[0])


def history_columns(cur):
    """Column names of the history table ([] when it does not exist)."""
    cur.execute("SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (HISTORY_QUALIFIED,))
    return [row[0] for row in cur.fetchall()]


def ensure_history_table(cur):
    """Create the table exactly as the CLI does when it, or one of its columns, is missing.

    Returns True when DDL ran. When everything exists no statement runs, so no lock is taken
    (``ALTER TABLE … IF NOT EXISTS`` would still take an ACCESS EXCLUSIVE lock).
    """
    columns = history_columns(cur)
    if columns and all(name in columns for name in REQUIRED_COLUMNS):
        return False
    for statement in CREATE_STATEMENTS:
        cur.execute(statement)
    return True


def read_history(cur):
    """All rows in one query, ordered by version as text (how the CLI compares); [] without the table."""
    columns = history_columns(cur)
    if not columns:
        return []
    fields = [sql.Identifier("version")]
    fields.append(sql.SQL("coalesce({}, '')").format(sql.Identifier("name")) if "name" in columns
                  else sql.SQL("''"))
    fields.append(sql.Identifier("statements") if "statements" in columns else sql.SQL("NULL::text[]"))
    cur.execute(sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(fields), _table()))
    rows = [HistoryRow(row[0], row[1], list(row[2]) if row[2] is not None else None) for row in cur.fetchall()]
    rows.sort(key=lambda row: row.version)
    return rows


def insert_history(cur, version, name, statements):
    """Record a migration as the CLI does (a duplicate version raises psycopg2's UniqueViolation)."""
    cur.execute(sql.SQL("INSERT INTO {} (version, name, statements) VALUES (%s, %s, %s)").format(_table()),
                (version, name, list(statements)))


def upsert_history(cur, version, name, statements):
    """``migration repair --status applied``: insert, or overwrite name and statements."""
    cur.execute(sql.SQL("INSERT INTO {} (version, name, statements) VALUES (%s, %s, %s) "
                        "ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, "
                        "statements = EXCLUDED.statements").format(_table()),
                (version, name, list(statements)))


def delete_history(cur, version):
    """``migration repair --status reverted``: delete the row; True when one existed."""
    if not history_exists(cur):
        return False
    cur.execute(sql.SQL("DELETE FROM {} WHERE version = %s").format(_table()), (version,))
    return cur.rowcount > 0
