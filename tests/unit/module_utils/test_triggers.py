"""Triggers and warnings: one vocabulary for what rolls back and what only warns."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import (TRIGGER_KINDS, decide, make_trigger,
                                                                                make_warning, verdict_label)


def test_the_runbook_immediate_triggers_are_all_kinds():
    runbook = ["ANY migration ERROR during apply", "RLS tests failing after apply", "Error rate > 1% for > 5 minutes",
               "Critical RPC function failures", "Data integrity check failures", "Customer-facing errors reported"]
    assert all(line in TRIGGER_KINDS.values() for line in runbook)


def test_a_monitor_breach_is_a_trigger_and_a_missed_criterion_a_warning():
    breach = make_trigger("error_rate", "error rate 2.1 % above 1 % for 312 s", "monitor",
                          {"sustained_s": 312, "peak": 0.021})
    missed = make_warning("success_criterion", "probe P95 612 ms >= 500 ms", "monitor")
    assert breach == {"kind": "error_rate", "reason": "error rate 2.1 % above 1 % for 312 s", "source": "monitor",
                      "runbook": "Error rate > 1% for > 5 minutes", "evidence": {"sustained_s": 312, "peak": 0.021}}
    assert decide([breach], [missed]) == {"verdict": "rollback", "rollback": True, "triggers": [breach],
                                          "run_warnings": [missed],
                                          "reasons": ["error_rate: error rate 2.1 % above 1 % for 312 s"]}
    assert decide([], [missed])["verdict"] == "succeeded_with_warnings"
    assert verdict_label("succeeded_with_warnings") == "succeeded with warnings"
    assert verdict_label("rollback") == "rollback triggered"


def test_bad_kinds_sources_and_empty_reasons_are_refused():
    with pytest.raises(InvalidInput, match="unknown trigger kind 'slow'"):
        make_trigger("slow", "x", "verify")
    with pytest.raises(InvalidInput, match="unknown warning source 'cron'"):
        make_warning("check_warning", "x", "cron")
    with pytest.raises(InvalidInput, match="a trigger needs a reason"):
        make_trigger("regression", " \n ", "verify")
    with pytest.raises(InvalidInput, match="not a trigger"):
        decide([make_warning("pre_existing", "x", "verify")])
    with pytest.raises(InvalidInput, match="unknown verdict"):
        verdict_label("ok")
