"""Unit tests of the approval records: what a gate let through, and recording it once (no database)."""
import datetime
import json

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import acknowledgements, audit
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

NOW = datetime.datetime(2025, 10, 19, 2, 30, tzinfo=datetime.timezone.utc)


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_record_validation():
    record = audit.build_record("apply_production", "production", "maria", "2025-10-19T04:05:00+02:00",
                                "headless", ticket="CHG-1", versions=[20251011000000])
    assert record["approved_at"] == "2025-10-19T02:05:00Z" and record["versions"] == ["20251011000000"]
    assert audit.validate_record(record)["gate"] == "apply_production"
    with pytest.raises(InvalidInput, match="lacks approver, approved_at"):
        audit.validate_record({"gate": "apply_production", "environment": "production", "mode": "headless"})
    with pytest.raises(InvalidInput, match="mode 'auto'"):
        audit.validate_record(dict(record, mode="auto"))
    with pytest.raises(InvalidInput, match="must be the dict"):
        audit.validate_record("yes")
    with pytest.raises(InvalidInput):
        audit.build_record("apply_production", "production", "maria", NOW, "auto")


def test_jsonl_append_is_idempotent_per_host(tmp_path):
    record = audit.build_record("apply_production", "production", "maria", NOW, "headless", ticket="CHG-1")
    path, appended = audit.append_jsonl(str(tmp_path / "run"), record, "db1", "run1")
    assert appended
    assert audit.append_jsonl(str(tmp_path / "run"), record, "db1", "run1") == (path, False)
    assert audit.append_jsonl(str(tmp_path / "run"), record, "db2", "run1", check_mode=True) == (path, True)
    assert audit.append_jsonl(str(tmp_path / "run"), record, "db2", "run1")[1]
    rows = read_jsonl(path)
    assert [r["host"] for r in rows] == ["db1", "db2"]
    assert all(r["run_id"] == "run1" and r["approver"] == "maria" for r in rows)
    assert json.loads(open(path).readline())["approved_at"] == "2025-10-19T02:30:00Z"


CHECKLIST = [
    {"name": "devops_notified_at", "question": "DevOps notified 24 hours in advance", "type": "timestamp",
     "min_age_hours": 24},
    {"name": "incident_commander", "question": "Incident response team on standby (commander)", "type": "text"},
    {"name": "rollback_criteria_defined", "question": "Rollback decision criteria defined"},
]


def test_acknowledgements_are_part_of_the_record_and_its_identity(tmp_path):
    recorded = {"devops_notified_at": "2025-10-18T01:00:00Z", "incident_commander": "Ana",
                "rollback_criteria_defined": True}
    record = audit.build_record("apply_production", "production", "maria", NOW, "headless", ticket="CHG-1",
                                acknowledgements=recorded)
    assert audit.validate_record(record)["acknowledgements"] == recorded
    assert audit.build_record("apply_production", "production", "maria", NOW, "headless")["acknowledgements"] == {}
    with pytest.raises(InvalidInput, match="acknowledgements must be a dict"):
        audit.validate_record(dict(record, acknowledgements=["x"]))
    path, appended = audit.append_jsonl(str(tmp_path), record, "db1", "run1")
    assert appended and read_jsonl(path)[0]["acknowledgements"] == recorded
    assert not audit.append_jsonl(str(tmp_path), record, "db1", "run1")[1]
    # other answers are another event
    assert audit.append_jsonl(str(tmp_path), dict(record, acknowledgements={}), "db1", "run1")[1]
    checks = acknowledgements.acknowledgement_checks(acknowledgements.normalize_checklist(CHECKLIST), recorded)
    assert [c["name"] for c in checks] == ["acknowledged devops_notified_at", "acknowledged incident_commander",
                                           "acknowledged rollback_criteria_defined"]
    assert checks[2]["detail"] == "Rollback decision criteria defined: yes" and checks[0]["status"] == "ok"
