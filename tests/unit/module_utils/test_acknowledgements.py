"""Unit tests of the checklist of acknowledgements a gate requires (the runbook's pre-flight lines about people)."""
import datetime
import json

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import acknowledgements, approval
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApprovalRefused, InvalidInput

NOW = datetime.datetime(2025, 10, 19, 2, 30, tzinfo=datetime.timezone.utc)

CHECKLIST = [
    {"name": "devops_notified_at", "question": "DevOps notified 24 hours in advance", "type": "timestamp",
     "min_age_hours": 24},
    {"name": "incident_commander", "question": "Incident response team on standby (commander)", "type": "text"},
    {"name": "rollback_criteria_defined", "question": "Rollback decision criteria defined"},
]
GOOD = {"devops_notified_at": "2025-10-18T01:00:00Z", "incident_commander": " Ana ", "rollback_criteria_defined": True}


def acks(values, checklist=None, now=NOW):
    checklist = acknowledgements.normalize_checklist(CHECKLIST if checklist is None else checklist)
    return acknowledgements.check_acknowledgements("apply_production", "production", checklist, values, now=now)


def refused(values, **kwargs):
    with pytest.raises(ApprovalRefused) as err:
        acks(values, **kwargs)
    assert "\n" not in str(err.value)
    return err.value


def test_checklist_definition_is_validated_naming_the_item():
    assert [i["type"] for i in acknowledgements.normalize_checklist(CHECKLIST)] == ["timestamp", "text", "confirm"]
    assert acknowledgements.normalize_checklist(None) == []
    bad = [
        ({"name": "x"}, r"\[0\] x needs a question"),
        ({"name": "Bad Name", "question": "q"}, "must be a lower-case identifier"),
        ({"name": "x", "question": "q", "type": "bool"}, "type 'bool'; use one of confirm, timestamp, text"),
        ({"name": "x", "question": "q", "min_age_hours": 24}, "min_age_hours only applies to type timestamp"),
        ({"name": "x", "question": "q", "type": "timestamp", "min_age_hours": -1}, "must be a number of hours >= 0"),
        ({"name": "x", "question": "q", "answer": True}, "unknown key.s. answer"),
        ("x", "must be a dict with name and question"),
    ]
    for item, message in bad:
        with pytest.raises(InvalidInput, match=message):
            acknowledgements.normalize_checklist([item])
    with pytest.raises(InvalidInput, match=r"\[1\] x: the name is used twice"):
        acknowledgements.normalize_checklist([{"name": "x", "question": "q"}, {"name": "x", "question": "r"}])
    with pytest.raises(InvalidInput, match="must be a list of dicts"):
        acknowledgements.normalize_checklist({"name": "x"})
    with pytest.raises(InvalidInput, match="unknown gate.s. apply_prod; use apply_production"):
        acknowledgements.normalize_checklist([{"name": "x", "question": "q", "gates": ["apply_prod"]}])
    with pytest.raises(InvalidInput, match="gates must be a non-empty list"):
        acknowledgements.normalize_checklist([{"name": "x", "question": "q", "gates": "apply_production"}])


def test_items_limited_to_gates_are_asked_only_there():
    """An inventory-wide production list must not demand 24 h of notice before an emergency rollback."""
    items = [dict(CHECKLIST[0], gates=["apply_production"]), CHECKLIST[2]]
    assert [i["name"] for i in acknowledgements.normalize_checklist(items, gate="apply_production")] == [
        "devops_notified_at", "rollback_criteria_defined"]
    assert [i["name"] for i in acknowledgements.normalize_checklist(items, gate="production_rollback")] == [
        "rollback_criteria_defined"]
    assert len(acknowledgements.normalize_checklist(items)) == 2


def test_acknowledgements_ok_are_normalized_in_checklist_order():
    recorded = acks(dict(GOOD, devops_notified_at="2025-10-18T03:00:00+02:00"))
    assert recorded == {"devops_notified_at": "2025-10-18T01:00:00Z", "incident_commander": "Ana",
                        "rollback_criteria_defined": True}
    assert list(recorded) == ["devops_notified_at", "incident_commander", "rollback_criteria_defined"]
    # exactly 24 h of notice is enough; a confirm may also come as the string "true"/"yes" (-e key=value)
    assert acks(dict(GOOD, devops_notified_at="2025-10-18T02:30:00Z", rollback_criteria_defined="yes"))[
        "devops_notified_at"] == "2025-10-18T02:30:00Z"
    assert acks({}, checklist=[]) == {}


