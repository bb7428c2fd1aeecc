# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What rolls a release back and what only warns: one vocabulary for apply, verify and monitor.

A **trigger** rolls back automatically. Its kinds are the runbook's "Immediate Rollback Triggers" plus
``regression`` (a check that passed before the apply and fails after it). A **warning** never rolls back:
a missed success criterion, an RPC over its budget, a failure that was already there before the apply.
Both are plain dicts ``{kind, reason, source, runbook, evidence[, check]}`` built by :func:`make_trigger`
and :func:`make_warning`; :func:`decide` turns the lists of a run into its verdict. In module results the
lists are ``triggers`` and ``run_warnings`` (Ansible reserves ``warnings`` for its own messages).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

# kind -> the runbook line it stands for (runbook "When to Rollback", "Immediate Rollback Triggers").
TRIGGER_KINDS = {
    "migration_error": "ANY migration ERROR during apply",
    "rls_failure": "RLS tests failing after apply",
    "error_rate": "Error rate > 1% for > 5 minutes",
    "rpc_failure": "Critical RPC function failures",
    "integrity_failure": "Data integrity check failures",
    "customer_errors": "Customer-facing errors reported",
    "regression": "a check that passed before the apply fails after it",
    # Only when an inventory makes budget overruns triggers (an RPC budget is a target in the runbook).
    "rpc_budget": "an RPC function over its time budget (made a trigger by the inventory)",
}
WARNING_KINDS = {
    "pre_existing": "failing before the apply too: not caused by this release, so rolling back cannot fix it",
    "success_criterion": "a production success criterion missed (error rate < 0.5%, query P95 < 500 ms, pool < 80%)",
    "rpc_budget": "an RPC function over its time budget (the runbook's target, not a trigger)",
    "check_warning": "a check that warns",
}
VERDICTS = ("succeeded", "succeeded_with_warnings", "rollback")
SOURCES = ("apply", "verify", "monitor", "operator")


def _item(kinds, what, kind, reason, source, evidence=None, check=None):
    if kind not in kinds:
        raise InvalidInput("unknown %s kind %r; use one of %s" % (what, kind, ", ".join(sorted(kinds))))
    if source not in SOURCES:
        raise InvalidInput("unknown %s source %r; use one of %s" % (what, source, ", ".join(SOURCES)))
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("a %s needs a reason (what was seen)" % what)
    item = {"kind": kind, "reason": reason, "source": source, "runbook": kinds[kind], "evidence": evidence or {}}
    if check is not None:
        item["check"] = check
    return item


def make_trigger(kind, reason, source, evidence=None, check=None):
    """A trigger: rolls the release back without asking (production records it instead of an approval)."""
    return _item(TRIGGER_KINDS, "trigger", kind, reason, source, evidence, check)


def make_warning(kind, reason, source, evidence=None, check=None):
    """A warning: named in the summary, the notification and the feedback entry; never rolls back."""
    return _item(WARNING_KINDS, "warning", kind, reason, source, evidence, check)


def decide(triggers=(), warnings=()):
    """``{verdict, rollback, triggers, run_warnings, reasons}`` of a run from everything its phases reported.

    ``verdict`` is ``rollback`` when there is any trigger, ``succeeded_with_warnings`` when there is
    any warning, else ``succeeded``; ``reasons`` are the triggers' reasons, one line each.
    """
    triggers = list(triggers or [])
    warnings = list(warnings or [])
    for item in triggers:
        if item.get("kind") not in TRIGGER_KINDS:
            raise InvalidInput("not a trigger: %r" % (item,))
    for item in warnings:
        if item.get("kind") not in WARNING_KINDS:
            raise InvalidInput("not a warning: %r" % (item,))
    verdict = "rollback" if triggers else "succeeded_with_warnings" if warnings else "succeeded"
    # "run_warnings", not "warnings": Ansible takes a module result's "warnings" for its own list of strings.
    return {"verdict": verdict, "rollback": bool(triggers), "triggers": triggers, "run_warnings": warnings,
            "reasons": ["%s: %s" % (t["kind"], t["reason"]) for t in triggers]}


def verdict_label(verdict):
    """The words a person reads: ``succeeded with warnings``, ``rolled back`` is the playbook's outcome."""
    if verdict not in VERDICTS:
        raise InvalidInput("unknown verdict %r; use one of %s" % (verdict, ", ".join(VERDICTS)))
    return {"rollback": "rollback triggered"}.get(verdict, verdict.replace("_", " "))
