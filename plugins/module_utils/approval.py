# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Approval gates: decide whether a run may pass a gate.

The runbook's manager approval points (drift resolution strategy, production apply window,
production rollback) become gates. A gate fails closed:

- interactive runs (a terminal on the controller's stdin) must answer an explicit ``yes``;
- headless runs (AWX, ansible-runner, CI, cron) never wait: they need an approval passed in as
  variables (approver, ticket, ISO timestamp no older than a limit and not in the future);
- a waiver (with a reason) is possible outside production only.

A gate can also require a checklist of acknowledgements (``acknowledgements.py``). Every decision
becomes a record (``audit.build_record``) written to the run's ``approvals.jsonl`` and to
``hotdash_audit.approvals`` in each target database (``audit.py``). This module has no Ansible
dependency: the action plugin ``approval_gate`` and the module ``approval_record`` call it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.hotdash.supabase.plugins.module_utils.approval_evidence import printable_text
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApprovalRefused, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso, parse_timestamp, utc_now

# policy_change: setting a database's policy (db_policy); never waived, whatever the environment.
GATES = ("apply_production", "drift_resolution", "production_rollback", "apply_staging", "policy_change")
PRODUCTION_GATES = ("apply_production", "production_rollback", "policy_change")
# What a gate's refusal carries besides its message (the approval role hands them on after recording the refusal).
REFUSAL_DETAILS = ("gate", "environment", "missing", "acknowledgements_missing", "acknowledgements_invalid",
                   "request_file")
MODES = ("auto", "interactive", "headless", "waiver")
RECORDED_MODES = ("interactive", "headless", "waiver")
HEADLESS_VARIABLES = ("supabase_approval_approver", "supabase_approval_ticket", "supabase_approval_at")
DEFAULT_MAX_AGE_HOURS = 24
CLOCK_SKEW = datetime.timedelta(minutes=1)

# Environment variables that mean "an automation runs this, nobody is at the keyboard". ansible-runner
# (and so AWX) starts ansible-playbook inside a pseudo-terminal, so stdin *is* a TTY there: a gate that
# only asked isatty() would wait for an answer that never comes (ansible/awx#1897).
AUTOMATION_MARKERS = ("AWX_ISOLATED_DATA_DIR", "JOB_ID", "TOWER_HOST", "AWX_HOST", "CI", "GITHUB_ACTIONS",
                      "GITLAB_CI", "JENKINS_URL", "BUILD_ID")


def automation_marker(environ):
    """Name of the first environment variable showing that an automation (not a person) runs the play."""
    for name in AUTOMATION_MARKERS:
        value = environ.get(name)
        if value and str(value).strip().lower() not in ("0", "false", "no"):
            return name
    return None


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
    moment = parse_timestamp(approved_at, name="supabase_approval_at")
    now = now or utc_now()
    age = now - moment
    if age < -CLOCK_SKEW:
        raise ApprovalRefused("supabase_approval_at %s is in the future (now %s); pass the time the approval was given"
                              % (iso(moment), iso(now)), gate=gate, environment=environment)
    if age > datetime.timedelta(hours=max_age):
        raise ApprovalRefused("supabase_approval_at %s is %.1f hours old, older than supabase_approval_max_age_hours=%s;"
                              " get a fresh approval for gate %s on %s"
                              % (iso(moment), age.total_seconds() / 3600.0, max_age_hours, gate, environment),
                              gate=gate, environment=environment)
    texts, problems = [], []
    for value, name in ((approver, "supabase_approval_approver"), (ticket, "supabase_approval_ticket")):
        try:
            texts.append(printable_text(value, name))
        except InvalidInput as exc:  # name every unusable one at once
            problems.append(str(exc))
    if problems:
        raise ApprovalRefused("gate %s on %s was not approved: %s" % (gate, environment, "; ".join(problems)),
                              gate=gate, environment=environment)
    return texts[0], texts[1], iso(moment)


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
             "  host(s)     : %s" % (brief(hosts, 20) if hosts else "(none)"),
             "  versions    : %s" % (", ".join(versions) if versions else "(none)")]
    for line in str(summary or "").strip().splitlines():
        lines.append("  | %s" % line)
    if checklist:
        lines.append("  checklist   : answer each item; a missing or invalid answer refuses")
        for number, item in enumerate(checklist, 1):
            lines.append("    %d. %s [%s]" % (number, item["question"], item["name"]))
    lines.append("Type 'yes' to approve; anything else refuses")
    return "\n".join(lines)


def approval_check(record):
    """The approval as a report check: ``approval <gate>``, ``waived`` for a waiver, ``ok`` otherwise."""
    detail = "%s by %s at %s" % (record["mode"], record["approver"], record["approved_at"])
    if record.get("ticket"):
        detail += ", ticket %s" % record["ticket"]
    if record.get("reason"):
        detail += ", reason: %s" % record["reason"]
    return make_check("approval %s" % record["gate"], "waived" if record["mode"] == "waiver" else "ok", detail)
