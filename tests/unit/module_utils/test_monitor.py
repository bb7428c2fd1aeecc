"""Watch-window logic without a database: P95 estimate, interval statistics, the sustained-breach rule."""
import json
import math

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import monitor
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import (
    MonitorOptions,
    Thresholds,
    crossing_runs,
    evaluate_sustained,
    interval_stats,
    judge,
    p95_estimate,
)


def sample(seq, rate=None, p95=None, usage=0.1, interval=1.0, warnings=()):
    return {"seq": seq, "since_s": seq * interval, "until_s": (seq + 1) * interval,
            "error_rate": None if rate is None else {"errors": 0, "total": 1, "rate": rate},
            "connections": {"usage": usage}, "slowest_p95_ms": p95, "warnings": list(warnings),
            "statements": [], "slow_statements": []}


def test_p95_is_mean_plus_1645_stddev():
    assert p95_estimate(100.0, 10.0) == pytest.approx(116.45)
    assert p95_estimate(None, None) == 0.0


def test_interval_stats_uses_only_the_calls_in_between():
    # 10 calls of 10 ms, then 10 calls of 30 ms: the interval's mean is 30, its stddev 0.
    before = {"calls": 10, "total_ms": 100.0, "sumsq": 10 * 100.0}
    after = {"calls": 20, "total_ms": 400.0, "sumsq": 10 * 100.0 + 10 * 900.0}
    stats = interval_stats(before, after)
    assert stats["calls"] == 10
    assert stats["mean_ms"] == pytest.approx(30.0)
    assert stats["stddev_ms"] == pytest.approx(0.0, abs=1e-6)
    assert stats["p95_ms"] == pytest.approx(30.0)


def test_interval_stats_mixed_calls_have_a_spread():
    after = {"calls": 2, "total_ms": 40.0, "sumsq": 10.0 ** 2 + 30.0 ** 2}
    stats = interval_stats(None, after)
    assert stats["mean_ms"] == pytest.approx(20.0)
    assert stats["stddev_ms"] == pytest.approx(10.0)


def test_interval_stats_no_new_calls_and_reset_counters():
    snap = {"calls": 5, "total_ms": 50.0, "sumsq": 500.0}
    assert interval_stats(snap, dict(snap)) is None
    reset = {"calls": 2, "total_ms": 4.0, "sumsq": 8.0}
    assert interval_stats(snap, reset)["calls"] == 2  # counters were reset: the new values stand alone


def test_error_rate_without_rows_is_unknown_not_zero():
    assert monitor.error_rate(0, 0) is None
    assert monitor.error_rate(1, 200) == pytest.approx(0.005)


def test_a_brief_crossing_is_not_a_breach():
    points = [(0, 1, 0.0), (1, 2, 0.05), (2, 3, 0.0), (3, 4, 0.0)]
    verdict = evaluate_sustained(points, 0.01, 2.0)
    assert verdict["crossed"] and not verdict["breached"]
    assert verdict["longest"]["duration"] == 1


def test_a_crossing_longer_than_sustain_is_a_breach():
    points = [(0, 1, 0.0), (1, 2, 0.05), (2, 3, 0.02), (3, 4, 0.03), (4, 5, 0.0)]
    verdict = evaluate_sustained(points, 0.01, 2.0)
    assert verdict["breached"]
    assert verdict["longest"] == {"start": 1, "end": 4, "duration": 3, "peak": 0.05, "samples": 3}


def test_exactly_sustain_is_not_longer_than_sustain():
    assert not evaluate_sustained([(0, 2, 0.5)], 0.01, 2.0)["breached"]
    assert evaluate_sustained([(0, 2, 0.5)], 0.01, 1.99)["breached"]


def test_a_gap_without_data_ends_a_run():
    runs = crossing_runs([(0, 1, 0.5), (1, 2, None), (2, 3, 0.5)], 0.01)
    assert [(r["start"], r["end"]) for r in runs] == [(0, 1), (2, 3)]


def test_at_the_limit_is_not_above_it():
    assert crossing_runs([(0, 10, 0.01)], 0.01) == []


def test_judge_breaches_only_on_configured_metrics():
    samples = [sample(i, rate=0.0, p95=900.0) for i in range(5)]
    options = MonitorOptions(window=4, interval=1, thresholds=Thresholds(sustain=2))
    verdict = judge(samples, options)
    assert not verdict["breached"]
    checks = dict((c["name"], c) for c in verdict["checks"])
    assert checks["slowest statement P95"]["status"] == "warn"  # sustained, but p95 is not in breach_on
    options = MonitorOptions(window=4, interval=1, thresholds=Thresholds(sustain=2), breach_on=["error_rate", "p95"])
    verdict = judge(samples, options)
    assert verdict["breached"]
    assert verdict["reasons"] == ["slowest statement P95 above 500.0 ms for 5 s (longer than 2 s): peak 900.0 ms"]


def test_judge_error_rate_reason_and_statuses():
    samples = [sample(0, rate=0.0), sample(1, rate=0.02), sample(2, rate=0.03), sample(3, rate=0.04)]
    verdict = judge(samples, MonitorOptions(window=3, interval=1, thresholds=Thresholds(sustain=2)))
    assert verdict["breached"]
    assert verdict["reasons"][0].startswith("error rate above 1.00% for 3 s (longer than 2 s): peak 4.00%")
    checks = dict((c["name"], c) for c in verdict["checks"])
    assert checks["error rate"]["status"] == "fail"
    assert checks["error rate"]["remedy"]
    assert checks["connection usage"]["status"] == "ok"