def test_missing_acknowledgements_are_all_named_in_one_line():
    err = refused({"incident_commander": "  "})
    msg = str(err)
    assert msg.startswith("acknowledgements required for gate apply_production on production and this run has no "
                          "terminal: devops_notified_at is missing (an ISO 8601 timestamp at least 24 h before now: "
                          "DevOps notified 24 hours in advance); incident_commander is missing (text: ")
    assert "rollback_criteria_defined is missing (true to confirm: Rollback decision criteria defined)" in msg
    assert msg.endswith("pass supabase_approval_acknowledgements as a dict name -> true, an ISO 8601 UTC timestamp or text")
    assert err.result["acknowledgements_missing"] == ["devops_notified_at", "incident_commander",
                                                      "rollback_criteria_defined"]
    assert err.result["acknowledgements_invalid"] == {}


def test_notice_too_recent_names_the_hours():
    now = datetime.datetime(2026, 11, 26, 4, 0, tzinfo=datetime.timezone.utc)
    err = refused(dict(GOOD, devops_notified_at="2026-11-26T01:00:00Z"), now=now)
    assert ("devops_notified_at 2026-11-26T01:00:00Z is 3 h before now; the runbook requires 24 h notice"
            in str(err))
    assert list(err.result["acknowledgements_invalid"]) == ["devops_notified_at"]
    # 23.96 h is not rounded up to the 24 h it falls short of
    err = refused(dict(GOOD, devops_notified_at="2026-11-25T04:02:24Z"), now=now)
    assert "is 23.9 h before now" in str(err)


def test_future_and_garbage_timestamps_are_refused():
    assert "devops_notified_at 2025-10-20T00:00:00Z is in the future (now 2025-10-19T02:30:00Z)" in str(
        refused(dict(GOOD, devops_notified_at="2025-10-20T00:00:00Z")))
    assert "devops_notified_at 'yesterday' is not an ISO 8601 timestamp" in str(
        refused(dict(GOOD, devops_notified_at="yesterday")))
    assert "devops_notified_at must be an ISO 8601 timestamp such as 2026-11-25T01:00:00Z, got true" in str(
        refused(dict(GOOD, devops_notified_at=True)))
    # without min_age_hours any past timestamp will do, but not one in the future
    plain = [{"name": "window_scheduled_at", "question": "Window scheduled", "type": "timestamp"}]
    assert acks({"window_scheduled_at": "2025-10-19T02:29:00Z"}, checklist=plain) == {
        "window_scheduled_at": "2025-10-19T02:29:00Z"}
    refused({"window_scheduled_at": "2025-10-19T03:00:00Z"}, checklist=plain)


@pytest.mark.parametrize("name, value, message", [
    ("rollback_criteria_defined", False, "rollback_criteria_defined is false, not true"),
    ("rollback_criteria_defined", "no", "rollback_criteria_defined is 'no', not true"),
    ("incident_commander", True, "incident_commander must be text (Incident response team on standby (commander)), "
                                 "got true"),
    ("incident_commander", ["Ana"], "got [\"Ana\"]"),
])
def test_wrong_types_are_refused(name, value, message):
    err = refused(dict(GOOD, **{name: value}))
    assert message in str(err)
    assert err.result["acknowledgements_missing"] == [] and list(err.result["acknowledgements_invalid"]) == [name]


def test_unknown_answers_are_named_but_do_not_count():
    err = refused(dict(GOOD, devops_notifed_at="2025-10-18T01:00:00Z", devops_notified_at=None))
    assert "devops_notified_at is missing" in str(err)
    assert "(not in the checklist, so ignored: devops_notifed_at)" in str(err)
    assert "devops_notifed_at" not in acks(dict(GOOD, devops_notifed_at="x"))
    with pytest.raises(InvalidInput, match="supabase_approval_acknowledgements must be a dict"):
        acks(["devops_notified_at"])


