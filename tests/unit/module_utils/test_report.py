import json
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import write_report

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
