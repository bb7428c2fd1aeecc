"""The baseline comparison: what the release broke rolls back, what was already broken does not."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.baseline import compare, with_step
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import checks_passed, make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import decide


def check(name, status, detail="", step="", **data):
    out = make_check(name, status, detail, data=data or None)
    if step:
        out["step"] = step
    return out


ADVISOR_ERROR = check("advisor: security_definer_view", "fail", "1 finding(s), worst ERROR: public.old_view",
                      "advisors", failing=["ERROR public.old_view"])


def test_a_failure_present_before_the_apply_is_pre_existing_and_does_not_roll_back():
    after_error_rate = check("error rate of the last 24 hours", "fail", "value = 0.006 (expected value <= 0.005)",
                             "integrity")
    before = [ADVISOR_ERROR, dict(after_error_rate, detail="value = 0.0061 (expected value <= 0.005)")]
    result = compare(before, [ADVISOR_ERROR, after_error_rate])
    assert result["triggers"] == [] and result["regressions"] == []
    assert result["pre_existing"] == ["advisor: security_definer_view", "error rate of the last 24 hours"]
    assert [w["kind"] for w in result["run_warnings"]] == ["pre_existing", "pre_existing"]
    judged = result["checks"][1]
    assert judged["status"] == "warn" and judged["pre_existing_from"] == "fail" and judged["baseline"] == "pre_existing"
    assert judged["detail"] == "pre-existing (failing before the apply too): value = 0.006 (expected value <= 0.005)"
    assert result["run_warnings"][1]["evidence"]["before"]["detail"] == "value = 0.0061 (expected value <= 0.005)"
    assert checks_passed(result["checks"])
    assert decide(result["triggers"], result["run_warnings"])["verdict"] == "succeeded_with_warnings"


def test_a_check_that_passed_before_and_fails_after_is_a_trigger_of_its_step_kind():
    before = with_step([check("rls: anon sees no facts", "ok", "0 rows")], "rls")
    after = with_step([check("rls: anon sees no facts", "fail", "anon: 4 rows (expected rows == 0)")], "rls")
    result = compare(before, after)
    assert result["regressions"] == ["rls: anon sees no facts"] and result["pre_existing"] == []
    trigger = result["triggers"][0]
    assert trigger["kind"] == "rls_failure" and trigger["source"] == "verify" and trigger["runbook"] == (
        "RLS tests failing after apply")
    assert trigger["reason"] == ("rls: anon sees no facts fails after the apply; it was ok before it: "
                                 "anon: 4 rows (expected rows == 0)")
    assert trigger["evidence"]["before"] == {"status": "ok", "detail": "0 rows"}
    assert result["checks"][0]["status"] == "fail" and not checks_passed(result["checks"])
    decision = decide(result["triggers"], result["run_warnings"])
    assert decision["rollback"] and decision["verdict"] == "rollback"
    assert decision["reasons"] == ["rls_failure: " + trigger["reason"]]


@pytest.mark.parametrize("before_status", ["warn", "skipped", "waived"])
def test_warned_skipped_or_waived_before_counts_as_passing(before_status):
    before = with_step([check("orphans", before_status, "table missing")], "integrity")
    after = with_step([check("orphans", "fail", "value = 3")], "integrity")
    result = compare(before, after)
    assert [t["kind"] for t in result["triggers"]] == ["integrity_failure"]
    assert "it was %s before it" % before_status in result["triggers"][0]["reason"]


def test_a_check_that_did_not_exist_before_is_a_regression():
    result = compare([], with_step([check("advisor: rls_disabled_in_public", "fail", "public.new_table")], "advisors"))
    assert result["triggers"][0]["kind"] == "regression"
    assert "the check did not exist before it" in result["triggers"][0]["reason"]


def test_without_a_baseline_every_failure_is_a_trigger():
    result = compare(None, [ADVISOR_ERROR, check("smoke read", "ok")])
    assert result["baseline"] == "none" and result["regressions"] == ["advisor: security_definer_view"]
    assert "no baseline to compare with" in result["triggers"][0]["reason"]
    assert [c["baseline"] for c in result["checks"]] == ["regression", "none"]


def test_a_pre_existing_failure_that_got_worse_is_a_regression():
    before = with_step([check("rls enabled: public", "fail", "1 table without RLS", failing=["public.legacy"])], "rls")
    after = with_step([check("rls enabled: public", "fail", "2 tables without RLS",
                             failing=["public.legacy", "public.dashboard_tiles"])], "rls")
    result = compare(before, after)
    trigger = result["triggers"][0]
    assert trigger["kind"] == "rls_failure" and trigger["evidence"]["new_failing"] == ["public.dashboard_tiles"]
    assert "fails with more after the apply: new public.dashboard_tiles" in trigger["reason"]


def test_fewer_or_the_same_failing_items_stay_pre_existing():
    before = [check("advisor: x", "fail", failing=["a", "b"])]
    assert compare(before, [check("advisor: x", "fail", failing=["b"])])["pre_existing"] == ["advisor: x"]
    assert compare(before, [check("advisor: x", "fail", failing=["a", "b"])])["triggers"] == []
    # Only one side listing its items: nothing to compare them with, same check failing both times.
    assert compare(before, [check("advisor: x", "fail")])["pre_existing"] == ["advisor: x"]


def test_the_migration_state_is_never_compared_with_the_baseline():
    # Before the apply the release's migrations are pending by design: pending after it is still a trigger.
    before = with_step([check("migrations applied", "fail", "3 applied, 1 pending")], "migrations")
    after = with_step([check("migrations applied", "fail", "3 applied, 1 pending")], "migrations")
    result = compare(before, after)
    assert [t["kind"] for t in result["triggers"]] == ["migration_error"]
    assert result["triggers"][0]["reason"] == "migrations applied fails after the apply: 3 applied, 1 pending"
    assert compare(before, after, absolute_steps=())["pre_existing"] == ["migrations applied"]


def test_rpc_budget_overrun_is_a_warning_unless_made_to_fail():
    slow = check("rpc: get_revenue_metrics", "warn", "over budget: 612.0 ms median of 3 call(s), budget 500 ms",
                 "rpc", over_budget=True)
    result = compare([dict(slow, status="ok")], [slow])
    assert result["triggers"] == [] and [w["kind"] for w in result["run_warnings"]] == ["rpc_budget"]
    # An inventory that sets the budget status to fail makes a new overrun a trigger ...
    failing = dict(slow, status="fail")
    made = compare([dict(slow, status="ok")], [failing])
    assert [t["kind"] for t in made["triggers"]] == ["rpc_budget"]
    # ... and an RPC that was already slow before the apply stays pre-existing.
    assert compare([failing], [failing])["pre_existing"] == ["rpc: get_revenue_metrics"]
    # A function that raises is a critical RPC failure.
    raised = check("rpc: get_revenue_metrics", "fail", "raised: division by zero", "rpc")
    assert [t["kind"] for t in compare([slow], [raised])["triggers"]] == ["rpc_failure"]


def test_fixed_checks_and_warnings_are_reported():
    result = compare([check("facts have a project", "fail", "rows = 2")],
                     [check("facts have a project", "ok", "rows = 0"), check("advisor: y", "warn", "WARN public.t")])
    assert result["fixed"] == ["facts have a project"] and result["checks"][0]["baseline"] == "fixed"
    assert [w["kind"] for w in result["run_warnings"]] == ["check_warning"]
    assert decide(result["triggers"], result["run_warnings"])["verdict"] == "succeeded_with_warnings"
    assert decide([], [])["verdict"] == "succeeded"


def test_a_check_can_name_its_trigger_kind():
    after = with_step([check("error rate since the apply", "fail", "value = 0.03")], "integrity")
    after[0]["trigger_kind"] = "error_rate"
    assert compare([], after)["triggers"][0]["kind"] == "error_rate"
    after[0]["trigger_kind"] = "bad_kind"
    with pytest.raises(InvalidInput, match="trigger_kind 'bad_kind' is not one of"):
        compare([], after)


def test_same_name_in_two_steps_and_twice_in_one_step_pair_by_step_and_order():
    before = with_step([check("x", "ok"), check("x", "fail")], "smoke") + with_step([check("x", "fail")], "rpc")
    after = with_step([check("x", "fail"), check("x", "fail")], "smoke") + with_step([check("x", "fail")], "rpc")
    result = compare(before, after)
    assert [c["baseline"] for c in result["checks"]] == ["regression", "pre_existing", "pre_existing"]


def test_a_check_without_status_is_refused():
    with pytest.raises(InvalidInput, match="every check needs a name and a status"):
        compare([], [{"name": "x"}])
    with pytest.raises(InvalidInput, match="data.failing must be a list"):
        compare([check("x", "fail", failing="a")], [check("x", "fail", failing="a")])
