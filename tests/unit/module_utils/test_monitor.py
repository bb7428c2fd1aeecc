"""The watch's verdict without a database: the trigger on generated workloads through judge(), the success
criteria, the P95 estimate that is never judged, the summary."""
import json
import os
import sys

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import monitor, monitor_sampling, monitor_summary
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import MonitorOptions, Thresholds, judge
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor_sampling import interval_stats, p95_estimate
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import parse_probes, summarize_calls

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
import generated_workload  # noqa: E402

DEFAULTS = MonitorOptions()  # the production watch: 420 s, every 15 s, rate window 60 s, sustain 300 s


def checks_of(verdict):
    return dict((c["name"], c) for c in verdict["checks"])


def clean_samples(count=5, interval=1.0, **extra):
    out = []
    for index in range(count):
        sample = {"seq": index, "since_s": index * interval, "until_s": (index + 1) * interval, "warnings": [],
                  "error_rate": {"errors": 0, "total": 100, "rate": 0.0}, "probes": {}, "probe_p95_ms": None,
                  "pool": None, "database_connections": {"usage": 0.1}}
        sample.update(extra)
        out.append(sample)
    return out


# ------------------------------------------------------------------ the trigger, through judge(), on generated workloads

def test_defaults_leave_room_for_a_breach():
    assert DEFAULTS.window == 420 and DEFAULTS.thresholds.sustain == 300 and DEFAULTS.thresholds.rate_window == 60
    assert DEFAULTS.can_breach() and DEFAULTS.detection_delay() == 390 < DEFAULTS.window


@pytest.mark.parametrize("name, share, quiet, breached", [
    ("steady 2 %", lambda s: 0.02, None, True),
    ("2 % with one 15 s dip to 0.9 %", lambda s: 0.009 if 105 <= s < 120 else 0.02, None, True),
    ("a 30 s spike to 20 % on a clean watch", lambda s: 0.2 if 120 <= s < 150 else 0.0, None, False),
    ("a quiet minute inside 2 %", lambda s: 0.02, lambda s: 120 <= s < 180, True),
])
def test_generated_workloads_at_the_production_defaults(name, share, quiet, breached):
    samples = generated_workload.samples(share, quiet=quiet or (lambda s: False))
    verdict = judge(samples, DEFAULTS)
    assert verdict["breached"] is breached, name
    if breached:
        assert verdict["verdict"] == "rollback" and [t["kind"] for t in verdict["triggers"]] == ["error_rate"]
        assert verdict["triggers"][0]["source"] == "monitor"
        assert verdict["triggers"][0]["evidence"]["fired_at_s"] == 315
        assert verdict["reasons"][0].startswith("error rate above 1.00% over the trailing 60 s for 315 s (longer than 300 s)")
        assert checks_of(verdict)["error rate trigger"]["status"] == "fail"
    else:
        assert verdict["triggers"] == [] and verdict["verdict"] != "rollback"
        assert checks_of(verdict)["error rate trigger"]["status"] == "warn"  # it crossed, and reset
        # The spike still misses the 0.5 % success criterion over the watch: succeeded with warnings.
        assert [w["kind"] for w in verdict["run_warnings"] if w["reason"].startswith("error rate")] == ["success_criterion"]


def test_the_trigger_state_is_recorded_at_every_sample():
    samples = generated_workload.samples(lambda s: 0.02, watch=60)
    states = [monitor.trigger_state(samples[:i + 1], DEFAULTS.thresholds)["state"] for i in range(len(samples))]
    assert states == ["pending"] * len(samples)
    assert monitor.trigger_state(samples, DEFAULTS.thresholds)["rate"] == 0.02


def test_a_watch_too_short_to_breach_says_so():
    verdict = judge(clean_samples(), MonitorOptions(window=300, interval=15))
    assert checks_of(verdict)["watch"]["status"] == "warn"
    assert "cannot fire" in checks_of(verdict)["watch"]["detail"]
    assert any("cannot fire" in w["reason"] for w in verdict["run_warnings"])


