# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy's tables in ``hotdash_audit``: what the database itself holds as evidence.

- ``policy``: every policy the database was given, newest last; the newest row is in force. Each row
  names the approval that allowed it (``approval_id``) and the row it replaced.
- ``refusals``: every change the guard refused, with the one-line reason and what was missing.
- ``release_runs``: each approved change that started (an apply), with its plan digest, versions and the
  SHA-256 of the run key only that run knows (the evidence an automatic rollback presents).
- ``rollback_triggers``: each automatic rollback trigger accepted, tied to the release run it rolls back.
- ``backups``: backups the collection took or observed (when, where, how big), read for ``backup_max_age``.
- ``approvals`` (``audit.py``, with its binding columns ``plan_digest``, ``proof``, ``evidence``, ``operator``,
  ``window_override``) is made append-only here too.

These tables are append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so a mistaken statement cannot
rewrite the trail. The owner of the schema, or a superuser, can still drop the trigger: the policy guards
against the collection's own runs and their variables, not against someone holding those privileges.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

try:
    from psycopg2.extras import Json
except ImportError:  # pragma: no cover - modules report missing_required_lib('psycopg2')
    Json = None

from ansible_collections.hotdash.supabase.plugins.module_utils import audit

APPEND_ONLY_TABLES = ("policy", "refusals", "release_runs", "rollback_triggers", "backups", "approvals")

