# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The post-apply watch: measure what the runbook means, decide whether the rollback trigger fired.

One watch is a loop of samples taken every ``interval`` seconds for ``window`` seconds (0 = one sample). While it
runs, the configured probes (probes.py) call the dashboard's RPCs and queries at a fixed rate. Each sample holds:

- the application error rate of its interval (``error_rate_query``: by default the runbook's ``observability_logs``
  rows with ``level = 'ERROR'`` over all rows) and the **rollback trigger** evaluated at that sample
  (alert_rule.py: errors / total over the trailing ``rate_window``, above ``error_rate_rollback`` for longer than
  ``sustain``; a sample without traffic keeps the state);
- every probe latency of the interval with its exact P50/P95/P99;
- the pool: the pooler's own numbers when one is configured (pooler.py: PgBouncer's admin console or
  Supavisor's metrics), and always the database connections (``pg_stat_activity`` client backends over
  ``max_connections``, named as what they are).

Samples are appended to a JSON-lines file as they are taken (``tail -f`` works; a crash keeps what was seen).
After the watch: the top statements of ``pg_stat_statements`` during the watch by mean and by total time (their
``mean + 1.645 sd`` P95 is labelled an estimate and never judged), the runbook's Query 2 (errors per minute),
the largest tables and the newest history rows.

