import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.server_checks import (_describe_sessions, apply_waivers,
                                                                                     make_check, severity_status)


def test_make_check_drops_remedy_of_passing_checks():
    assert make_check("x", "ok", "fine", "do this")["remedy"] == ""
    assert make_check("x", "fail", "bad", "do this", data={"a": 1}, duration_ms=3.7) == {
        "name": "x", "status": "fail", "detail": "bad", "remedy": "do this", "data": {"a": 1}, "duration_ms": 3}
    with pytest.raises(ValueError):
        make_check("x", "passed")


def test_severity_is_fail_in_production_and_warn_elsewhere_unless_forced():
    assert severity_status("production") == "fail"
    assert severity_status("staging") == "warn" and severity_status("local") == "warn"
    assert severity_status("staging", "fail") == "fail" and severity_status("production", "warn") == "warn"


def test_waivers_turn_fail_and_warn_into_waived_with_reason_and_leave_ok_alone():
    checks = [make_check("locks", "fail", "held"), make_check("lint", "warn", "index"), make_check("x", "ok", "")]
    out = apply_waivers(checks, {"locks": " CHG-1 ", "lint": "reviewed", "x": "unused"})
    assert [c["status"] for c in out] == ["waived", "waived", "ok"]
    assert out[0]["detail"] == "held (waived: CHG-1)" and out[0]["waived_from"] == "fail"
    assert checks[0]["status"] == "fail"  # inputs are not mutated


def test_waiver_needs_a_reason():
    with pytest.raises(InvalidInput) as err:
        apply_waivers([], {"locks": "  "})
    assert "waiver for check 'locks' has no reason" in str(err.value)


def test_session_description_is_bounded():
    rows = [{"pid": i, "user": "u", "duration_s": 1.0, "state": "active", "query": "q"} for i in range(5)]
    text = _describe_sessions(rows)
    assert text.count("pid ") == 3 and text.endswith("and 2 more")
