import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import (apply_waivers, check_argument_spec,
                                                                              make_check, module_result,
                                                                              severity_status, write_report)

CHECKS = [
    {"name": "drift", "status": "ok", "detail": "in sync", "duration_ms": 12},
    {"name": "backup", "status": "fail", "detail": "newest backup is 30 h old (limit 12 h)",
     "remedy": "take a backup", "duration_ms": 3},
    {"name": "window", "status": "waived", "detail": "outside 02:00-04:00 UTC", "remedy": ""},
    {"name": "dsn", "status": "warn", "detail": "connected to postgresql://u:hunter2@db/x"},
]


def test_write_report_writes_three_formats_and_fails_summary(tmp_path):
    out = write_report(str(tmp_path), "preflight", "Preflight db1", CHECKS, meta={"environment": "production"})
    assert out["summary"]["passed"] is False and out["summary"]["failed_checks"] == ["backup"]
    doc = json.loads((tmp_path / "preflight.json").read_text())
    assert doc["summary"]["counts"]["waived"] == 1
    markdown = (tmp_path / "preflight.md").read_text()
    assert "| backup | FAIL | newest backup is 30 h old (limit 12 h) | take a backup | 3 |" in markdown
    suite = ET.parse(str(tmp_path / "preflight.junit.xml")).getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    assert any("-> take a backup" in line for line in out["lines"])


def test_report_never_contains_a_password(tmp_path):
    write_report(str(tmp_path), "r", "R", CHECKS)
    for path in tmp_path.iterdir():
        assert "hunter2" not in path.read_text()


def test_bad_status_is_one_clear_line(tmp_path):
    with pytest.raises(InvalidInput) as err:
        write_report(str(tmp_path), "r", "R", [{"name": "x", "status": "great"}])
    assert "check 'x' has status 'great'" in str(err.value)


def test_non_text_detail_is_shown_as_text(tmp_path):
    out = write_report(str(tmp_path), "r", "R", [{"name": "port", "status": "ok", "detail": 5432, "remedy": None}])
    assert out["lines"][1] == "[PASS] port: 5432"


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


def test_module_result_fails_only_when_asked():
    checks = [make_check("a", "ok"), make_check("b", "fail", "rows=1\n(expected rows == 0)")]
    result = module_result(checks)
    assert result["passed"] is False and result["counts"] == {"ok": 1, "fail": 1}
    with pytest.raises(CheckFailed) as info:
        module_result(checks, fail_on_failed=True, what="integrity")
    assert str(info.value) == "integrity failed: b: rows=1 (expected rows == 0)"
    assert info.value.result["counts"] == {"ok": 1, "fail": 1}


def test_module_result_applies_waivers_and_can_fail_with_the_details_alone():
    checks = [make_check("a", "fail", "migration drift: 1 version(s)"), make_check("b", "fail", "duplicates")]
    waived = module_result(checks, waivers={"b": "CHG-7 known"})
    assert [c["status"] for c in waived["checks"]] == ["fail", "waived"] and waived["counts"] == {"fail": 1, "waived": 1}
    with pytest.raises(CheckFailed) as info:
        module_result(checks, fail_on_failed=True, what=None)
    assert str(info.value) == "migration drift: 1 version(s); duplicates"


def test_make_check_has_one_shape_for_every_caller():
    assert make_check("x", "ok") == {"name": "x", "status": "ok", "detail": "", "remedy": "", "duration_ms": None}
    assert make_check("x", "waived", "d", "reviewed, CHG-9")["remedy"] == "reviewed, CHG-9"
    assert make_check("x", "skipped", "d", "do this")["remedy"] == ""


def test_check_argument_spec_is_the_documented_shared_options():
    spec = check_argument_spec("fail_on_failed", "statement_timeout", "on_missing_table", "waivers")
    assert spec == {"fail_on_failed": {"type": "bool", "default": False},
                    "statement_timeout": {"type": "float", "default": 30.0},
                    "on_missing_table": {"type": "str", "default": "skip", "choices": ["skip", "fail"]},
                    "waivers": {"type": "dict", "default": {}}}
    spec["waivers"]["default"]["x"] = "changed"
    assert check_argument_spec("waivers")["waivers"]["default"] == {}  # every module gets its own copy
    with pytest.raises(ValueError):
        check_argument_spec("timeout")
    assert check_argument_spec("fail_on_failed", fail_on_failed=True)["fail_on_failed"]["default"] is True
    assert check_argument_spec("fail_on_failed")["fail_on_failed"]["default"] is False


def test_append_once_appends_a_marked_entry_once_and_check_mode_writes_nothing(tmp_path):
    from ansible_collections.hotdash.supabase.plugins.module_utils.report import append_once
    path = str(tmp_path / "feedback" / "2025-10-19.md")

    def present(current):
        return "<!-- run=1 -->" in current

    def text(current):
        return "<!-- run=1 -->\nentry\n"

    assert append_once(path, present, text, check_mode=True) is True
    assert not (tmp_path / "feedback").exists()
    assert append_once(path, present, text) is True
    assert append_once(path, present, text) is False
    assert append_once(path, present, text, check_mode=True) is False
    assert open(path).read() == "<!-- run=1 -->\nentry\n"