_TABLES = [
    """CREATE TABLE IF NOT EXISTS hotdash_audit.policy (
        id bigserial PRIMARY KEY,
        environment text NOT NULL,
        settings jsonb NOT NULL,
        plan_digest text NOT NULL,
        approval_id bigint,
        replaces bigint,
        set_at timestamptz NOT NULL DEFAULT now(),
        set_by text,
        run_id text,
        host text
    )""",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.refusals (
        id bigserial PRIMARY KEY,
        refused_at timestamptz NOT NULL DEFAULT now(),
        action text NOT NULL,
        gate text,
        environment text,
        message text NOT NULL,
        missing text[] NOT NULL DEFAULT '{}',
        plan_digest text,
        versions text[] NOT NULL DEFAULT '{}',
        operator text,
        run_id text,
        host text,
        detail jsonb NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.release_runs (
        id bigserial PRIMARY KEY,
        started_at timestamptz NOT NULL DEFAULT now(),
        environment text NOT NULL,
        action text NOT NULL,
        plan_digest text NOT NULL,
        approval_id bigint,
        versions text[] NOT NULL DEFAULT '{}',
        run_key_sha256 text NOT NULL UNIQUE,
        operator text,
        run_id text,
        host text
    )""",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.rollback_triggers (
        id bigserial PRIMARY KEY,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        release_run_id bigint NOT NULL REFERENCES hotdash_audit.release_runs (id),
        action text NOT NULL,
        reason text NOT NULL,
        evidence jsonb NOT NULL DEFAULT '{}',
        versions text[] NOT NULL DEFAULT '{}',
        run_id text,
        host text
    )""",
    """CREATE TABLE IF NOT EXISTS hotdash_audit.backups (
        id bigserial PRIMARY KEY,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        taken_at timestamptz NOT NULL,
        provider text NOT NULL,
        location text,
        size_bytes bigint,
        sha256 text,
        run_id text,
        host text
    )""",
    # A fixed search_path: the function runs inside other roles' statements (db advisors' function_search_path_mutable).
    """CREATE OR REPLACE FUNCTION hotdash_audit.append_only() RETURNS trigger LANGUAGE plpgsql
    SET search_path = pg_catalog AS $$
    BEGIN
        RAISE EXCEPTION 'hotdash_audit.% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$""",
]


def _trigger_statement(table):
    # Statement level: refused even when no row matches, so probing the table with a DELETE fails too.
    return ("CREATE OR REPLACE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON hotdash_audit.%s "
            "FOR EACH STATEMENT EXECUTE FUNCTION hotdash_audit.append_only()" % table)


def _schema_complete(cur):
    cur.execute(
        "SELECT (SELECT count(*) FROM unnest(%s::text[]) AS t(name) WHERE to_regclass('hotdash_audit.' || name) IS NULL),"
        " (SELECT count(*) FROM pg_attribute WHERE attrelid = to_regclass('hotdash_audit.approvals')"
        "   AND attname = 'plan_digest' AND NOT attisdropped),"
        " (SELECT count(*) FROM pg_trigger WHERE tgname = 'append_only'"
        "   AND tgrelid IN (SELECT to_regclass('hotdash_audit.' || name) FROM unnest(%s::text[]) AS t(name))),"
        " (SELECT count(*) FROM pg_proc WHERE oid = to_regprocedure('hotdash_audit.append_only()')"
        "   AND proconfig IS NOT NULL)",
        (list(APPEND_ONLY_TABLES), list(APPEND_ONLY_TABLES)))
    missing_tables, columns, triggers, pinned = cur.fetchone()
    return missing_tables == 0 and columns == 1 and triggers == len(APPEND_ONLY_TABLES) and pinned == 1


def ensure_schema(cur):
    """Create the audit schema, the policy tables, the approval binding columns and the append-only triggers.

    Idempotent; returns False, having only read the catalog, when everything exists.
    """
    if _schema_complete(cur):
        return False
    audit.ensure_audit_schema(cur)
    for statement in _TABLES:
        cur.execute(statement)
    for table in APPEND_ONLY_TABLES:
        cur.execute(_trigger_statement(table))
    return True


def table_exists(cur, table):
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", ("hotdash_audit.%s" % table,))
    return bool(cur.fetchone()[0])


def _rows(cur):
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _first(cur, table, query, params=()):
    """The first row of ``query`` as a dict; None when it has none or ``table`` does not exist yet."""
    if not table_exists(cur, table):
        return None
    cur.execute(query, params)
    rows = _rows(cur)
    return rows[0] if rows else None


def _json(value):
    return Json(value, dumps=lambda v: json.dumps(v, sort_keys=True, default=str))


# -- policy ---------------------------------------------------------------------------------------------------------

def current_policy(cur):
    """The policy in force (``settings`` merged with ``id``, ``set_at``, ``set_by``, ``approval_id``) or None."""
    row = _first(cur, "policy", "SELECT id, environment, settings, plan_digest, approval_id, replaces, set_at, set_by, "
                 "run_id, host FROM hotdash_audit.policy ORDER BY id DESC LIMIT 1")
    if row is None:
        return None
    policy = dict(row.pop("settings"))
    policy.update(row)
    return policy


def record_policy(cur, settings, digest, approval_id, replaces=None, set_by=None, run_id=None, host=None):
    ensure_schema(cur)
    cur.execute("INSERT INTO hotdash_audit.policy (environment, settings, plan_digest, approval_id, replaces, set_by, "
                "run_id, host) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, set_at",
                (settings["environment"], _json(settings), digest, approval_id, replaces, set_by, run_id, host))
    return cur.fetchone()


# -- refusals -------------------------------------------------------------------------------------------------------

def record_refusal(cur, action, message, missing=(), gate=None, environment=None, plan_digest=None, versions=(),
                   operator=None, run_id=None, host=None, detail=None):
    ensure_schema(cur)
    cur.execute("INSERT INTO hotdash_audit.refusals (action, gate, environment, message, missing, plan_digest, "
                "versions, operator, run_id, host, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id",
                (action, gate, environment, message, list(missing), plan_digest, [str(v) for v in versions],
                 operator, run_id, host, _json(detail or {})))
    return cur.fetchone()[0]


def refusals(cur, action=None):
    if not table_exists(cur, "refusals"):
        return []
    where, params = "", ()
    if action:
        where, params = " WHERE action = %s", (action,)
    cur.execute("SELECT id, refused_at, action, gate, environment, message, missing, plan_digest, versions, operator, "
                "run_id, host, detail FROM hotdash_audit.refusals" + where + " ORDER BY id DESC", params)
    return _rows(cur)


# -- approvals bound to a plan ----------------------------------------------------------------------------------------

_APPROVAL_SELECT = ("SELECT id, gate, environment, approver, approved_at, recorded_at, mode, ticket, reason, versions, "
                    "run_id, host, plan_digest, proof, evidence, operator, window_override FROM hotdash_audit.approvals")


def approvals_for(cur, gate, plan_digest=None):
    """Approvals recorded for ``gate`` (only those bound to ``plan_digest`` when given), newest first."""
    if not table_exists(cur, "approvals"):
        return []
    cur.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'hotdash_audit.approvals'::regclass "
                "AND attname = 'plan_digest' AND NOT attisdropped")
    if not cur.fetchone()[0]:
        return []
    if plan_digest is None:
        cur.execute(_APPROVAL_SELECT + " WHERE gate = %s ORDER BY id DESC LIMIT 20", (gate,))
    else:
        cur.execute(_APPROVAL_SELECT + " WHERE gate = %s AND plan_digest = %s ORDER BY id DESC LIMIT 20",
                    (gate, plan_digest))
    return _rows(cur)


