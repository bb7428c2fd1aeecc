"""Approver and ticket as printable text, the approval statement, ages (no database)."""
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence as evidence
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

NOW = datetime.datetime(2026, 11, 30, 2, 30, tzinfo=datetime.timezone.utc)
DIGEST = "sha256:" + "ab" * 32
PLAN = {"digest": DIGEST, "database": "7301234567890123456/hotdash", "host": "hotdash_production",
        "versions": ["20251019090000"]}


@pytest.mark.parametrize("value, kind", [
    (["maria"], "a list"), ({"name": "maria"}, "a dict"), (1042, "a int"), (True, "a boolean"), (None, "nothing")])
def test_only_a_string_is_an_approver(value, kind):
    with pytest.raises(InvalidInput) as err:
        evidence.printable_text(value, "supabase_approval_approver")
    assert str(err.value).startswith("supabase_approval_approver must be text, got %s" % kind)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value, expected", [
    ("", "empty or only whitespace"), ("   \t ", "empty or only whitespace"),
    ("\u200b", "U+200B"), ("CHG-\u200b1042", "U+200B"), ("CHG\u202e1042", "U+202E"), ("CHG\u00a01042", "U+00A0"),
    ("CHG\t1042", "U+0009"), ("maria\n", None), ("['maria']", "list or dict written out"),
    ("{'name': 'maria'}", "list or dict written out"), ("--", "no letter or digit"), ("x" * 201, "at most 200")])
def test_blank_invisible_and_control_characters_are_refused(value, expected):
    if expected is None:
        assert evidence.printable_text(value, "ticket") == "maria"
        return
    with pytest.raises(InvalidInput) as err:
        evidence.printable_text(value, "ticket")
    assert expected in str(err.value)


def test_printable_text_is_normalised():
    assert evidence.printable_text("  Jose\u0301 Lima ", "approver") == "Jos\u00e9 Lima"
    assert evidence.printable_text("CHG-1042", "ticket") == "CHG-1042"


def test_statement_round_trip_and_what_it_refuses():
    text = evidence.build_statement("apply_production", "production", "maria@hotdash.example", "CHG-1042",
                                    "2026-11-30T03:05:00+01:00", [PLAN])
    assert text.splitlines()[0] == evidence.STATEMENT_HEADER
    assert "plan: %s database=7301234567890123456/hotdash host=hotdash_production versions=20251019090000" % DIGEST \
        in text
    parsed = evidence.parse_statement(text)
    assert parsed == {"gate": "apply_production", "environment": "production", "approver": "maria@hotdash.example",
                      "ticket": "CHG-1042", "approved_at": "2026-11-30T02:05:00Z", "window_override": None,
                      "plans": [DIGEST]}
    for broken, message in [
        (text.replace(evidence.STATEMENT_HEADER, "approval"), "must start with"),
        (text + "reviewer: bob\n", "unknown key 'reviewer'"),
        (text + "ticket: CHG-2\n", "repeats ticket"),
        (text.replace("ticket: CHG-1042\n", ""), "lacks ticket"),
        ("\n".join(line for line in text.splitlines() if not line.startswith("plan:")), "names no plan"),
        (text.replace(DIGEST, "sha256:1234"), "is not a plan digest"),
        (text.replace("CHG-1042", "\u200b"), "U+200B"),
    ]:
        with pytest.raises(InvalidInput) as err:
            evidence.parse_statement(broken)
        assert message in str(err.value)
    with pytest.raises(InvalidInput):
        evidence.build_statement("apply_production", "production", ["maria"], "CHG-1", NOW, [PLAN])


def test_age_is_judged_against_the_given_clock():
    assert evidence.check_age(NOW - datetime.timedelta(hours=23), NOW, 86400) is None
    old = evidence.check_age(NOW - datetime.timedelta(hours=25), NOW, 86400, "approval #3")
    assert old == "approval #3 given at 2026-11-29T01:30:00Z is 25.0 h old; the policy accepts at most 24.0 h"
    assert "in the future" in evidence.check_age(NOW + datetime.timedelta(minutes=5), NOW, 86400)
    assert evidence.check_age(NOW + datetime.timedelta(seconds=30), NOW, 86400) is None


def test_same_person_ignores_case_and_the_domain():
    assert evidence.same_person("Maria@hotdash.example", "maria")
    assert not evidence.same_person("ana@hotdash.example", "maria")
    assert not evidence.same_person("", "")
