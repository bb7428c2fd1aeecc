"""The rollback trigger (trailing rate + hold time) against generated workloads, at the production defaults:
a 420 s watch sampled every 15 s, rate window 60 s, sustain 300 s, limit 1 %."""
import os
import sys

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import alert_rule

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
import generated_workload  # noqa: E402

WATCH, INTERVAL, RATE_WINDOW, SUSTAIN, LIMIT = 420, 15, 60, 300, 0.01


def workload(error_share, quiet=lambda second: False):
    return generated_workload.intervals(error_share, WATCH, INTERVAL, quiet)


def evaluate(intervals):
    return alert_rule.evaluate_error_rate(intervals, LIMIT, SUSTAIN, RATE_WINDOW)


def steady(share):
    return lambda second: share


def test_a_steady_two_percent_breaches_within_the_documented_delay():
    result = evaluate(workload(steady(0.02)))
    assert result["breached"] is True
    assert result["fired_at"] == 315  # pending at the first sample, fires at the first sample more than 300 s later
    assert result["states"][0] == alert_rule.PENDING and result["states"][-1] == alert_rule.FIRING


def test_two_percent_with_one_fifteen_second_dip_to_0_9_percent_breaches():
    def dip(second):
        return 0.009 if 105 <= second < 120 else 0.02

    intervals = workload(dip)
    # One whole interval sits at 0.9 %: a rule on single samples would restart its clock there.
    assert [round(float(e) / t, 4) for (s, u, e, t) in intervals if s == 105] == [0.009]
    result = evaluate(intervals)
    assert result["breached"] is True and result["fired_at"] == 315
    assert len(result["episodes"]) == 1


def test_a_dip_that_is_not_aligned_with_the_samples_breaches_too():
    result = evaluate(workload(lambda second: 0.009 if 107 <= second < 122 else 0.02))
    assert result["breached"] is True


def test_a_thirty_second_spike_to_twenty_percent_on_a_clean_watch_does_not_breach():
    result = evaluate(workload(lambda second: 0.2 if 120 <= second < 150 else 0.0))
    assert result["breached"] is False and result["fired_at"] is None
    episode, = result["episodes"]
    assert episode["fired"] is False and episode["peak"] > 0.05
    assert episode["duration"] < SUSTAIN and episode["end"] is not None
    assert alert_rule.FIRING not in result["states"]


def test_a_quiet_minute_inside_a_two_percent_stretch_does_not_reset_it():
    def quiet(second):
        return 120 <= second < 180

    intervals = workload(steady(0.02), quiet=quiet)
    assert [t for (s, u, e, t) in intervals if 120 <= s < 180] == [0, 0, 0, 0]
    result = evaluate(intervals)
    assert result["breached"] is True
    assert result["fired_at"] == evaluate(workload(steady(0.02)))["fired_at"]
    quiet_evaluation = [r for r in result["trailing"] if r["at"] == 180][0]
    assert quiet_evaluation["rate"] is None and quiet_evaluation["total"] == 0
    assert len(result["episodes"]) == 1


def test_a_clean_minute_inside_a_two_percent_stretch_does_reset_it():
    result = evaluate(workload(lambda second: 0.0 if 120 <= second < 180 else 0.02))
    assert result["breached"] is False
    assert len(result["episodes"]) == 2 and all(not e["fired"] for e in result["episodes"])


def test_errors_that_start_a_minute_into_the_default_watch_are_still_caught():
    start = 60
    result = evaluate(workload(lambda second: 0.02 if second >= start else 0.0))
    assert result["breached"] is True
    assert result["fired_at"] - start <= alert_rule.detection_delay(SUSTAIN, RATE_WINDOW, INTERVAL, LIMIT, 0.02)
    assert result["fired_at"] <= WATCH
    assert alert_rule.can_breach(WATCH, SUSTAIN, RATE_WINDOW)


def test_exactly_at_the_limit_never_breaches():
    assert evaluate(workload(steady(0.01)))["breached"] is False


def test_no_traffic_at_all_has_no_rate_and_never_breaches():
    result = evaluate(workload(steady(0.5), quiet=lambda second: True))
    assert result["breached"] is False and set(result["states"]) == {alert_rule.INACTIVE}
    assert all(r["rate"] is None for r in result["trailing"])


def test_trailing_rate_sums_counts_over_the_window_instead_of_averaging_rates():
    intervals = [(0, 15, 10, 100), (15, 30, 0, 900), (30, 45, 0, 0), (45, 60, 0, 0), (60, 75, 0, 0)]
    rates = alert_rule.trailing_rates(intervals, 60)
    assert [r["rate"] for r in rates][:2] == [0.1, 0.01]  # 10 / 1000, not (10 % + 0 %) / 2
    assert rates[3]["total"] == 1000 and rates[4] == {"at": 75, "errors": 0, "total": 900, "rate": 0.0}


@pytest.mark.parametrize("sustain, fired_at", [(0, 0), (10, 15), (15, 30)])
def test_hold_time_is_longer_than_sustain(sustain, fired_at):
    evaluations = [(0, 0.05), (15, 0.05), (30, 0.05)]
    assert alert_rule.evaluate_hold(evaluations, LIMIT, sustain)["fired_at"] == fired_at


def test_detection_delay_bounds():
    assert alert_rule.detection_delay(300, 60, 15, 0.01, 0.02) == 360
    assert alert_rule.detection_delay(300, 60, 15) == 390
    assert not alert_rule.can_breach(300, 300, 60) and alert_rule.can_breach(420, 300, 60)
    with pytest.raises(ValueError):
        alert_rule.trailing_rates([(0, 1, 0, 1)], 0)
