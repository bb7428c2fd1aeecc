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

A gate can also require a checklist of acknowledgements: the runbook's pre-flight lines that are about
people rather than the database ("DevOps notified 24 hours in advance", "Incident response team on
standby"...). Each item is a ``confirm`` (an explicit yes / ``true``), a ``text`` (for example the incident
commander's name) or a ``timestamp`` (ISO 8601, optionally at least ``min_age_hours`` before now, which
makes "24 hours in advance" checkable). On a terminal each item is asked; headless runs pass the answers
in a dict and fail at once, in one line, naming every missing or invalid item.

Every decision becomes a *record* (a dict) written to the run's ``approvals.jsonl`` and to
``hotdash_audit.approvals`` in each target database. This module has no Ansible dependency: the
action plugin ``approval_gate`` and the module ``approval_record`` call it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import os
import re


from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.report import append_once

GATES = ("apply_production", "drift_resolution", "production_rollback", "apply_staging")
PRODUCTION_GATES = ("apply_production", "production_rollback")
MODES = ("auto", "interactive", "headless", "waiver")
RECORDED_MODES = ("interactive", "headless", "waiver")
HEADLESS_VARIABLES = ("supabase_approval_approver", "supabase_approval_ticket", "supabase_approval_at")
DEFAULT_MAX_AGE_HOURS = 24
JSONL_NAME = "approvals.jsonl"
ACKNOWLEDGEMENT_TYPES = ("confirm", "timestamp", "text")
ACKNOWLEDGEMENTS_VARIABLE = "supabase_approval_acknowledgements"
CHECKLIST_VARIABLE = "supabase_approval_required_acknowledgements"
_ACK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ACK_KEYS = ("name", "question", "type", "min_age_hours", "gates")
_CLOCK_SKEW = datetime.timedelta(minutes=1)

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
            "or run from a terminal and answer yes"
            % (gate, environment, reason, ", ".join(HEADLESS_VARIABLES), iso(utc_now())))


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


def prompt_text(gate, environment, hosts, versions, summary=None, checklist=()):
    """The text shown before the questions: which gate, where, what will change and the checklist to answer."""
    hosts = list(hosts or [])
    versions = [str(v) for v in (versions or [])]
    lines = ["APPROVAL REQUIRED: %s" % gate,
             "  environment : %s" % environment,
             "  host(s)     : %s" % (", ".join(hosts[:20]) + (" (+%d more)" % (len(hosts) - 20) if len(hosts) > 20 else "")
                                     if hosts else "(none)"),
             "  versions    : %s" % (", ".join(versions) if versions else "(none)")]
    for line in str(summary or "").strip().splitlines():
        lines.append("  | %s" % line)
    if checklist:
        lines.append("  checklist   : answer each item; a missing or invalid answer refuses")
        for number, item in enumerate(checklist, 1):
            lines.append("    %d. %s [%s]" % (number, item["question"], item["name"]))
    lines.append("Type 'yes' to approve; anything else refuses")
    return "\n".join(lines)


def normalize_checklist(items, gate=None):
    """Validate the required acknowledgements (a list of dicts); return those for ``gate``, ``type`` filled in.

    Each item has a ``name`` (lower-case identifier, unique), the ``question`` shown to the person, an
    optional ``type`` (confirm, timestamp or text; confirm by default), for a timestamp only an optional
    ``min_age_hours`` (the notice the runbook asks for), and optional ``gates`` (the gates it applies to;
    every gate when omitted, so an inventory-wide list can keep "24 h notice" off an emergency rollback).
    A bad definition raises InvalidInput naming it, whichever gate is asked.
    """
    if items is None:
        return []
    if not isinstance(items, (list, tuple)):
        raise InvalidInput("%s must be a list of dicts (name, question, type), got %s"
                           % (CHECKLIST_VARIABLE, type(items).__name__))
    out, seen = [], set()
    for index, item in enumerate(items):
        where = "%s[%d]" % (CHECKLIST_VARIABLE, index)
        if not isinstance(item, dict):
            raise InvalidInput("%s must be a dict with name and question, got %r" % (where, item))
        unknown = sorted(str(k) for k in item if k not in _ACK_KEYS)
        if unknown:
            raise InvalidInput("%s has unknown key(s) %s; use %s" % (where, ", ".join(unknown), ", ".join(_ACK_KEYS)))
        name = str(item.get("name") or "").strip()
        if not _ACK_NAME.match(name):
            raise InvalidInput("%s name %r must be a lower-case identifier such as devops_notified_at" % (where, name))
        where = "%s %s" % (where, name)
        if name in seen:
            raise InvalidInput("%s: the name is used twice; every acknowledgement needs its own name" % where)
        seen.add(name)
        question = str(item.get("question") or "").strip()
        if not question:
            raise InvalidInput("%s needs a question (what the person acknowledges)" % where)
        kind = item.get("type") or "confirm"
        if kind not in ACKNOWLEDGEMENT_TYPES:
            raise InvalidInput("%s has type %r; use one of %s" % (where, kind, ", ".join(ACKNOWLEDGEMENT_TYPES)))
        entry = {"name": name, "question": question, "type": kind}
        if item.get("min_age_hours") is not None:
            if kind != "timestamp":
                raise InvalidInput("%s: min_age_hours only applies to type timestamp" % where)
            try:
                min_age = float(item["min_age_hours"])
            except (TypeError, ValueError):
                min_age = -1.0
            if isinstance(item["min_age_hours"], bool) or min_age < 0 or math.isnan(min_age):
                raise InvalidInput("%s: min_age_hours must be a number of hours >= 0, got %r"
                                   % (where, item["min_age_hours"]))
            entry["min_age_hours"] = min_age
        gates = item.get("gates")
        if gates is not None:
            if isinstance(gates, str) or not isinstance(gates, (list, tuple)) or not gates:
                raise InvalidInput("%s: gates must be a non-empty list of gates, got %r" % (where, gates))
            unknown_gates = sorted(str(g) for g in gates if g not in GATES)
            if unknown_gates:
                raise InvalidInput("%s: unknown gate(s) %s; use %s" % (where, ", ".join(unknown_gates), ", ".join(GATES)))
            if gate is not None and gate not in gates:
                continue
        out.append(entry)
    return out


