# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checklist a gate requires: the runbook's pre-flight lines that are about people, not the database.

("DevOps notified 24 hours in advance", "Incident response team on standby"...). Each item is a
``confirm`` (an explicit yes / ``true``), a ``text`` (for example the incident commander's name) or a
``timestamp`` (ISO 8601, optionally at least ``min_age_hours`` before now, which makes "24 hours in
advance" checkable). On a terminal each item is asked; headless runs pass the answers in a dict and fail
at once, in one line, naming every missing or invalid item, together with any problem of the approval
variables themselves (:func:`check_headless_approval`).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import math
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.approval import (
    CLOCK_SKEW,
    DEFAULT_MAX_AGE_HOURS,
    GATES,
    check_headless,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApprovalRefused, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso, parse_timestamp, utc_now

ACKNOWLEDGEMENT_TYPES = ("confirm", "timestamp", "text")
ACKNOWLEDGEMENTS_VARIABLE = "supabase_approval_acknowledgements"
CHECKLIST_VARIABLE = "supabase_approval_required_acknowledgements"
_ACK_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ACK_KEYS = ("name", "question", "type", "min_age_hours", "gates")


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
    if age < -CLOCK_SKEW:
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
        checks.append(make_check("acknowledged %s" % item["name"], "ok",
                                 "%s: %s" % (item["question"], "yes" if value is True else value)))
    return checks
