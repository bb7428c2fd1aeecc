"""release_verdict as Ansible runs it: a pre-existing failure warns, a regression rolls back, other phases' triggers count."""
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import make_trigger, make_warning

ADVISOR = {"name": "advisor: security_definer_view", "status": "fail", "step": "advisors",
           "detail": "1 finding(s), worst ERROR: public.old_view"}
RLS_OK = {"name": "rls: anon sees no facts", "status": "ok", "step": "rls", "detail": "0 rows"}
RLS_FAIL = dict(RLS_OK, status="fail", detail="anon: 4 rows (expected rows == 0)")


def test_pre_existing_failure_passes_with_warnings(run_module):
    result = run_module("release_verdict", {"baseline": [ADVISOR, RLS_OK], "checks": [ADVISOR, RLS_OK]})
    assert not result.get("failed") and result["changed"] is False
    assert (result["verdict"], result["rollback"], result["passed"]) == ("succeeded_with_warnings", False, True)
    assert result["pre_existing"] == ["advisor: security_definer_view"] and result["counts"] == {"warn": 1, "ok": 1}
    assert result["summary"] == ("succeeded with warnings: 0 trigger(s); 1 warning(s); "
                                 "pre-existing: advisor: security_definer_view")


def test_regression_rolls_back_and_fail_on_failed_names_it_in_one_line(run_module):
    args = {"baseline": [ADVISOR, RLS_OK], "checks": [ADVISOR, RLS_FAIL]}
    result = run_module("release_verdict", args)
    assert result["verdict"] == "rollback" and result["passed"] is False and result["regressions"] == [RLS_OK["name"]]
    assert [t["kind"] for t in result["triggers"]] == ["rls_failure"]
    failed = run_module("release_verdict", dict(args, fail_on_failed=True))
    assert failed["failed"] and "\n" not in failed["msg"]
    assert failed["msg"] == ("release verdict: rollback (rls_failure: rls: anon sees no facts fails after the apply; "
                             "it was ok before it: anon: 4 rows (expected rows == 0))")


def test_a_monitor_breach_rolls_back_even_when_every_check_passes(run_module):
    breach = make_trigger("error_rate", "error rate 2.0 % above 1 % for 310 s", "monitor")
    result = run_module("release_verdict", {"baseline": [RLS_OK], "checks": [RLS_OK], "triggers": [breach]})
    assert result["rollback"] is True and result["reasons"] == ["error_rate: error rate 2.0 % above 1 % for 310 s"]
    assert result["counts"] == {"ok": 1}


def test_a_missed_success_criterion_is_a_warning(run_module):
    missed = make_warning("success_criterion", "probe P95 612 ms >= 500 ms", "monitor")
    result = run_module("release_verdict", {"baseline": [RLS_OK], "checks": [RLS_OK], "run_warnings": [missed]})
    assert result["verdict"] == "succeeded_with_warnings" and result["run_warnings"] == [missed]


def test_without_baseline_every_failure_rolls_back(run_module):
    result = run_module("release_verdict", {"checks": [ADVISOR]})
    assert result["baseline"] == "none" and result["rollback"] is True
    assert result["summary"].endswith("no baseline: every failure counts - regression: advisor: security_definer_view "
                                      "fails after the apply (no baseline to compare with): 1 finding(s), worst "
                                      "ERROR: public.old_view")


def test_bad_input_is_one_line(run_module):
    result = run_module("release_verdict", {"checks": [{"name": "x"}]})
    assert result["failed"] and result["msg"].startswith("every check needs a name and a status")
    result = run_module("release_verdict", {"checks": [], "triggers": [{"kind": "bad", "reason": "x"}]})
    assert result["failed"] and result["msg"].startswith("not a trigger: ")


def test_steps_label_the_checks_in_order(run_module):
    rls = dict(RLS_OK)
    rls.pop("step")
    result = run_module("release_verdict", {"steps": {"rls": [rls], "advisors": [dict(ADVISOR, step="x")]},
                                            "baseline": [RLS_OK, ADVISOR]})
    assert [(c["name"], c["step"], c["baseline"]) for c in result["checks"]] == [
        ("rls: anon sees no facts", "rls", "unchanged"), ("advisor: security_definer_view", "advisors", "pre_existing")]
    neither = run_module("release_verdict", {})
    assert neither["failed"] and "one of the following is required: checks, steps" in neither["msg"]


def test_the_runs_verdict_from_what_the_phases_reported_names_the_pre_existing_failures(run_module):
    # The apply flow's last word: no checks of its own, verify's comparison and the monitor's watch as lists.
    judged = run_module("release_verdict", {"baseline": [ADVISOR, RLS_OK], "checks": [ADVISOR, RLS_OK]})
    missed = make_warning("success_criterion", "probe P95 612 ms >= 500 ms", "monitor")
    result = run_module("release_verdict", {"checks": [], "triggers": judged["triggers"],
                                            "run_warnings": judged["run_warnings"] + [missed]})
    assert (result["verdict"], result["rollback"]) == ("succeeded_with_warnings", False)
    assert result["summary"] == ("succeeded with warnings: 0 trigger(s); 2 warning(s); "
                                 "pre-existing: advisor: security_definer_view")