def _hours(value):
    """Hours for a message, rounded down to a tenth so 23.96 h never reads as the 24 h it falls short of."""
    text = "%.1f" % (math.floor(value * 10) / 10.0)
    return text[:-2] if text.endswith(".0") else text


def _expects(item):
    """What a headless run passes for the item."""
    if item["type"] == "confirm":
        return "true to confirm"
    if item["type"] == "text":
        return "text"
    if item.get("min_age_hours"):
        return "an ISO 8601 timestamp at least %s h before now" % _hours(item["min_age_hours"])
    return "an ISO 8601 timestamp"


def _shown(value):
    """A value as the user wrote it in YAML/JSON (true, not Python's True)."""
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def check_acknowledgement(item, value, now=None, interactive=False):
    """Validate one answer; return ``(value, None)`` with the value to record, or ``(None, problem)``.

    ``problem`` is one phrase starting with the item's name, e.g. ``devops_notified_at
    2026-11-26T01:00:00Z is 3 h before now; the runbook requires 24 h notice``.
    """
    name, kind = item["name"], item["type"]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if interactive:
            return None, "%s was not answered (%s)" % (name, item["question"])
        return None, "%s is missing (%s: %s)" % (name, _expects(item), item["question"])
    if kind == "confirm":
        if value is True or (isinstance(value, str) and value.lower() in (("yes",) if interactive else ("yes", "true"))):
            return True, None
        if interactive:
            return None, "%s was answered %r, only an explicit 'yes' confirms it" % (name, value)
        return None, "%s is %s, not true (%s)" % (name, _shown(value), item["question"])
    if kind == "text":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return None, "%s must be text (%s), got %s" % (name, item["question"], _shown(value))
        return str(value), None
    if isinstance(value, bool) or not isinstance(value, (str, datetime.datetime)):
        return None, "%s must be an ISO 8601 timestamp such as 2026-11-25T01:00:00Z, got %s" % (name, _shown(value))
    try:
        moment = parse_timestamp(value, name=name)
    except InvalidInput:
        return None, "%s %r is not an ISO 8601 timestamp; use e.g. 2026-11-25T01:00:00Z" % (name, str(value))
    now = now or utc_now()
    age = now - moment
    if age < -_CLOCK_SKEW:
        return None, "%s %s is in the future (now %s)" % (name, iso(moment), iso(now))
    min_age = item.get("min_age_hours")
    if min_age and age < datetime.timedelta(hours=min_age):
        return None, ("%s %s is %s h before now; the runbook requires %s h notice"
                      % (name, iso(moment), _hours(max(age.total_seconds(), 0) / 3600.0), _hours(min_age)))
    return iso(moment), None


def acknowledgement_problems(checklist, values, now=None):
    """Check every required acknowledgement against ``values`` (name -> value).

    Returns ``(acknowledgements, missing, problems)``: the values to record (in checklist order), the names
    of the items not passed at all, and ``{name: why}`` for every item missing or invalid.
    """
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InvalidInput("%s must be a dict (name -> true, ISO timestamp or text), got %s"
                           % (ACKNOWLEDGEMENTS_VARIABLE, type(values).__name__))
    now = now or utc_now()
    acknowledged, missing, problems = {}, [], {}
    for item in checklist:
        raw = values.get(item["name"])
        value, problem = check_acknowledgement(item, raw, now)
        if problem is None:
            acknowledged[item["name"]] = value
            continue
        problems[item["name"]] = problem
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            missing.append(item["name"])
    return acknowledged, missing, problems