def test_headless_approval_and_acknowledgements_fail_together_in_one_line():
    checklist = acknowledgements.normalize_checklist(CHECKLIST)
    with pytest.raises(ApprovalRefused) as err:
        acknowledgements.check_headless_approval("apply_production", "production", "maria", "", "2025-10-19T02:05:00Z",
                                                 checklist=checklist, acknowledgements={"rollback_criteria_defined": True},
                                                 now=NOW)
    msg = str(err.value)
    assert "\n" not in msg
    assert "(missing: supabase_approval_ticket); acknowledgements missing or invalid too: devops_notified_at is missing" in msg
    assert err.value.result["missing"] == ["supabase_approval_ticket"]
    assert err.value.result["acknowledgements_missing"] == ["devops_notified_at", "incident_commander"]
    # approval fine, acknowledgements not: the acknowledgement message alone
    with pytest.raises(ApprovalRefused, match="^acknowledgements required for gate apply_production"):
        acknowledgements.check_headless_approval("apply_production", "production", "maria", "CHG-1", "2025-10-19T02:05:00Z",
                                                 checklist=checklist, acknowledgements={}, now=NOW)
    assert acknowledgements.check_headless_approval("apply_production", "production", "maria", "CHG-1", "2025-10-19T02:05:00Z",
                                                    checklist=checklist, acknowledgements=GOOD, now=NOW) == (
        "maria", "CHG-1", "2025-10-19T02:05:00Z", acks(GOOD))
    # no checklist: exactly the old behaviour
    with pytest.raises(ApprovalRefused) as err:
        acknowledgements.check_headless_approval("apply_production", "production", "", "", "", now=NOW)
    assert "acknowledgements" not in str(err.value)


@pytest.mark.parametrize("index, answer, value", [(0, "2025-10-18T01:00:00Z", "2025-10-18T01:00:00Z"),
                                                  (1, " Ana\r", "Ana"), (2, "YES", True)])
def test_interactive_answers_that_pass(index, answer, value):
    item = acknowledgements.normalize_checklist(CHECKLIST)[index]
    assert acknowledgements.check_acknowledgement_answer(item, answer, "apply_production", "production", now=NOW) == value


@pytest.mark.parametrize("index, answer, message", [
    (0, "", "devops_notified_at was not answered (DevOps notified 24 hours in advance)"),
    (0, "2025-10-19T01:00:00Z", "is 1.5 h before now; the runbook requires 24 h notice"),
    (1, "   ", "incident_commander was not answered"),
    (2, "y", "rollback_criteria_defined was answered 'y', only an explicit 'yes' confirms it"),
    (2, "true", "only an explicit 'yes' confirms it"),
])
def test_interactive_answers_that_refuse(index, answer, message):
    item = acknowledgements.normalize_checklist(CHECKLIST)[index]
    with pytest.raises(ApprovalRefused, match="^gate apply_production on production was not approved: ") as err:
        acknowledgements.check_acknowledgement_answer(item, answer, "apply_production", "production", now=NOW)
    assert message in str(err.value)


def test_prompt_lists_the_checklist_and_asks_each_question():
    checklist = acknowledgements.normalize_checklist(CHECKLIST)
    text = approval.prompt_text("apply_production", "production", ["db1"], [], None, checklist)
    assert "1. DevOps notified 24 hours in advance [devops_notified_at]" in text
    assert "3. Rollback decision criteria defined [rollback_criteria_defined]" in text
    assert acknowledgements.acknowledgement_prompt(checklist[0], 1, 3) == (
        "[1/3] DevOps notified 24 hours in advance (ISO 8601 UTC, YYYY-MM-DDTHH:MM:SSZ, at least 24 h ago): ")
    assert acknowledgements.acknowledgement_prompt(checklist[2], 3, 3) == "[3/3] Rollback decision criteria defined (type yes): "
    assert "checklist" not in approval.prompt_text("apply_production", "production", ["db1"], [])


def test_the_production_checklist_in_the_docs_is_valid_and_answerable():
    """docs/approvals.md's ready-to-paste list and its headless example answer fit together."""
    import os
    import re

    import yaml
    docs = os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs", "approvals.md")
    with open(docs) as handle:
        text = handle.read()
    block = re.search(r"```yaml\n(# Runbook .*?)```", text, re.S).group(1)
    items = yaml.safe_load(block)["supabase_playbook_apply_checklist"]
    # what the docs show is what the production inventory ships
    with open(os.path.join(os.path.dirname(docs), "..", "inventories", "production", "group_vars",
                           "production.yml")) as handle:
        assert yaml.safe_load(handle)["supabase_playbook_apply_checklist"] == items
    checklist = acknowledgements.normalize_checklist(items, gate="apply_production")
    assert [i["name"] for i in checklist] == ["devops_notified_at", "incident_commander", "monitoring_dashboards_open",
                                              "rollback_criteria_approved"]
    example = json.loads(re.search(r"-e '(\{\"supabase_approval_acknowledgements\".*?)'", text, re.S).group(1))
    answers = example["supabase_approval_acknowledgements"]
    now = datetime.datetime(2026, 11, 27, 1, 55, tzinfo=datetime.timezone.utc)
    assert acknowledgements.check_acknowledgements("apply_production", "production", checklist, answers, now=now)[
        "devops_notified_at"] == "2026-11-26T01:00:00Z"