def test_error_rate_trigger_left_out_of_breach_on_only_warns():
    samples = generated_workload.samples(lambda s: 0.05)
    verdict = judge(samples, MonitorOptions(breach_on=[]))
    assert not verdict["breached"] and verdict["verdict"] == "succeeded_with_warnings"
    assert checks_of(verdict)["error rate trigger"]["status"] == "warn"


# ------------------------------------------------------------------ success criteria: a verdict, never a rollback

def test_an_error_rate_between_target_and_trigger_is_a_missed_criterion():
    samples = generated_workload.samples(lambda s: 0.007)
    verdict = judge(samples, DEFAULTS)
    assert not verdict["breached"] and verdict["verdict"] == "succeeded_with_warnings"
    criterion = [c for c in verdict["criteria"] if c["name"] == "error rate"][0]
    assert criterion["met"] is False and criterion["measured"] == pytest.approx(0.007)
    assert checks_of(verdict)["error rate"]["status"] == "warn"
    assert verdict["run_warnings"][0]["kind"] == "success_criterion"


def probe_sample(index, latencies, errors=0):
    calls = [{"due": i, "latency_ms": v, "status": "ok", "error": None} for i, v in enumerate(latencies)]
    calls += [{"due": 0, "latency_ms": 1.0, "status": "error", "error": "function does not exist"}] * errors
    summary = summarize_calls(calls)
    sample = clean_samples(1, interval=15.0)[0]
    sample.update(seq=index, since_s=index * 15.0, until_s=(index + 1) * 15.0, probes={"tiles": summary},
                  probe_p95_ms=summary["p95_ms"])
    return sample


def probe_options(**kwargs):
    return MonitorOptions(probes=parse_probes([{"name": "tiles", "query": "SELECT 1"}], monitor.guard_query), **kwargs)


def test_probe_p95_over_budget_is_a_warning_not_a_trigger():
    samples = [probe_sample(i, [10.0] * 18 + [900.0, 950.0]) for i in range(30)]  # P95 = 900 ms in every interval
    verdict = judge(samples, probe_options())
    assert not verdict["breached"] and verdict["verdict"] == "succeeded_with_warnings"
    assert verdict["probes"]["tiles"]["p95_ms"] == 900.0 and verdict["probes"]["tiles"]["p50_ms"] == 10.0
    assert checks_of(verdict)["probe tiles P95"]["status"] == "warn"
    made_a_trigger = judge(samples, probe_options(breach_on=["error_rate", "p95"]))
    assert made_a_trigger["breached"] and [t["kind"] for t in made_a_trigger["triggers"]] == ["rpc_budget"]
    assert checks_of(made_a_trigger)["probe tiles P95"]["status"] == "fail"


def test_probe_p95_under_budget_and_probe_errors():
    verdict = judge([probe_sample(i, [10.0] * 20, errors=1 if i == 3 else 0) for i in range(30)], probe_options())
    assert checks_of(verdict)["probe tiles P95"]["status"] == "ok"
    assert [w["kind"] for w in verdict["run_warnings"]] == ["check_warning"]
    assert "function does not exist" in verdict["run_warnings"][0]["reason"]


def test_without_probes_p95_is_not_measured_and_says_so():
    verdict = judge(clean_samples(), MonitorOptions(window=0))
    assert checks_of(verdict)["probe P95"]["status"] == "warn"
    assert "no probes configured" in checks_of(verdict)["probe P95"]["detail"]


def test_pool_criterion_reads_the_pooler_and_clients_waiting_miss_it():
    pool = {"source": "pgbouncer", "usage": 0.5, "clients_waiting": 0, "max_wait_ms": 0.0}
    busy = dict(pool, usage=1.0, clients_waiting=4, max_wait_ms=1250.0)
    samples = clean_samples(3, pool=pool)
    samples[1]["pool"] = busy
    verdict = judge(samples, DEFAULTS)
    criterion = [c for c in verdict["criteria"] if c["name"].startswith("pool usage")][0]
    assert criterion["met"] is False and criterion["measured"] == 1.0
    assert "4 client(s) waited" in criterion["detail"] and "1250 ms" in criterion["detail"]
    assert checks_of(verdict)["database connections (of max_connections)"]["status"] == "ok"


