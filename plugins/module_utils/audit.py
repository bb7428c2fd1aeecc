# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit trail: approval records, kept in the target database and in the run's ``approvals.jsonl``.

In the database, in its own schema (never ``public``): ``hotdash_audit.approvals`` records every
approval or waiver (who, when, what, which ticket, and the checklist the person acknowledged);
``hotdash_audit.rollback_exercises`` records each rollback that ran, so the production preflight
can require that the same versions were rolled back successfully on staging first. Living in the
database (not only in a job's artifacts) means AWX jobs, which start with empty directories, still
see what earlier jobs recorded.

An approval record (:func:`build_record`) is what a gate let through; recording it twice for the same
host and run changes nothing (:func:`record_key`), in the database or in ``approvals.jsonl``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

try:
    from psycopg2 import sql
    from psycopg2.extras import Json
except ImportError:  # pragma: no cover - modules report missing_required_lib('psycopg2')
    sql = Json = None

from ansible_collections.hotdash.supabase.plugins.module_utils.approval import GATES, RECORDED_MODES
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import PRIVATE_MODE
from ansible_collections.hotdash.supabase.plugins.module_utils.report import append_once
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso, parse_timestamp

AUDIT_SCHEMA = "hotdash_audit"
JSONL_NAME = "approvals.jsonl"

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
# The binding columns tie an approval to the plan it approves (policy_guard.py): the plan digest, how the approval
# is proven (typed, ssh_signature, awx_workflow) and the proof itself, who ran the change, a window override.
_ADDED_COLUMNS = [
    ("acknowledgements", "jsonb NOT NULL DEFAULT '{}'"),
    ("plan_digest", "text"),
    ("proof", "text NOT NULL DEFAULT 'typed'"),
    ("evidence", "jsonb NOT NULL DEFAULT '{}'"),
    ("operator", "text"),
    ("window_override", "text"),
]
_UPGRADES = ["ALTER TABLE hotdash_audit.approvals ADD COLUMN IF NOT EXISTS %s %s" % column for column in _ADDED_COLUMNS]

APPROVAL_COLUMNS = ("gate", "environment", "approver", "approved_at", "mode", "ticket", "reason", "versions",
                    "run_id", "host", "acknowledgements", "plan_digest", "proof", "evidence", "operator",
                    "window_override")
EXERCISE_COLUMNS = ("environment", "strategy", "versions", "succeeded", "trigger", "detail", "run_id", "host")


def ensure_audit_schema(cur):
    """Create the audit schema and tables when missing, add columns missing from older ones (idempotent).

    Returns False, having only read the catalog, when everything is there already.
    """
    cur.execute("SELECT to_regclass('hotdash_audit.approvals') IS NOT NULL"
                " AND to_regclass('hotdash_audit.rollback_exercises') IS NOT NULL,"
                " (SELECT count(*) = %s FROM pg_attribute WHERE attrelid = to_regclass('hotdash_audit.approvals')"
                " AND attname = ANY(%s) AND NOT attisdropped)",
                (len(_ADDED_COLUMNS), [column[0] for column in _ADDED_COLUMNS]))
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
    ensure_audit_schema(cur)
    values.setdefault("versions", [])
    values.setdefault("proof", "typed")
    values["acknowledgements"] = Json(dict(values.get("acknowledgements") or {}))
    values["evidence"] = Json(dict(values.get("evidence") or {}), dumps=lambda v: json.dumps(v, sort_keys=True,
                                                                                             default=str))
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


# -- approval records -----------------------------------------------------------------------------------------------

def build_record(gate, environment, approver, approved_at, mode, ticket=None, reason=None, versions=None,
                 summary=None, hosts=None, run_id=None, acknowledgements=None, plans=None, proof="typed",
                 evidence=None, window_override=None, operator=None):
    """The approval record: what the gate let through, by whom, when and how.

    ``plans`` are the plans it approves (``{host, digest, database, versions}`` per database: approval_record
    stores each host's digest); ``proof`` says how it is proven (typed, ssh_signature, awx_workflow) and
    ``evidence`` holds the proof (the signed statement and signature).
    """
    if mode not in RECORDED_MODES:
        raise InvalidInput("approval mode %r cannot be recorded; use one of %s" % (mode, ", ".join(RECORDED_MODES)))
    return {
        "gate": gate,
        "environment": environment,
        "approver": approver,
        "approved_at": iso(parse_timestamp(approved_at, name="approved_at")),
        "mode": mode,
        "ticket": ticket or None,
        "reason": reason or None,
        "versions": [str(v) for v in (versions or [])],
        "summary": summary or None,
        "hosts": list(hosts or []),
        "run_id": run_id or None,
        "acknowledgements": dict(acknowledgements or {}),
        "plans": [dict(plan) for plan in plans or []],
        "proof": proof,
        "evidence": dict(evidence or {}),
        "window_override": window_override or None,
        "operator": operator or None,
    }


def validate_record(record):
    """Check a record handed to approval_record (it comes from a play variable, so anything is possible)."""
    if not isinstance(record, dict):
        raise InvalidInput("record must be the dict the approval_gate action returned, got %s" % type(record).__name__)
    missing = [k for k in ("gate", "environment", "approver", "approved_at", "mode") if not record.get(k)]
    if missing:
        raise InvalidInput("approval record lacks %s; pass the record the approval_gate action returned"
                           % ", ".join(missing))
    if record["gate"] not in GATES:
        raise InvalidInput("approval record has unknown gate %r; use one of %s" % (record["gate"], ", ".join(GATES)))
    if record["mode"] not in RECORDED_MODES:
        raise InvalidInput("approval record has mode %r; use one of %s" % (record["mode"], ", ".join(RECORDED_MODES)))
    versions = record.get("versions") or []
    if not isinstance(versions, list):
        raise InvalidInput("approval record versions must be a list, got %s" % type(versions).__name__)
    acknowledgements = record.get("acknowledgements") or {}
    if not isinstance(acknowledgements, dict):
        raise InvalidInput("approval record acknowledgements must be a dict (name -> value), got %s"
                           % type(acknowledgements).__name__)
    out = dict(record)
    out["approved_at"] = iso(parse_timestamp(record["approved_at"], name="record.approved_at"))
    out["versions"] = [str(v) for v in versions]
    out["acknowledgements"] = acknowledgements
    return out


def record_key(record, host=None, run_id=None):
    """What makes two recordings the same event (so recording twice changes nothing)."""
    return (record["gate"], record["environment"], record["approver"], record["approved_at"], record["mode"],
            record.get("ticket") or None, host or record.get("host"), run_id or record.get("run_id"),
            _canonical(record.get("acknowledgements")))


def _canonical(acknowledgements):
    return json.dumps(acknowledgements or {}, sort_keys=True, default=str)


def jsonl_line(record, host, run_id):
    row = dict(record)
    row["host"] = host
    row["run_id"] = run_id or record.get("run_id")
    return json.dumps(row, sort_keys=True, default=str)


def append_jsonl(report_dir, record, host, run_id=None, check_mode=False):
    """Append the record for ``host`` to ``<report_dir>/approvals.jsonl`` unless it is there already.

    Forks of many hosts append to the same file: an exclusive lock makes the check-and-append atomic.
    Returns ``(path, appended)``.
    """
    path = os.path.join(report_dir, JSONL_NAME)
    key = record_key(record, host, run_id)
    appended = append_once(path, lambda current: key in _keys_from_lines(current.splitlines()),
                           lambda current: jsonl_line(record, host, run_id) + "\n", check_mode=check_mode,
                           what="approvals file", mode=PRIVATE_MODE)
    return path, appended


def _keys_from_lines(lines):
    keys = set()
    for line in lines:
        try:
            row = json.loads(line)
            keys.add(record_key(row))
        except (ValueError, KeyError, TypeError):
            continue
    return keys


def find_recorded(cur, record, host, run_id):
    """Id of an audit row for the same approval event, or None (also None when the audit schema is missing).

    A table created before acknowledgements were recorded has no such column yet: its rows count as
    acknowledging nothing (the column's default once it is added).
    """
    columns = approval_columns(cur)
    if not columns:
        return None
    acknowledgements = _canonical(record.get("acknowledgements"))
    if "acknowledgements" in columns:
        ack_clause, ack_params = " AND acknowledgements = %s::jsonb", (acknowledgements,)
    elif acknowledgements != "{}":
        return None
    else:
        ack_clause, ack_params = "", ()
    if "plan_digest" in columns:
        ack_clause += " AND plan_digest IS NOT DISTINCT FROM %s AND proof = %s AND evidence = %s::jsonb"
        ack_params += (record.get("plan_digest") or None, record.get("proof") or "typed",
                       json.dumps(record.get("evidence") or {}, sort_keys=True, default=str))
    elif record.get("plan_digest") or record.get("evidence"):
        return None
    cur.execute("SELECT id FROM hotdash_audit.approvals WHERE gate = %s AND environment = %s AND approver = %s"
                " AND approved_at = %s AND mode = %s AND ticket IS NOT DISTINCT FROM %s"
                " AND host IS NOT DISTINCT FROM %s AND run_id IS NOT DISTINCT FROM %s" + ack_clause
                + " ORDER BY id LIMIT 1",
                (record["gate"], record["environment"], record["approver"], record["approved_at"], record["mode"],
                 record.get("ticket") or None, host, run_id) + ack_params)
    row = cur.fetchone()
    return row[0] if row else None


def record_in_database(cur, record, host, run_id, check_mode=False):
    """Insert the approval into hotdash_audit.approvals unless the same event is there; ``(id, inserted)``."""
    existing = find_recorded(cur, record, host, run_id)
    if existing is not None:
        return existing, False
    if check_mode:
        return None, True
    new_id = record_approval(cur, gate=record["gate"], environment=record["environment"],
                             approver=record["approver"], approved_at=record["approved_at"], mode=record["mode"],
                             ticket=record.get("ticket") or None,
                             reason=record.get("reason") or record.get("summary") or None,
                             versions=list(record.get("versions") or []), run_id=run_id, host=host,
                             acknowledgements=dict(record.get("acknowledgements") or {}),
                             plan_digest=record.get("plan_digest") or None, proof=record.get("proof") or "typed",
                             evidence=record.get("evidence") or {}, operator=record.get("operator") or None,
                             window_override=record.get("window_override") or None)
    return new_id, True
