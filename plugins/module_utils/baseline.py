# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge a release by what it changed: verify's checks before the apply (the baseline) against after it.

Pure: two lists of report checks in, the judged checks, triggers and warnings out (no database).

- A check that fails after the apply and passed before it (``ok``, ``warn``, ``skipped``, ``waived``, or
  no such check before) is a **regression**: a trigger of the kind of its step (RLS -> ``rls_failure``,
  integrity -> ``integrity_failure``, RPC -> ``rpc_failure``, ...; ``regression`` otherwise).
- A check that fails before and after is **pre-existing**: reported as a ``warn`` with both details and a
  ``pre_existing`` warning; rolling back cannot repair it, so it never rolls back, whatever its kind.
  Unless it got worse: when both checks list what fails (``data.failing``: tables, findings, error
  codes), anything failing after that did not fail before is a regression (a release that adds a second
  table without RLS beside one that predates it is caught).
- Steps in ``absolute_steps`` (default: the migration state, which is meant to differ) are never
  compared: their failures are always triggers. Without a baseline every failure is a trigger: what cannot
  be shown to predate the release is treated as caused by it.
- A ``warn`` after the apply is a warning (``rpc_budget`` for an RPC over its budget, else ``check_warning``).

Checks carry their step in ``step`` (see :func:`with_step`); a check may name its trigger kind itself in
``trigger_kind`` (e.g. an error-rate query configured among the integrity checks).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import (TRIGGER_KINDS, decide, make_trigger,
                                                                                make_warning, verdict_label)

# verify's steps -> the runbook trigger a new failure of that step is.
STEP_TRIGGERS = {
    "migrations": "migration_error",
    "rls": "rls_failure",
    "integrity": "integrity_failure",
    "rpc": "rpc_failure",
}
ABSOLUTE_STEPS = ("migrations",)
_PASSING = ("ok", "warn", "skipped", "waived")
_FAILING_SHOWN = 8


def with_step(checks, step):
    """Copies of ``checks`` labelled with the verify step that produced them."""
    return [dict(check, step=step) for check in checks or []]


def _key(check):
    return (check.get("step") or "", check.get("name"))


def _index(checks):
    """``{(step, name): [checks]}`` in order (a name used twice in one step is paired by occurrence)."""
    out = {}
    for check in checks:
        if not isinstance(check, dict) or not check.get("name") or not check.get("status"):
            raise InvalidInput("every check needs a name and a status; got %r" % (check,))
        out.setdefault(_key(check), []).append(check)
    return out


def failing_items(check):
    """The set of what a check says fails (``data.failing``), or None when it does not say."""
    items = (check.get("data") or {}).get("failing")
    if items is None:
        return None
    if not isinstance(items, (list, tuple, set)):
        raise InvalidInput("check %r: data.failing must be a list" % check.get("name"))
    return set(str(item) for item in items)


def over_budget(check):
    """True when an RPC check's only problem is its time budget (``data.over_budget``)."""
    return bool((check.get("data") or {}).get("over_budget"))


def trigger_kind(check):
    kind = check.get("trigger_kind")
    if kind:
        if kind not in TRIGGER_KINDS:
            raise InvalidInput("check %r: trigger_kind %r is not one of %s"
                               % (check.get("name"), kind, ", ".join(sorted(TRIGGER_KINDS))))
        return kind
    if over_budget(check):
        return "rpc_budget"
    return STEP_TRIGGERS.get(check.get("step") or "", "regression")


def _state(check):
    if check is None:
        return None
    return {"status": check["status"], "detail": check.get("detail") or ""}


def _judge_failure(check, before, baseline, absolute_steps):
    """``(outcome, why, new_items)`` for a check failing after the apply; outcome regression|pre_existing."""
    if not baseline:
        return "regression", "fails after the apply (no baseline to compare with)", None
    if (check.get("step") or "") in absolute_steps:
        return "regression", "fails after the apply", None
    if before is None:
        return "regression", "fails after the apply; the check did not exist before it", None
    if before["status"] in _PASSING:
        return "regression", "fails after the apply; it was %s before it" % before["status"], None
    now_failing, was_failing = failing_items(check), failing_items(before)
    if now_failing is not None and was_failing is not None:
        new = now_failing - was_failing
        if new:
            return "regression", "fails with more after the apply: new %s" % brief(sorted(new), _FAILING_SHOWN), sorted(new)
    return "pre_existing", "failing before the apply too", None


