"""Unit tests of the approval gate decision (no database, no Ansible)."""
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import approval
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

NOW = datetime.datetime(2025, 10, 19, 2, 30, tzinfo=datetime.timezone.utc)


def headless(approver="maria", ticket="CHG-1", at="2025-10-19T02:05:00Z", max_age=24, now=NOW):
    return approval.check_headless("apply_production", "production", approver, ticket, at, max_age, now=now)


def test_headless_approval_is_normalized_to_utc():
    assert headless(at="2025-10-19T04:05:00+02:00") == ("maria", "CHG-1", "2025-10-19T02:05:00Z")
    assert headless(at="2025-10-19 02:05:00") == ("maria", "CHG-1", "2025-10-19T02:05:00Z")


@pytest.mark.parametrize("missing", ["approver", "ticket", "at"])
def test_headless_without_every_variable_names_the_variables(missing):
    kwargs = {missing: ""}
    with pytest.raises(approval.ApprovalRefused) as err:
        headless(**kwargs)
    msg = str(err.value)
    assert "\n" not in msg
    for name in approval.HEADLESS_VARIABLES:
        assert name in msg
    assert "missing: supabase_approval_%s" % ("at" if missing == "at" else missing) in msg


def test_headless_refuses_stale_and_future_timestamps():
    with pytest.raises(approval.ApprovalRefused, match=r"is 30\.4 hours old.*max_age_hours=24"):
        headless(at="2025-10-17T20:05:00Z")
    with pytest.raises(approval.ApprovalRefused, match="in the future"):
        headless(at="2025-10-19T03:00:00Z")
    # a configured longer window accepts the same approval; one minute of clock skew is tolerated
    assert headless(at="2025-10-17T20:05:00Z", max_age=48)[2] == "2025-10-17T20:05:00Z"
    assert headless(at="2025-10-19T02:30:30Z")[2] == "2025-10-19T02:30:30Z"


@pytest.mark.parametrize("approver, ticket, expected", [
    (["maria"], "CHG-1", ["supabase_approval_approver must be text, got a list"]),
    ({"name": "maria"}, "CHG-1", ["supabase_approval_approver must be text, got a dict"]),
    ("maria", u"\u200b", ["supabase_approval_ticket contains the invisible or control character U+200B"]),
    (["maria"], u"\u200b", ["supabase_approval_approver must be text, got a list",
                            "supabase_approval_ticket contains the invisible or control character U+200B"]),
])
def test_headless_names_every_unusable_approver_and_ticket_in_one_line(approver, ticket, expected):
    with pytest.raises(approval.ApprovalRefused) as err:
        headless(approver=approver, ticket=ticket)
    msg = str(err.value)
    assert msg.startswith("gate apply_production on production was not approved: ") and "\n" not in msg
    assert all(phrase in msg for phrase in expected)


def test_headless_rejects_garbage_timestamp_and_age():
    with pytest.raises(InvalidInput, match="not an ISO 8601 timestamp"):
        headless(at="yesterday")
    with pytest.raises(InvalidInput, match="must be positive"):
        headless(max_age=0)


@pytest.mark.parametrize("answer", ["", "   ", "no", "y", "YES please", b"n", None])
def test_only_an_explicit_yes_approves(answer):
    with pytest.raises(approval.ApprovalRefused, match="only an explicit 'yes' approves"):
        approval.check_answer(answer, "apply_production", "production")


@pytest.mark.parametrize("answer", ["yes", " YES ", b"yes\r"])
def test_yes_approves(answer):
    assert approval.check_answer(answer, "apply_production", "production")


def test_waiver_needs_reason_and_is_refused_for_production():
    assert approval.check_waiver("drift_resolution", "staging", " demo database ") == "demo database"
    with pytest.raises(approval.ApprovalRefused, match="needs supabase_approval_waiver_reason"):
        approval.check_waiver("drift_resolution", "staging", "")
    with pytest.raises(approval.ApprovalRefused, match="not allowed for gate apply_production"):
        approval.check_waiver("apply_production", "staging", "because")
    with pytest.raises(approval.ApprovalRefused, match="not allowed for gate drift_resolution on production"):
        approval.check_waiver("drift_resolution", "production", "because")
    with pytest.raises(approval.ApprovalRefused):
        approval.check_waiver("apply_staging", "eu-prod", "because", protected_environments=["eu-prod"])


def test_automation_markers():
    assert approval.automation_marker({}) is None
    assert approval.automation_marker({"CI": "false", "HOME": "/root"}) is None
    assert approval.automation_marker({"AWX_ISOLATED_DATA_DIR": "/runner/artifacts/1"}) == "AWX_ISOLATED_DATA_DIR"
    assert approval.automation_marker({"CI": "true"}) == "CI"


def test_gate_and_mode_are_validated():
    with pytest.raises(InvalidInput, match="unknown approval gate 'apply_prod'"):
        approval.validate_gate("apply_prod", "auto")
    with pytest.raises(InvalidInput, match="supabase_approval_mode 'yes'"):
        approval.validate_gate("apply_production", "yes")


def test_prompt_shows_gate_environment_hosts_versions_and_summary():
    text = approval.prompt_text("production_rollback", "production", ["prod-eu", "prod-us"],
                                ["20251015000100"], "Roll back the tile queries\nPITR not needed")
    assert "APPROVAL REQUIRED: production_rollback" in text
    assert "prod-eu, prod-us" in text and "20251015000100" in text
    assert "| Roll back the tile queries" in text and "| PITR not needed" in text
    many = approval.prompt_text("apply_production", "production", ["h%d" % i for i in range(25)], [])
    assert "(+5 more)" in many and "(none)" in many


def test_the_approval_check_says_who_when_and_how():
    from ansible_collections.hotdash.supabase.plugins.module_utils.audit import build_record
    record = build_record("apply_production", "production", "maria", "2025-10-19T02:05:00Z", "headless",
                          ticket="CHG-1")
    check = approval.approval_check(record)
    assert (check["name"], check["status"]) == ("approval apply_production", "ok")
    assert check["detail"] == "headless by maria at 2025-10-19T02:05:00Z, ticket CHG-1"
    waiver = approval.approval_check(build_record("apply_staging", "staging", "ana", "2025-10-19T02:05:00Z", "waiver",
                                                  reason="hotfix"))
    assert waiver["status"] == "waived" and waiver["detail"].endswith(", reason: hotfix")
