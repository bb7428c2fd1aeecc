"""check_report as Ansible runs it: files written, the summary, and a one-line failure naming the remedy."""
import json

CHECKS = [
    {"name": "drift", "status": "ok", "detail": "in sync"},
    {"name": "backup", "status": "fail", "detail": "newest backup is 30 h old", "remedy": "take a backup"},
]


def test_writes_reports_and_passes_without_fail_on_failed(tmp_path, run_module):
    result = run_module("check_report", {"name": "preflight", "report_dir": str(tmp_path), "checks": CHECKS})
    assert not result.get("failed") and result["changed"] is False and result["passed"] is False
    assert sorted(result["files"]) == ["json", "junit", "markdown"]
    assert json.loads((tmp_path / "preflight.json").read_text())["summary"]["failed_checks"] == ["backup"]


def test_fail_on_failed_is_one_line_with_check_and_remedy(tmp_path, run_module):
    result = run_module("check_report", {"name": "preflight", "title": "Preflight db1", "report_dir": str(tmp_path),
                                         "checks": CHECKS, "fail_on_failed": True})
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("Preflight db1 failed: [FAIL] backup: newest backup is 30 h old")
    assert "-> take a backup" in result["msg"]
    assert (tmp_path / "preflight.md").exists()


def test_bad_status_is_a_clear_error(tmp_path, run_module):
    result = run_module("check_report", {"name": "x", "report_dir": str(tmp_path),
                                         "checks": [{"name": "a", "status": "green"}]})
    assert result["failed"] and result["msg"] == "check 'a' has status 'green'; use one of ok, warn, fail, waived, skipped"
    assert not list(tmp_path.iterdir())
