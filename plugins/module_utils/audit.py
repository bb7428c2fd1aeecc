# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit trail kept in the target database, in its own schema (never ``public``).

``hotdash_audit.approvals`` records every approval or waiver (who, when, what, which ticket, and the
checklist the person acknowledged);
``hotdash_audit.rollback_exercises`` records each rollback that ran, so the production preflight
can require that the same versions were rolled back successfully on staging first. Living in the
database (not only in a job's artifacts) means AWX jobs, which start with empty directories, still
see what earlier jobs recorded.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

AUDIT_SCHEMA = "hotdash_audit"

_DDL = [
    "CREATE SCHEMA IF NOT EXISTS hotdash_audit",
    "REVOKE ALL ON SCHEMA hotdash_audit FROM PUBLIC",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.approvals (
        id bigserial PRIMARY KEY,
        gate text NOT NULL,
        environment text NOT NULL,
        approver text NOT NULL,
        approved_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        mode text NOT NULL,
        ticket text,
        reason text,
        versions text[] NOT NULL DEFAULT '{}',
        run_id text,
        host text,
        acknowledgements jsonb NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.rollback_exercises (
        id bigserial PRIMARY KEY,
        environment text NOT NULL,
        strategy text NOT NULL,
        versions text[] NOT NULL,
        succeeded boolean NOT NULL,
        trigger text,
        detail text,
        exercised_at timestamptz NOT NULL DEFAULT now(),
        run_id text,
        host text
    )""",
]

# Columns added after the first release: a database that already has the audit schema gets them here.
_UPGRADES = [
    "ALTER TABLE hotdash_audit.approvals ADD COLUMN IF NOT EXISTS acknowledgements jsonb NOT NULL DEFAULT '{}'",
]

APPROVAL_COLUMNS = ("gate", "environment", "approver", "approved_at", "mode", "ticket", "reason", "versions",
                    "run_id", "host", "acknowledgements")
EXERCISE_COLUMNS = ("environment", "strategy", "versions", "succeeded", "trigger", "detail", "run_id", "host")


def ensure_audit_schema(cur):
    """Create the audit schema and tables when missing, add columns missing from older ones (idempotent).

    Returns False, having only read the catalog, when everything is there already.
    """
    cur.execute("SELECT to_regclass('hotdash_audit.approvals') IS NOT NULL"
                " AND to_regclass('hotdash_audit.rollback_exercises') IS NOT NULL,"
                " EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('hotdash_audit.approvals')"
                " AND attname = 'acknowledgements' AND NOT attisdropped)")
    tables, upgraded = cur.fetchone()
    if tables and upgraded:
        return False
    for statement in ([] if tables else _DDL) + _UPGRADES:
        cur.execute(statement)
    return True


def approval_columns(cur):
    """Column names of hotdash_audit.approvals (empty when the table does not exist)."""
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('hotdash_audit.approvals')"
                " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
    return [row[0] for row in cur.fetchall()]


def _insert(cur, table, columns, values):
    from psycopg2 import sql
    query = sql.SQL("INSERT INTO {}.{} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(AUDIT_SCHEMA), sql.Identifier(table),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
    cur.execute(query, [values.get(c) for c in columns])
    return cur.fetchone()[0]


def record_approval(cur, **values):
    """Insert one approval row; ``values`` keys are APPROVAL_COLUMNS. Returns the new id.

    ``acknowledgements`` is a dict (checklist item name -> value), stored as jsonb.
    """
    from psycopg2.extras import Json
    ensure_audit_schema(cur)
    values.setdefault("versions", [])
    values["acknowledgements"] = Json(dict(values.get("acknowledgements") or {}))
    return _insert(cur, "approvals", APPROVAL_COLUMNS, values)


def record_rollback_exercise(cur, **values):
    """Insert one rollback exercise row; ``values`` keys are EXERCISE_COLUMNS. Returns the new id."""
    ensure_audit_schema(cur)
    return _insert(cur, "rollback_exercises", EXERCISE_COLUMNS, values)


def rollback_exercises(cur, environment=None, succeeded=True):
    """Recorded rollback exercises (newest first) as dicts; [] when the audit schema does not exist."""
    cur.execute("SELECT to_regclass('hotdash_audit.rollback_exercises') IS NOT NULL")
    if not cur.fetchone()[0]:
        return []
    where, params = ["succeeded = %s"], [succeeded]
    if environment:
        where.append("environment = %s")
        params.append(environment)
    cur.execute("SELECT id, environment, strategy, versions, succeeded, trigger, detail, exercised_at, run_id, host "
                "FROM hotdash_audit.rollback_exercises WHERE " + " AND ".join(where) + " ORDER BY id DESC", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def approvals(cur, gate=None, environment=None):
    """Recorded approvals (newest first) as dicts; [] when the audit schema does not exist.

    ``acknowledgements`` is a dict; ``{}`` for a table not upgraded yet (what the column's default gives).
    """
    columns = approval_columns(cur)
    if not columns:
        return []
    acknowledgements = "acknowledgements" if "acknowledgements" in columns else "'{}'::jsonb AS acknowledgements"
    where, params = ["true"], []
    if gate:
        where.append("gate = %s")
        params.append(gate)
    if environment:
        where.append("environment = %s")
        params.append(environment)
    cur.execute("SELECT id, gate, environment, approver, approved_at, recorded_at, mode, ticket, reason, versions, "
                "run_id, host, " + acknowledgements + " FROM hotdash_audit.approvals WHERE " + " AND ".join(where)
                + " ORDER BY id DESC", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def covered_by_exercise(exercises, versions):
    """The first successful exercise whose versions include every one of ``versions``, or None."""
    wanted = set(versions)
    for exercise in exercises:
        if exercise.get("succeeded") and wanted.issubset(set(exercise.get("versions") or [])):
            return exercise
    return None
