# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Approval gates: decide whether a run may pass a gate, and record who let it through.

The runbook's manager approval points (drift resolution strategy, production apply window,
production rollback) become gates. A gate fails closed:

- interactive runs (a terminal on the controller's stdin) must answer an explicit ``yes``;
- headless runs (AWX, ansible-runner, CI, cron) never wait: they need an approval passed in as
  variables (approver, ticket, ISO timestamp no older than a limit and not in the future);
- a waiver (with a reason) is possible outside production only.

Every decision becomes a *record* (a dict) written to the run's ``approvals.jsonl`` and to
``hotdash_audit.approvals`` in each target database. This module has no Ansible dependency: the
action plugin ``approval_gate`` and the module ``approval_record`` call it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - the controller is POSIX
    fcntl = None

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError

GATES = ("apply_production", "drift_resolution", "production_rollback", "apply_staging")
PRODUCTION_GATES = ("apply_production", "production_rollback")
MODES = ("auto", "interactive", "headless", "waiver")
RECORDED_MODES = ("interactive", "headless", "waiver")
HEADLESS_VARIABLES = ("supabase_approval_approver", "supabase_approval_ticket", "supabase_approval_at")
DEFAULT_MAX_AGE_HOURS = 24
JSONL_NAME = "approvals.jsonl"

# Environment variables that mean "an automation runs this, nobody is at the keyboard". ansible-runner
# (and so AWX) starts ansible-playbook inside a pseudo-terminal, so stdin *is* a TTY there: a gate that
# only asked isatty() would wait for an answer that never comes (ansible/awx#1897).
AUTOMATION_MARKERS = ("AWX_ISOLATED_DATA_DIR", "JOB_ID", "TOWER_HOST", "AWX_HOST", "CI", "GITHUB_ACTIONS",
                      "GITLAB_CI", "JENKINS_URL", "BUILD_ID")


class ApprovalRefused(SupabaseError):
    """The gate is closed: no valid approval, a refused answer, or a waiver where none is allowed."""


def automation_marker(environ):
    """Name of the first environment variable showing that an automation (not a person) runs the play."""
    for name in AUTOMATION_MARKERS:
        value = environ.get(name)
        if value and str(value).strip().lower() not in ("0", "false", "no"):
            return name
    return None


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_timestamp(value, name="supabase_approval_at"):
    """An aware UTC datetime from an ISO 8601 string (``Z`` accepted); naive values are taken as UTC."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value or "").strip()
        if not text:
            raise InvalidInput("%s is empty; give an ISO 8601 timestamp such as 2025-10-19T02:05:00Z" % name)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            raise InvalidInput("%s %r is not an ISO 8601 timestamp; use e.g. 2025-10-19T02:05:00Z" % (name, str(value)))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_gate(gate, mode):
    if gate not in GATES:
        raise InvalidInput("unknown approval gate %r; use one of %s" % (gate, ", ".join(GATES)))
    if mode not in MODES:
        raise InvalidInput("supabase_approval_mode %r is not one of %s" % (mode, ", ".join(MODES)))


def missing_approval_message(gate, environment, reason):
    return ("approval required for gate %s on %s and %s: pass %s (ISO 8601 UTC, e.g. %s) as extra vars, "
            "or run from a terminal and answer yes" % (gate, environment, reason, ", ".join(HEADLESS_VARIABLES),
                                                      iso(utc_now())))


def check_headless(gate, environment, approver, ticket, approved_at, max_age_hours=DEFAULT_MAX_AGE_HOURS,
                   now=None, reason="this run has no terminal"):
    """Validate an approval passed in as variables; return ``(approver, ticket, approved_at_iso)``.

    Raises ApprovalRefused naming the variables when any is missing, and when the timestamp is older
    than ``max_age_hours`` or in the future (a clock skew of one minute is tolerated).
    """
    missing = [name for name, value in zip(HEADLESS_VARIABLES, (approver, ticket, approved_at))
               if not str(value or "").strip()]
    if missing:
        raise ApprovalRefused(missing_approval_message(gate, environment, reason) + " (missing: %s)" % ", ".join(missing),
                              gate=gate, environment=environment, missing=missing)
    try:
        max_age = float(max_age_hours)
    except (TypeError, ValueError):
        raise InvalidInput("supabase_approval_max_age_hours must be a number of hours, got %r" % (max_age_hours,))
    if max_age <= 0:
        raise InvalidInput("supabase_approval_max_age_hours must be positive, got %s" % max_age_hours)
    moment = parse_timestamp(approved_at)
    now = now or utc_now()
    age = now - moment
    if age < -datetime.timedelta(minutes=1):
        raise ApprovalRefused("supabase_approval_at %s is in the future (now %s); pass the time the approval was given"
                              % (iso(moment), iso(now)), gate=gate, environment=environment)
    if age > datetime.timedelta(hours=max_age):
        raise ApprovalRefused("supabase_approval_at %s is %.1f hours old, older than supabase_approval_max_age_hours=%s;"
                              " get a fresh approval for gate %s on %s"
                              % (iso(moment), age.total_seconds() / 3600.0, max_age_hours, gate, environment),
                              gate=gate, environment=environment)
    return str(approver).strip(), str(ticket).strip(), iso(moment)


def check_answer(answer, gate, environment):
    """Only an explicit ``yes`` (any case, surrounding spaces ignored) opens the gate."""
    if isinstance(answer, bytes):
        answer = answer.decode("utf-8", "replace")
    text = (answer or "").strip()
    if text.lower() != "yes":
        raise ApprovalRefused("gate %s on %s was not approved: the answer was %s, only an explicit 'yes' approves"
                              % (gate, environment, repr(text) if text else "empty"), gate=gate, environment=environment)
    return True


def check_waiver(gate, environment, reason, protected_environments=("production",)):
    """A waiver needs a reason and is refused for production gates and protected environments."""
    if gate in PRODUCTION_GATES or environment in (protected_environments or ()):
        raise ApprovalRefused("a waiver is not allowed for gate %s on %s; production needs a real approval "
                              "(supabase_approval_mode auto or headless)" % (gate, environment),
                              gate=gate, environment=environment)
    if not str(reason or "").strip():
        raise ApprovalRefused("supabase_approval_mode=waiver needs supabase_approval_waiver_reason (why no approval "
                              "is needed for gate %s on %s)" % (gate, environment), gate=gate, environment=environment)
    return str(reason).strip()


def prompt_text(gate, environment, hosts, versions, summary=None):
    """The text shown before the question: which gate, where, and what will change."""
    hosts = list(hosts or [])
    versions = [str(v) for v in (versions or [])]
    lines = ["APPROVAL REQUIRED: %s" % gate,
             "  environment : %s" % environment,
             "  host(s)     : %s" % (", ".join(hosts[:20]) + (" (+%d more)" % (len(hosts) - 20) if len(hosts) > 20 else "")
                                     if hosts else "(none)"),
             "  versions    : %s" % (", ".join(versions) if versions else "(none)")]
    for line in str(summary or "").strip().splitlines():
        lines.append("  | %s" % line)
    lines.append("Type 'yes' to approve; anything else refuses")
    return "\n".join(lines)


def build_record(gate, environment, approver, approved_at, mode, ticket=None, reason=None, versions=None,
                 summary=None, hosts=None, run_id=None):
    """The approval record: what the gate let through, by whom, when and how."""
    if mode not in RECORDED_MODES:
        raise InvalidInput("approval mode %r cannot be recorded; use one of %s" % (mode, ", ".join(RECORDED_MODES)))
    return {
        "gate": gate,
        "environment": environment,
        "approver": approver,
        "approved_at": iso(parse_timestamp(approved_at)),
        "mode": mode,
        "ticket": ticket or None,
        "reason": reason or None,
        "versions": [str(v) for v in (versions or [])],
        "summary": summary or None,
        "hosts": list(hosts or []),
        "run_id": run_id or None,
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
    out = dict(record)
    out["approved_at"] = iso(parse_timestamp(record["approved_at"], name="record.approved_at"))
    out["versions"] = [str(v) for v in versions]
    return out


def record_key(record, host=None, run_id=None):
    """What makes two recordings the same event (so recording twice changes nothing)."""
    return (record["gate"], record["environment"], record["approver"], record["approved_at"], record["mode"],
            record.get("ticket") or None, host or record.get("host"), run_id or record.get("run_id"))


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
    if check_mode:
        return path, key not in _keys_in(path)
    try:
        os.makedirs(report_dir, exist_ok=True)
        handle = open(path, "a+")
    except OSError as exc:
        raise InvalidInput("cannot write %s: %s" % (path, exc.strerror))
    with handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        if key in _keys_from_lines(handle.read().splitlines()):
            return path, False
        handle.seek(0, os.SEEK_END)
        handle.write(jsonl_line(record, host, run_id) + "\n")
        handle.flush()
    return path, True


def _keys_in(path):
    try:
        with open(path) as handle:
            return _keys_from_lines(handle.read().splitlines())
    except (IOError, OSError):
        return set()


def _keys_from_lines(lines):
    keys = set()
    for line in lines:
        try:
            row = json.loads(line)
            keys.add(record_key(row))
        except (ValueError, KeyError, TypeError):
            continue
    return keys


def read_jsonl(path):
    """All records in an approvals.jsonl (malformed lines skipped)."""
    rows = []
    try:
        with open(path) as handle:
            for line in handle:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    continue
    except (IOError, OSError):
        pass
    return rows


def find_recorded(cur, record, host, run_id):
    """Id of an audit row for the same approval event, or None (also None when the audit schema is missing)."""
    cur.execute("SELECT to_regclass('hotdash_audit.approvals') IS NOT NULL")
    if not cur.fetchone()[0]:
        return None
    cur.execute("SELECT id FROM hotdash_audit.approvals WHERE gate = %s AND environment = %s AND approver = %s"
                " AND approved_at = %s AND mode = %s AND ticket IS NOT DISTINCT FROM %s"
                " AND host IS NOT DISTINCT FROM %s AND run_id IS NOT DISTINCT FROM %s ORDER BY id LIMIT 1",
                (record["gate"], record["environment"], record["approver"], record["approved_at"], record["mode"],
                 record.get("ticket") or None, host, run_id))
    row = cur.fetchone()
    return row[0] if row else None


def record_in_database(cur, record, host, run_id, check_mode=False):
    """Insert the approval into hotdash_audit.approvals unless the same event is there; ``(id, inserted)``."""
    from ansible_collections.hotdash.supabase.plugins.module_utils import audit
    existing = find_recorded(cur, record, host, run_id)
    if existing is not None:
        return existing, False
    if check_mode:
        return None, True
    new_id = audit.record_approval(cur, gate=record["gate"], environment=record["environment"],
                                   approver=record["approver"], approved_at=record["approved_at"], mode=record["mode"],
                                   ticket=record.get("ticket") or None,
                                   reason=record.get("reason") or record.get("summary") or None,
                                   versions=list(record.get("versions") or []), run_id=run_id, host=host)
    return new_id, True