# -- release runs and automatic rollback triggers -------------------------------------------------------------------

def key_digest(run_key):
    return hashlib.sha256(str(run_key).encode("utf-8")).hexdigest()


def record_release_run(cur, environment, action, plan_digest, approval_id, versions, run_key, operator=None,
                       run_id=None, host=None):
    ensure_schema(cur)
    cur.execute("INSERT INTO hotdash_audit.release_runs (environment, action, plan_digest, approval_id, versions, "
                "run_key_sha256, operator, run_id, host) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id, started_at",
                (environment, action, plan_digest, approval_id, [str(v) for v in versions], key_digest(run_key),
                 operator, run_id, host))
    return cur.fetchone()


def release_run_for_key(cur, run_key):
    """The release run whose key is ``run_key`` (only its SHA-256 is stored), or None."""
    if not run_key:
        return None
    return _first(cur, "release_runs", "SELECT id, started_at, environment, action, plan_digest, approval_id, versions, "
                  "operator, run_id, host FROM hotdash_audit.release_runs WHERE run_key_sha256 = %s",
                  (key_digest(run_key),))


def record_rollback_trigger(cur, release_run_id, action, reason, evidence, versions, run_id=None, host=None):
    ensure_schema(cur)
    cur.execute("INSERT INTO hotdash_audit.rollback_triggers (release_run_id, action, reason, evidence, versions, "
                "run_id, host) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (release_run_id, action, reason, _json(evidence or {}), [str(v) for v in versions], run_id, host))
    return cur.fetchone()[0]


# -- backups --------------------------------------------------------------------------------------------------------

def record_backup(cur, taken_at, provider, location=None, size_bytes=None, sha256=None, run_id=None, host=None):
    """Record a backup taken or observed; ``(id, inserted)``: the same backup (provider, time, place) is recorded once."""
    ensure_schema(cur)
    cur.execute("SELECT id FROM hotdash_audit.backups WHERE provider = %s AND taken_at = %s "
                "AND location IS NOT DISTINCT FROM %s", (provider, taken_at, location))
    row = cur.fetchone()
    if row:
        return row[0], False
    cur.execute("INSERT INTO hotdash_audit.backups (taken_at, provider, location, size_bytes, sha256, run_id, host) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (taken_at, provider, location, size_bytes, sha256, run_id, host))
    return cur.fetchone()[0], True


def newest_backup(cur):
    return _first(cur, "backups", "SELECT id, taken_at, recorded_at, provider, location, size_bytes, sha256, run_id, "
                  "host FROM hotdash_audit.backups ORDER BY taken_at DESC, id DESC LIMIT 1")