def test_judge_warns_between_target_and_trigger():
    samples = [sample(0, rate=0.007), sample(1, rate=0.006)]
    checks = dict((c["name"], c) for c in judge(samples, MonitorOptions(window=1, interval=1))["checks"])
    assert checks["error rate"]["status"] == "warn"
    assert "below the rollback trigger" in checks["error rate"]["detail"]


def test_judge_unmeasured_metric_is_a_warning_with_the_reason():
    samples = [sample(0, rate=None, warnings=["p95: pg_stat_statements is not installed in this database"])]
    checks = dict((c["name"], c) for c in judge(samples, MonitorOptions(window=0, interval=1))["checks"])
    assert checks["slowest statement P95"]["status"] == "warn"
    assert "pg_stat_statements is not installed" in checks["slowest statement P95"]["detail"]
    assert checks["error rate"]["status"] == "warn"


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(error_rate_rollback=1.5), "error_rate_rollback must be a fraction between 0 and 1"),
    (dict(error_rate_warn=0.02, error_rate_rollback=0.01), "must not exceed error_rate_rollback"),
    (dict(sustain=-1), "sustain must be >= 0"),
    (dict(p95_budget_ms=0), "p95_budget_ms > 0"),
])
def test_bad_thresholds_are_one_line_errors(kwargs, fragment):
    with pytest.raises(InvalidInput) as info:
        Thresholds(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(window=-1), "window must be >= 0"),
    (dict(interval=0), "interval must be > 0"),
    (dict(breach_on=["latency"]), "breach_on has unknown metric(s) latency"),
    (dict(top_n=0), "top_n"),
    (dict(error_rate_query="  ;"), "error_rate_query is empty"),
])
def test_bad_options_are_one_line_errors(kwargs, fragment):
    with pytest.raises(InvalidInput) as info:
        MonitorOptions(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_query_text_masks_passwords_and_is_bounded():
    text = monitor.clean_query_text("ALTER ROLE app PASSWORD 'hunter2secret'\n  -- x", secrets=())
    assert "hunter2secret" not in text and "PASSWORD '********'" in text and "\n" not in text
    assert len(monitor.clean_query_text("SELECT " + "x, " * 500)) == monitor.QUERY_TEXT_LIMIT
    assert "s3cr3t" not in monitor.clean_query_text("SELECT 's3cr3t'", secrets=["s3cr3t"])


def test_sqlstate_reason_degrades_only_missing_sources():
    class Err(Exception):
        pgcode = "42P01"
    assert monitor.sqlstate_reason(Err('relation "public.observability_logs" does not exist\nLINE 1'))[0]
    Err.pgcode = "42601"  # syntax error: the user's query is wrong, fail
    degrade, line = monitor.sqlstate_reason(Err("syntax error at or near \"SELEC\"\nLINE 1: SELEC"))
    assert not degrade and "\n" not in line


def test_samples_file_is_read_back_and_a_torn_line_ignored(tmp_path):
    path = tmp_path / "h" / "monitor.jsonl"
    log = monitor.SampleLog(str(path), secrets=["pw123"])
    log.append({"seq": 0, "note": "pw123"})
    log.append({"seq": 1})
    log.close()
    with open(str(path), "a") as handle:
        handle.write('{"seq": 2, "trunc')
    samples = monitor.read_samples(str(path))
    assert [s["seq"] for s in samples] == [0, 1]
    assert "pw123" not in path.read_text()


def test_samples_file_in_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInput) as info:
        monitor.SampleLog(str(blocker / "monitor.jsonl"))
    assert "cannot write the samples file" in str(info.value)


def test_summary_lists_verdict_reasons_and_slow_statements():
    slow = {"queryid": "1", "query": "SELECT get_revenue_metrics($1, $2)", "calls": 12, "mean_ms": 600.0,
            "stddev_ms": 20.0, "p95_ms": 632.9}
    samples = [sample(i, rate=0.5) for i in range(4)]
    samples[1]["slow_statements"] = [slow]
    options = MonitorOptions(window=3, interval=1, thresholds=Thresholds(sustain=1))
    outcome = {"samples": samples, "tables": [{"schema": "public", "table": "facts", "bytes": 8192, "size": "8192 bytes"}],
               "history_tail": [{"version": "20251019090000", "name": "tiles"}], "warnings": ["p95: missing"],
               "judgement": judge(samples, options)}
    text = monitor.summary_markdown("Monitor db1", outcome, options, chart_file="/x/monitor.png")
    assert "BREACHED" in text and "![monitor chart](monitor.png)" in text
    assert "get_revenue_metrics" in text and "public.facts" in text and "20251019090000 tiles" in text
    assert "**warning**: p95: missing" in text
    assert monitor.slow_statements(samples) == [slow]
    assert monitor.window_peaks(samples)["error_rate"] == 0.5
    json.dumps(outcome["judgement"])  # the verdict is JSON-serialisable (returned by the module)
    assert not math.isnan(monitor.window_peaks(samples)["connections"])
