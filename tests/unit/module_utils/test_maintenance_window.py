import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import maintenance_window as window
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

UTC = datetime.timezone.utc


def at(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


@pytest.mark.parametrize("now,inside", [("2026-11-26 01:59", False), ("2026-11-26 02:00", True),
                                        ("2026-11-26 03:59", True), ("2026-11-26 04:00", False)])
def test_default_production_window_bounds(now, inside):
    status = window.evaluate(["02:00-04:00"], at(now))[0]
    assert status == ("ok" if inside else "fail")


def test_wraparound_window_with_days():
    spec = [{"start": "22:00", "end": "02:00", "days": ["Friday"]}]
    assert window.evaluate(spec, at("2026-11-27 23:00"))[0] == "ok"      # Friday evening
    assert window.evaluate(spec, at("2026-11-28 01:30"))[0] == "ok"      # Saturday morning, started Friday
    assert window.evaluate(spec, at("2026-11-28 23:00"))[0] == "fail"    # Saturday evening


def test_next_start_and_override():
    status, detail, remedy, data = window.evaluate(["02:00-04:00"], at("2026-11-26 12:00"))
    assert data["next_window_start"] == "2026-11-27T02:00:00Z" and "override_reason" in remedy
    status, detail, remedy, data = window.evaluate(["02:00-04:00"], at("2026-11-26 12:00"), override_reason="CHG-1")
    assert status == "waived" and detail.endswith("(overridden: CHG-1)") and data["override_reason"] == "CHG-1"


def test_no_window_is_ok():
    assert window.evaluate([], at("2026-11-26 12:00"))[0] == "ok"


@pytest.mark.parametrize("spec", ["2-4", "02:00-02:00", "24:00-01:00", {"start": "01:00"},
                                  {"start": "01:00", "end": "02:00", "days": ["someday"]}])
def test_bad_windows(spec):
    with pytest.raises(InvalidInput):
        window.parse_window(spec)


def test_parse_now():
    assert window.parse_now("2026-11-26T02:30:00Z") == at("2026-11-26 02:30")
    assert window.parse_now("") is None