_HOW_TO_PASS = "pass %s as a dict name -> true, an ISO 8601 UTC timestamp or text" % ACKNOWLEDGEMENTS_VARIABLE


def _problems(checklist, values, missing, problems):
    """``(text, result)``: the problems in checklist order as one phrase, and the keys for the task result."""
    text = "; ".join(problems[item["name"]] for item in checklist if item["name"] in problems)
    known = set(item["name"] for item in checklist)
    unknown = sorted(str(k) for k in (values or {}) if k not in known)
    if unknown:
        text += " (not in the checklist, so ignored: %s)" % ", ".join(unknown)
    result = dict(acknowledgements_missing=list(missing),
                  acknowledgements_invalid=dict((k, v) for k, v in problems.items() if k not in missing))
    return text, result


def check_acknowledgements(gate, environment, checklist, values, now=None, reason="this run has no terminal"):
    """Headless: every required acknowledgement present and valid, or ApprovalRefused naming each one."""
    acknowledged, missing, problems = acknowledgement_problems(checklist, values, now)
    if problems:
        text, result = _problems(checklist, values, missing, problems)
        raise ApprovalRefused("acknowledgements required for gate %s on %s and %s: %s; %s"
                              % (gate, environment, reason, text, _HOW_TO_PASS),
                              gate=gate, environment=environment, **result)
    return acknowledged


def check_headless_approval(gate, environment, approver, ticket, approved_at, max_age_hours=DEFAULT_MAX_AGE_HOURS,
                            checklist=(), acknowledgements=None, now=None, reason="this run has no terminal"):
    """The approval variables and the acknowledgements together; one error line naming all that is wrong.

    Returns ``(approver, ticket, approved_at_iso, acknowledgements)``.
    """
    now = now or utc_now()
    try:
        approver, ticket, approved_at = check_headless(gate, environment, approver, ticket, approved_at,
                                                       max_age_hours, now=now, reason=reason)
    except ApprovalRefused as exc:
        missing, problems = acknowledgement_problems(checklist, acknowledgements, now)[1:]
        if not problems:
            raise
        text, result = _problems(checklist, acknowledgements, missing, problems)
        raise ApprovalRefused("%s; acknowledgements missing or invalid too: %s; %s" % (exc, text, _HOW_TO_PASS),
                              **dict(exc.result, **result))
    acknowledged = check_acknowledgements(gate, environment, checklist, acknowledgements, now, reason)
    return approver, ticket, approved_at, acknowledged


def acknowledgement_prompt(item, index, total):
    """The question for one checklist item on a terminal."""
    hint = {"confirm": "type yes", "text": "type the answer"}.get(item["type"])
    if hint is None:
        hint = "ISO 8601 UTC, YYYY-MM-DDTHH:MM:SSZ"
        if item.get("min_age_hours"):
            hint += ", at least %s h ago" % _hours(item["min_age_hours"])
    return "[%d/%d] %s (%s): " % (index, total, item["question"], hint)


def check_acknowledgement_answer(item, answer, gate, environment, now=None):
    """Interactive: the value to record for a typed answer, or ApprovalRefused (fails closed at once)."""
    value, problem = check_acknowledgement(item, answer, now, interactive=True)
    if problem is not None:
        raise ApprovalRefused("gate %s on %s was not approved: %s" % (gate, environment, problem),
                              gate=gate, environment=environment, acknowledgements_invalid={item["name"]: problem})
    return value


def acknowledgement_checks(checklist, acknowledgements):
    """Report checks (``check_report`` shape), one per recorded acknowledgement, in checklist order."""
    checks = []
    for item in checklist:
        if item["name"] not in (acknowledgements or {}):
            continue
        value = acknowledgements[item["name"]]
        checks.append({"name": "acknowledged %s" % item["name"], "status": "ok", "remedy": "",
                       "detail": "%s: %s" % (item["question"], "yes" if value is True else value)})
    return checks


def build_record(gate, environment, approver, approved_at, mode, ticket=None, reason=None, versions=None,
                 summary=None, hosts=None, run_id=None, acknowledgements=None):
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
        "acknowledgements": dict(acknowledgements or {}),
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
                           what="approvals file")
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
    """Id of an audit row for the same approval event, or None (also None when the audit schema is missing).

    A table created before acknowledgements were recorded has no such column yet: its rows count as
    acknowledging nothing (the column's default once it is added).
    """
    from ansible_collections.hotdash.supabase.plugins.module_utils import audit
    columns = audit.approval_columns(cur)
    if not columns:
        return None
    acknowledgements = _canonical(record.get("acknowledgements"))
    if "acknowledgements" in columns:
        ack_clause, ack_params = " AND acknowledgements = %s::jsonb", (acknowledgements,)
    elif acknowledgements != "{}":
        return None
    else:
        ack_clause, ack_params = "", ()
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
                                   versions=list(record.get("versions") or []), run_id=run_id, host=host,
                                   acknowledgements=dict(record.get("acknowledgements") or {}))
    return new_id, True