def test_without_a_pooler_the_criterion_is_database_connections_named_as_such():
    samples = clean_samples(3, database_connections={"usage": 0.85})
    verdict = judge(samples, DEFAULTS)
    names = [c["name"] for c in verdict["criteria"]]
    assert "database connections (of max_connections)" in names and not [n for n in names if n.startswith("pool")]
    assert checks_of(verdict)["database connections (of max_connections)"]["status"] == "warn"


def test_a_healthy_watch_succeeds():
    samples = [probe_sample(i, [10.0] * 20) for i in range(30)]
    verdict = judge(samples, probe_options())
    assert verdict["verdict"] == "succeeded" and verdict["run_warnings"] == [] and not verdict["breached"]
    json.dumps(verdict)  # returned by the module


# ------------------------------------------------------------------ pg_stat_statements: an estimate, never judged

@pytest.mark.parametrize("latencies, estimate_ms, true_p95_ms", [
    ([10.0] * 99 + [5000.0], 877.0, 10.0),
    ([10.0] * 90 + [600.0] * 10, 360.0, 600.0),
])
def test_the_normal_p95_estimate_is_no_bound_either_way(latencies, estimate_ms, true_p95_ms):
    n = float(len(latencies))
    snapshot = {"calls": len(latencies), "total_ms": sum(latencies), "sumsq": sum(v * v for v in latencies)}
    stats = interval_stats(None, snapshot)
    assert stats["p95_estimate_ms"] == pytest.approx(estimate_ms, abs=1.0)
    assert stats["mean_ms"] == pytest.approx(sum(latencies) / n)
    from ansible_collections.hotdash.supabase.plugins.module_utils.probes import percentile
    assert percentile(latencies, 95) == true_p95_ms


def test_interval_stats_uses_only_the_calls_in_between():
    before = {"calls": 10, "total_ms": 100.0, "sumsq": 10 * 100.0}
    after = {"calls": 20, "total_ms": 400.0, "sumsq": 10 * 100.0 + 10 * 900.0}
    stats = interval_stats(before, after)
    assert stats["calls"] == 10 and stats["total_ms"] == 300.0
    assert stats["mean_ms"] == pytest.approx(30.0) and stats["stddev_ms"] == pytest.approx(0.0, abs=1e-6)
    assert interval_stats(after, dict(after)) is None
    assert interval_stats(after, {"calls": 2, "total_ms": 4.0, "sumsq": 8.0})["calls"] == 2  # reset counters
    assert p95_estimate(100.0, 10.0) == pytest.approx(116.45)


def test_error_rate_without_rows_is_unknown_not_zero():
    assert monitor_sampling.error_rate(0, 0) is None
    assert monitor_sampling.error_rate(1, 200) == pytest.approx(0.005)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(error_rate_rollback=1.5), "error_rate_rollback must be a fraction between 0 and 1"),
    (dict(error_rate_warn=0.02, error_rate_rollback=0.01), "must not exceed error_rate_rollback"),
    (dict(sustain=-1), "sustain must be >= 0"),
    (dict(p95_budget_ms=0), "p95_budget > 0"),
    (dict(rate_window=0), "rate_window > 0"),
    (dict(pool_usage_max=80), "pool_usage_max must be a fraction"),
])
def test_bad_thresholds_are_one_line_errors(kwargs, fragment):
    with pytest.raises(InvalidInput) as info:
        Thresholds(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(window=-1), "window must be >= 0"),
    (dict(interval=0), "interval must be > 0"),
    (dict(breach_on=["latency"]), "breach_on has unknown metric(s) latency"),
    (dict(breach_on=["connections"]), "pool usage is a success criterion, never a trigger"),
    (dict(error_rate_query="SELECT 1; SELECT 2"), "error_rate_query: PostgreSQL reads 2 statements here"),
    (dict(errors_per_minute_query="DELETE FROM public.observability_logs"), "errors_per_minute_query: DELETE is refused"),
    (dict(top_n=0), "top_n"),
    (dict(error_rate_query="  ;"), "error_rate_query is empty"),
])
def test_bad_options_are_one_line_errors(kwargs, fragment):
    with pytest.raises(InvalidInput) as info:
        MonitorOptions(**kwargs)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_query_text_masks_passwords_and_is_bounded():
    text = monitor_sampling.clean_query_text("ALTER ROLE app PASSWORD 'hunter2secret'\n  -- x", secrets=())
    assert "hunter2secret" not in text and "hidden" in text and "\n" not in text
    assert len(monitor_sampling.clean_query_text("SELECT " + "x, " * 500)) == monitor_sampling.QUERY_TEXT_LIMIT
    assert "s3cr3t" not in monitor_sampling.clean_query_text("SELECT 's3cr3t'", secrets=["s3cr3t"])