:func:`judge` turns the samples into the verdict, with triggers.py's vocabulary: a trigger (the sustained error
rate; probe P95 only when ``breach_on`` asks for it) rolls back; a missed success criterion (error rate over
the watch >= 0.5 %, a probe's P95 >= its budget, pool usage >= 80 % or clients waiting) is a warning, so the
run "succeeded with warnings".
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.hotdash.supabase.plugins.module_utils import alert_rule
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor_sampling import Sampler, SampleLog, error_rate
from ansible_collections.hotdash.supabase.plugins.module_utils.pooler import PoolerUnreadable
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import (
    ProbeOptions,
    ProbeRunner,
    latency_summary,
    merge_summaries,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import QUERY, guard_statement
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import decide, make_trigger, make_warning

DEFAULT_ERROR_RATE_QUERY = (
    "SELECT count(*) FILTER (WHERE level = 'ERROR') AS errors, count(*) AS total "
    "FROM public.observability_logs WHERE created_at > %(since)s AND created_at <= %(until)s")
# The runbook's "Query 2: Error rate", over the watch instead of the last 15 minutes.
DEFAULT_ERRORS_PER_MINUTE_QUERY = (
    "SELECT date_trunc('minute', created_at) AS minute, count(*) AS error_count FROM public.observability_logs "
    "WHERE level = 'ERROR' AND created_at > %(since)s AND created_at <= %(until)s GROUP BY minute ORDER BY minute")
BREACH_METRICS = ("error_rate", "p95")


def guard_query(query, what, placeholders=False):
    """Every user-supplied query of the monitor passes sql_guard before it runs: one read-only statement (QUERY
    profile), its text sent alone; ``placeholders`` for the ``%(since)s``/``%(until)s`` queries. They also run only
    inside read-only transactions (the sampler's and each probe call's ``BEGIN READ ONLY``)."""
    return guard_statement(query, what, QUERY, placeholders=placeholders).text


class Thresholds(object):
    """The runbook's numbers: rollback when errors > 1 % for > 5 min; targets < 0.5 % errors, P95 < 500 ms, pool < 80 %."""

    def __init__(self, error_rate_warn=0.005, error_rate_rollback=0.01, sustain=300.0, rate_window=60.0,
                 p95_budget_ms=500.0, pool_usage_max=0.8):
        self.error_rate_warn = float(error_rate_warn)
        self.error_rate_rollback = float(error_rate_rollback)
        self.sustain = float(sustain)
        self.rate_window = float(rate_window)
        self.p95_budget_ms = float(p95_budget_ms)
        self.pool_usage_max = float(pool_usage_max)
        for name in ("error_rate_warn", "error_rate_rollback", "pool_usage_max"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidInput("%s must be a fraction between 0 and 1 (0.01 = 1 %%); got %s" % (name, value))
        if self.error_rate_warn > self.error_rate_rollback:
            raise InvalidInput("error_rate_warn (%s) must not exceed error_rate_rollback (%s)"
                               % (self.error_rate_warn, self.error_rate_rollback))
        if self.sustain < 0 or self.p95_budget_ms <= 0 or self.rate_window <= 0:
            raise InvalidInput("sustain must be >= 0 seconds, rate_window > 0 seconds and p95_budget > 0; got "
                               "sustain=%s, rate_window=%s, p95_budget=%s s"
                               % (self.sustain, self.rate_window, self.p95_budget_ms / 1000.0))

    def as_dict(self):
        return dict(error_rate_warn=self.error_rate_warn, error_rate_rollback=self.error_rate_rollback,
                    sustain=self.sustain, rate_window=self.rate_window, p95_budget_ms=self.p95_budget_ms,
                    pool_usage_max=self.pool_usage_max)


class MonitorOptions(object):
    """How one watch samples; validated on construction (InvalidInput names the bad option)."""

    def __init__(self, window=420.0, interval=15.0, thresholds=None, error_rate_query=None,
                 errors_per_minute_query=None, top_n=10, statements_min_calls=10, breach_on=("error_rate",),
                 table_schemas=("public",), history_tail=10, sample_timeout=10.0, probes=(), probe_options=None,
                 probe_settings=None, pooler=None):
        self.window = float(window)
        self.interval = float(interval)
        self.thresholds = thresholds or Thresholds()
        error_rate_query = (error_rate_query or DEFAULT_ERROR_RATE_QUERY).strip().rstrip(";").strip()
        if not error_rate_query:
            raise InvalidInput("error_rate_query is empty; give a query returning one row (errors, total)")
        self.error_rate_query = guard_query(error_rate_query, "error_rate_query", placeholders=True)
        self.errors_per_minute_query = guard_query(errors_per_minute_query or DEFAULT_ERRORS_PER_MINUTE_QUERY,
                                                   "errors_per_minute_query", placeholders=True)
        self.top_n = int(top_n)
        self.statements_min_calls = int(statements_min_calls)
        self.breach_on = list(breach_on or [])
        self.table_schemas = list(table_schemas or ["public"])
        self.history_tail = int(history_tail)
        self.sample_timeout = float(sample_timeout)
        self.probes = list(probes or [])
        self.probe_options = probe_options or ProbeOptions()
        self.probe_settings = probe_settings
        self.pooler = pooler
        if self.window < 0:
            raise InvalidInput("window must be >= 0 seconds (0 takes one sample); got %s" % window)
        if self.interval <= 0:
            raise InvalidInput("interval must be > 0 seconds; got %s" % interval)
        if self.top_n < 1 or self.history_tail < 0 or self.statements_min_calls < 1:
            raise InvalidInput("top_n and statements_min_calls must be >= 1 and history_tail >= 0")
        unknown = [m for m in self.breach_on if m not in BREACH_METRICS]
        if unknown:
            raise InvalidInput("breach_on has unknown metric(s) %s; use %s (pool usage is a success criterion, "
                               "never a trigger)" % (", ".join(unknown), ", ".join(BREACH_METRICS)))

    def can_breach(self):
        """Whether the watch is long enough for errors starting with it to breach (longer than sustain + rate window)."""
        return alert_rule.can_breach(self.window, self.thresholds.sustain, self.thresholds.rate_window)

    def detection_delay(self):
        """Worst-case seconds from errors starting to the breach being seen (alert_rule.detection_delay)."""
        t = self.thresholds
        return alert_rule.detection_delay(t.sustain, t.rate_window, self.interval)


# ---------------------------------------------------------------- pure logic (unit-tested without a database)

def error_intervals(samples):
    """``(since_s, until_s, errors, total)`` per sample for the alert rule (None counts when not measured)."""
    out = []
    for sample in samples:
        counts = sample.get("error_rate") or {}
        out.append((sample["since_s"], sample["until_s"], counts.get("errors"), counts.get("total")))
    return out


def trigger_state(samples, thresholds):
    """The trailing rate and alert state at the last of ``samples`` (what a sample records as it is taken)."""
    result = alert_rule.evaluate_error_rate(error_intervals(samples), thresholds.error_rate_rollback,
                                            thresholds.sustain, thresholds.rate_window)
    last = result["trailing"][-1]
    return {"errors": last["errors"], "total": last["total"], "rate": last["rate"], "state": result["states"][-1],
            "window_s": thresholds.rate_window}


def probe_window(samples):
    """Per probe, its calls over the whole watch: counts, every latency, exact P50/P95/P99."""
    names = []
    for sample in samples:
        for name in (sample.get("probes") or {}):
            if name not in names:
                names.append(name)
    return dict((name, merge_summaries([s["probes"][name] for s in samples if name in (s.get("probes") or {})]))
                for name in names)


def pool_points(samples, source):
    """``(until_s, usage)`` per sample of ``pool`` (the pooler) or ``database_connections``."""
    return [(s["until_s"], (s.get(source) or {}).get("usage")) for s in samples]


def percent_text(value):
    """A fraction as a percentage for people (``n/a`` when not measured)."""
    return "n/a" if value is None else "%.2f%%" % (value * 100.0)


def ms_text(value):
    """Milliseconds for people (``n/a`` when not measured)."""
    return "n/a" if value is None else "%.1f ms" % value


# ---------------------------------------------------------------- the verdict

def judge(samples, options, probe_budgets=None):
    """Judge a watch: ``{breached, reasons, triggers, run_warnings, verdict, error_rate, p95, criteria, checks}``.

    ``probe_budgets`` maps a probe name to its P95 budget in ms (default ``thresholds.p95_budget_ms``).
    ``verdict`` is triggers.decide()'s: ``rollback`` (a trigger fired), ``succeeded_with_warnings`` or
    ``succeeded``. ``checks`` are report checks for check_report.
    """
    t = options.thresholds
    budgets = dict((p["name"], p.get("budget_ms") or t.p95_budget_ms) for p in options.probes)
    budgets.update(probe_budgets or {})
    triggers, warnings, checks, criteria, reasons = [], [], [], [], []

    # The watch itself: can the trigger fire in it?
    span = (samples[-1]["until_s"] - samples[0]["since_s"]) if samples else 0.0
    rule = ("error rate over the trailing %.0f s above %s for longer than %.0f s (seen within %.0f s of the errors "
            "starting)" % (t.rate_window, percent_text(t.error_rate_rollback), t.sustain, options.detection_delay()))
    if options.window > 0 and not options.can_breach() and "error_rate" in options.breach_on:
        line = ("the watch (%.0f s) is not longer than sustain + rate window (%.0f s): the error-rate trigger cannot "
                "fire for errors that start with it" % (options.window, t.sustain + t.rate_window))
        checks.append(make_check("watch", "warn", line, "watch longer than %.0f s" % options.detection_delay()))
        warnings.append(make_warning("check_warning", line, "monitor"))
    else:
        checks.append(make_check("watch", "ok", "%d sample(s) every %.0f s over %.0f s; trigger: %s"
                                 % (len(samples), options.interval, span, rule)))

    # 1. The rollback trigger (runbook: error rate > 1 % for > 5 minutes).
    errors = alert_rule.evaluate_error_rate(error_intervals(samples), t.error_rate_rollback, t.sustain, t.rate_window)
    measured = [s for s in samples if s.get("error_rate") is not None]
    episode = next((e for e in errors["episodes"] if e["fired"]), None) or (
        max(errors["episodes"], key=lambda e: e["duration"]) if errors["episodes"] else None)
    if not measured:
        checks.append(make_check("error rate trigger", "warn", "not measured: %s" % _degraded(samples, "error_rate"),
                                 "create the logs table (observability_logs) or set error_rate_query"))
    elif errors["breached"]:
        reason = ("error rate above %s over the trailing %.0f s for %.0f s (longer than %.0f s): peak %s, fired %.0f s "
                  "into the watch" % (percent_text(t.error_rate_rollback), t.rate_window, episode["fired_at"] - episode["start"],
                                      t.sustain, percent_text(episode["peak"]), episode["fired_at"] - samples[0]["since_s"]))
        evidence = {"fired_at_s": episode["fired_at"], "pending_since_s": episode["start"], "peak_rate": episode["peak"],
                    "limit": t.error_rate_rollback, "sustain": t.sustain, "rate_window": t.rate_window,
                    "trailing": [r for r in errors["trailing"] if episode["start"] <= r["at"] <= episode["fired_at"]]}
        if "error_rate" in options.breach_on:
            triggers.append(make_trigger("error_rate", reason, "monitor", evidence))
            reasons.append(reason)
            checks.append(make_check("error rate trigger", "fail", reason,
                                     "roll back (runbook: error rate > 1 % for > 5 minutes) and read the logs"))
        else:
            warnings.append(make_warning("check_warning", reason + " (not a trigger here: breach_on)", "monitor", evidence))
            checks.append(make_check("error rate trigger", "warn", reason + " (breach_on leaves it out)"))
    elif episode is not None:
        line = "above %s for %.0f s, then back below (not longer than %.0f s): peak %s" % (
            percent_text(t.error_rate_rollback), episode["duration"], t.sustain, percent_text(episode["peak"]))
        checks.append(make_check("error rate trigger", "warn", line))
    else:
        checks.append(make_check("error rate trigger", "ok", "never above %s over the trailing %.0f s"
                                 % (percent_text(t.error_rate_rollback), t.rate_window)))

    # 2. Success criterion: error rate over the watch below the target.
    total = sum(s["error_rate"]["total"] for s in measured)
    failed = sum(s["error_rate"]["errors"] for s in measured)
    overall = error_rate(failed, total)
    criterion = {"name": "error rate", "target": "< %s" % percent_text(t.error_rate_warn), "measured": overall,
                 "detail": "%d of %d log rows were errors" % (failed, total),
                 "remedy": "read the errors (observability_logs); the runbook's target is below 0.5 %"}
    if not measured:
        criterion.update(met=None, detail="not measured: %s" % _degraded(samples, "error_rate"))
    elif not total:
        criterion.update(met=True, detail="no log rows during the watch")
    else:
        criterion.update(met=overall < t.error_rate_warn, detail="%s (%s)" % (percent_text(overall), criterion["detail"]))
    criteria.append(criterion)

    # 3. Probe percentiles against their budgets (success criterion; a trigger only with breach_on: [p95]).
    window = probe_window(samples)
    p95 = alert_rule.evaluate_hold([(s["until_s"], s.get("probe_p95_ms")) for s in samples],
                                   t.p95_budget_ms, t.sustain)
    for probe in options.probes or []:
        name = probe["name"]
        stats = window.get(name) or latency_summary([])
        budget = budgets.get(name, t.p95_budget_ms)
        detail = "P95 %s (P50 %s, P99 %s, max %s) over %d call(s), budget %.0f ms" % (
            ms_text(stats["p95_ms"]), ms_text(stats["p50_ms"]), ms_text(stats["p99_ms"]), ms_text(stats["max_ms"]),
            stats.get("calls", 0), budget)
        if stats.get("errors") or stats.get("timeouts"):
            detail += "; %d error(s), %d timeout(s): %s" % (
                stats.get("errors", 0), stats.get("timeouts", 0), "; ".join(stats.get("error_lines", [])))
        met = None if stats["p95_ms"] is None else stats["p95_ms"] < budget
        criteria.append({"name": "probe %s P95" % name, "target": "< %.0f ms" % budget, "measured": stats["p95_ms"],
                         "met": met, "detail": detail, "remedy": _PROBE_REMEDY})
        if stats.get("errors"):
            warnings.append(make_warning("check_warning", "probe %s: %d of %d call(s) failed: %s" % (
                name, stats["errors"], stats["calls"], "; ".join(stats.get("error_lines", []))), "monitor"))
    if not options.probes:
        criteria.append({"name": "probe P95", "target": "< %.0f ms" % t.p95_budget_ms, "measured": None, "met": None,
                         "detail": "not measured: no probes configured (probes: the dashboard's RPCs)",
                         "remedy": "configure probes: the RPCs and queries the dashboard uses"})
    p95_fired = p95["breached"] and "p95" in options.breach_on
    if p95_fired:
        fired = next(e for e in p95["episodes"] if e["fired"])
        reason = "probe P95 above %.0f ms for %.0f s (longer than %.0f s): peak %.1f ms" % (
            t.p95_budget_ms, fired["fired_at"] - fired["start"], t.sustain, fired["peak"])
        evidence = {"fired_at_s": fired["fired_at"], "peak_ms": fired["peak"]}
        triggers.append(make_trigger("rpc_budget", reason, "monitor", evidence))
        reasons.append(reason)

    # 4. Pool: the pooler's usage when one is read, else database connections over max_connections.
    source = "pool" if any(s.get("pool") for s in samples) or options.pooler is not None else "database_connections"
    values = [v for unused, v in pool_points(samples, source) if v is not None]
    waiting = max([(s.get("pool") or {}).get("clients_waiting") or 0 for s in samples] or [0])
    peak = max(values) if values else None
    label = {"pool": "pool usage (%s)" % (options.pooler.kind if options.pooler else "pooler"),
             "database_connections": "database connections (of max_connections)"}[source]
    criterion = {"name": label, "target": "< %s" % percent_text(t.pool_usage_max), "measured": peak,
                 "detail": "peak %s" % percent_text(peak), "remedy": _POOL_REMEDY[source]}
    if peak is None:
        criterion.update(met=None, detail="not measured: %s" % _degraded(samples, source))
    else:
        criterion["met"] = peak < t.pool_usage_max and not waiting
        if waiting:
            wait = max([(s.get("pool") or {}).get("max_wait_ms") or 0 for s in samples])
            criterion["detail"] += "; up to %d client(s) waited for a server connection (longest %.0f ms)" % (waiting, wait)
    criteria.append(criterion)
    if source == "pool":
        db_values = [v for unused, v in pool_points(samples, "database_connections") if v is not None]
        db_peak = max(db_values) if db_values else None
        checks.append(make_check("database connections (of max_connections)",
                                 "warn" if db_peak is not None and db_peak >= t.pool_usage_max else "ok",
                                 "peak %s of max_connections" % percent_text(db_peak)))

    for item in criteria:
        if item["met"] is False:
            line = "%s %s missed: %s" % (item["name"], item["target"], item["detail"])
            warnings.append(make_warning("success_criterion", line, "monitor",
                                         {"measured": item["measured"], "target": item["target"]}))
            status = "fail" if p95_fired and item["name"].startswith("probe ") else "warn"
            checks.append(make_check(item["name"], status, "missed (%s): %s" % (item["target"], item["detail"]),
                                     item["remedy"]))
        elif item["met"] is None:
            warnings.append(make_warning("check_warning", "%s %s: %s" % (item["name"], item["target"], item["detail"]),
                                         "monitor"))
            checks.append(make_check(item["name"], "warn", item["detail"], item["remedy"]))
        else:
            checks.append(make_check(item["name"], "ok", "%s (%s)" % (item["detail"], item["target"])))
    outcome = decide(triggers, warnings)
    return {"breached": bool(triggers), "reasons": reasons, "triggers": triggers, "run_warnings": warnings,
            "verdict": outcome["verdict"], "error_rate": errors, "p95": p95, "criteria": criteria,
            "probes": window, "checks": checks}


_PROBE_REMEDY = "EXPLAIN ANALYZE the call as the application role; look for a dropped or unused index"
_POOL_REMEDY = {
    "pool": "look at the pool (clients waiting, long transactions, pool size) before the peak hour",
    "database_connections": "look at pg_stat_activity for idle sessions; applications should connect through the "
                            "pooler (configure pooler to read its own numbers)",
}


def _degraded(samples, prefix):
    found = sorted(set(w for s in samples for w in s.get("warnings", []) if w.startswith(prefix)))
    return "; ".join(found) or "no sample could read it"


def _read_pool(options, warnings_seen):
    """(reading, warning): one pooler reading; after the first one, a failure is a warning in the sample."""
    if options.pooler is None:
        return None, None
    try:
        return options.pooler.read(), None
    except PoolerUnreadable as exc:
        if not warnings_seen:
            raise InvalidInput(str(exc))
        return None, str(exc)


def run_window(settings, options, samples_path, clock=time.time, sleep=time.sleep, on_sample=None):
    """Sample for ``options.window`` seconds; return ``{samples, statements, errors_per_minute, tables,
    history_tail, warnings}``.

    Samples are taken at ``0, interval, 2*interval, ...`` seconds after the start and once at the end of the
    window; each is appended to ``samples_path`` as it is taken, with the trigger's state at that moment. The
    probes run from the first sample to the last.
    """
    secrets = settings.secrets() + (options.pooler.secrets() if options.pooler else [])
    conn = connect(settings, application_name="hotdash.supabase.monitor")
    log = runner = None
    try:
        conn.set_session(readonly=True, autocommit=False)  # BEGIN READ ONLY per transaction, nothing per session
        sampler = Sampler(conn, options, secrets)
        sampler.prepare()
        _read_pool(options, False)  # a pooler that cannot be read at all is a configuration error: fail now
        log = SampleLog(samples_path, secrets)
        if options.probes:
            runner = ProbeRunner(options.probes, options.probe_settings or settings, options.probe_options).start()
        samples = []
        start = clock()
        deadline = start + options.window
        seq = 0
        while True:
            pool, pool_warning = _read_pool(options, True)
            sample = sampler.take(seq, clock() - start, runner.collect() if runner else None, pool, pool_warning)
            samples.append(sample)
            sample["trigger"] = trigger_state(samples, options.thresholds)
            log.append(sample)
            if on_sample is not None:
                on_sample(sample)
            now = clock()
            if now >= deadline:
                break
            seq += 1
            next_at = min(start + seq * options.interval, deadline)
            if next_at > now:
                sleep(next_at - now)
        if runner is not None:
            runner.stop()
            runner = None
        warnings = []
        statements = sampler.statements(warnings)
        per_minute = sampler.errors_per_minute(samples[0]["since"], samples[-1]["until"], warnings)
        tables = sampler.table_sizes()
        tail = sampler.history_tail()
    except ConnectionFailed:
        raise
    except InvalidInput as exc:
        exc.result.setdefault("samples_path", os.path.abspath(samples_path))
        raise
    finally:
        if runner is not None:
            runner.stop()
        if log is not None:
            log.close()
        conn.close()
    for sample in samples:
        for warning in sample["warnings"]:
            if warning not in warnings:
                warnings.append(warning)
    return {"samples": samples, "statements": statements, "errors_per_minute": per_minute, "tables": tables,
            "history_tail": tail, "warnings": warnings}


def window_peaks(samples):
    """The highest value of each measure over the watch (None when never measured)."""
    def peak(values):
        values = [v for v in values if v is not None]
        return max(values) if values else None
    return {"error_rate": peak((s.get("error_rate") or {}).get("rate") for s in samples),
            "trailing_error_rate": peak((s.get("trigger") or {}).get("rate") for s in samples),
            "probe_p95_ms": peak(s.get("probe_p95_ms") for s in samples),
            "pool_usage": peak((s.get("pool") or {}).get("usage") for s in samples),
            "clients_waiting": peak((s.get("pool") or {}).get("clients_waiting") for s in samples),
            "database_connections": peak((s.get("database_connections") or {}).get("usage") for s in samples)}