def compare(before, after, absolute_steps=ABSOLUTE_STEPS):
    """Judge ``after`` (checks after the apply) against ``before`` (the baseline, or None when there is none).

    Returns ``{checks, triggers, run_warnings, regressions, pre_existing, fixed, baseline}``: ``checks`` are the
    after-checks with ``baseline`` set to ``regression``, ``pre_existing``, ``fixed`` (failed before, passes
    now) or ``unchanged``, and every pre-existing failure turned into a ``warn`` (``pre_existing_from: fail``)
    so a report of them passes; ``regressions``, ``pre_existing`` and ``fixed`` are check names.
    """
    baseline = before is not None
    earlier = _index(before or [])
    _index(after)
    absolute_steps = tuple(absolute_steps or ())
    seen = {}
    out = {"checks": [], "triggers": [], "run_warnings": [], "regressions": [], "pre_existing": [], "fixed": [],
           "baseline": "compared" if baseline else "none"}
    for check in after:
        key = _key(check)
        if key not in seen:
            seen[key] = 0
        matches = earlier.get(key, [])
        prior = matches[seen[key]] if seen[key] < len(matches) else None
        seen[key] += 1
        judged = dict(check)
        name, detail = check["name"], check.get("detail") or ""
        evidence = {"step": check.get("step") or "", "before": _state(prior), "after": _state(check)}
        if check["status"] == "fail":
            outcome, why, new = _judge_failure(check, prior, baseline, absolute_steps)
            if new:
                evidence["new_failing"] = new
            judged["baseline"] = outcome
            reason = "%s %s: %s" % (name, why, detail)
            if outcome == "regression":
                out["regressions"].append(name)
                out["triggers"].append(make_trigger(trigger_kind(check), reason, "verify", evidence, check=name))
            else:
                out["pre_existing"].append(name)
                judged.update(status="warn", pre_existing_from="fail",
                              detail="pre-existing (failing before the apply too): %s" % detail)
                out["run_warnings"].append(make_warning("pre_existing", reason, "verify", evidence, check=name))
        else:
            fixed = prior is not None and prior["status"] == "fail" and check["status"] in ("ok", "skipped")
            judged["baseline"] = "fixed" if fixed else "unchanged" if baseline else "none"
            if fixed:
                out["fixed"].append(name)
            if check["status"] == "warn":
                kind = "rpc_budget" if over_budget(check) else "check_warning"
                out["run_warnings"].append(make_warning(kind, "%s: %s" % (name, detail), "verify", evidence,
                                                        check=name))
        out["checks"].append(judged)
    return out


def judge_release(after, before=None, triggers=(), warnings=(), absolute_steps=ABSOLUTE_STEPS):
    """:func:`compare` plus the triggers and warnings other phases reported, decided into one verdict.

    Returns the comparison with ``verdict``, ``rollback``, ``reasons``, every trigger and warning (those of
    ``triggers``/``warnings`` first), ``passed`` (no trigger) and a one-line ``summary``.
    """
    result = compare(before, after, absolute_steps)
    decision = decide(list(triggers or []) + result["triggers"], list(warnings or []) + result["run_warnings"])
    result.update(decision, passed=not decision["rollback"])
    parts = ["%d trigger(s)" % len(decision["triggers"]), "%d warning(s)" % len(decision["run_warnings"])]
    # Pre-existing failures judged here and those an earlier comparison reported (the apply flow's final verdict).
    pre_existing = set(result["pre_existing"]) | set(
        w.get("check") or w["reason"] for w in decision["run_warnings"] if w["kind"] == "pre_existing")
    if pre_existing:
        parts.append("pre-existing: %s" % brief(sorted(pre_existing), _FAILING_SHOWN))
    if result["baseline"] == "none" and after:
        parts.append("no baseline: every failure counts")
    result["summary"] = "%s: %s%s" % (verdict_label(decision["verdict"]), "; ".join(parts),
                                      (" - " + "; ".join(decision["reasons"])) if decision["reasons"] else "")
    return result