def test_sqlstate_reason_degrades_only_missing_sources():
    class Err(Exception):
        pgcode = "42P01"
    assert monitor_sampling.sqlstate_reason(Err('relation "public.observability_logs" does not exist\nLINE 1'))[0]
    Err.pgcode = "42601"  # syntax error: the user's query is wrong, fail
    degrade, line = monitor_sampling.sqlstate_reason(Err("syntax error at or near \"SELEC\"\nLINE 1: SELEC"))
    assert not degrade and "\n" not in line


def test_samples_file_is_read_back_and_a_torn_line_ignored(tmp_path):
    path = tmp_path / "h" / "monitor.jsonl"
    log = monitor_sampling.SampleLog(str(path), secrets=["pw123"])
    log.append({"seq": 0, "note": "pw123"})
    log.append({"seq": 1})
    log.close()
    with open(str(path), "a") as handle:
        handle.write('{"seq": 2, "trunc')
    samples = monitor_sampling.read_samples(str(path))
    assert [s["seq"] for s in samples] == [0, 1]
    assert "pw123" not in path.read_text()


def test_samples_file_in_an_unwritable_place_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InvalidInput) as info:
        monitor_sampling.SampleLog(str(blocker / "monitor.jsonl"))
    assert "cannot write the samples file" in str(info.value)


def test_summary_names_the_verdict_criteria_probes_and_the_estimate():
    samples = [probe_sample(i, [10.0] * 18 + [900.0, 950.0]) for i in range(30)]
    options = probe_options()
    statement = {"queryid": "1", "query": "SELECT get_revenue_metrics($1, $2)", "calls": 12, "mean_ms": 600.0,
                 "total_ms": 7200.0, "stddev_ms": 20.0, "p95_estimate_ms": 632.9}
    outcome = {"samples": samples, "tables": [{"schema": "public", "table": "facts", "bytes": 8192, "size": "8192 bytes"}],
               "history_tail": [{"version": "20251019090000", "name": "tiles"}], "warnings": ["statements: missing"],
               "statements": {"by_mean": [statement], "by_total": [statement]},
               "errors_per_minute": [{"minute": "2025-10-19T02:14:00+00:00", "errors": 3}],
               "judgement": judge(samples, options)}
    text = monitor_summary.summary_markdown("Monitor db1", outcome, options, chart_file="/x/monitor.png")
    assert "- **verdict**: succeeded with warnings" in text and "![monitor chart](monitor.png)" in text
    assert "**warning**: probe tiles P95 < 500 ms missed" in text
    assert "| probe tiles P95 | < 500 ms | 900.0 ms | **no** |" in text
    assert "by mean time" in text and "by total time" in text and "P95 estimate ms*" in text
    assert "never judged" in text and "Query 2" in text and "| 2025-10-19T02:14:00+00:00 | 3 |" in text
    assert "public.facts" in text and "20251019090000 tiles" in text and "**note**: statements: missing" in text
    assert monitor.window_peaks(samples)["probe_p95_ms"] == 900.0
