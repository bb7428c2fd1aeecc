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

import contextlib
import json
import math
import os
import time

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils import alert_rule
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import clip
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import first_line
from ansible_collections.hotdash.supabase.plugins.module_utils.pooler import PoolerUnreadable
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import (
    ProbeOptions,
    ProbeRunner,
    latency_summary,
    merge_summaries,
    summarize_calls,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import QUERY, guard_statement, mask_statement_text
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import (decide, make_trigger, make_warning,
                                                                                verdict_label)

P95_Z = 1.645
DEFAULT_ERROR_RATE_QUERY = (
    "SELECT count(*) FILTER (WHERE level = 'ERROR') AS errors, count(*) AS total "
    "FROM public.observability_logs WHERE created_at > %(since)s AND created_at <= %(until)s")
# The runbook's "Query 2: Error rate", over the watch instead of the last 15 minutes.
DEFAULT_ERRORS_PER_MINUTE_QUERY = (
    "SELECT date_trunc('minute', created_at) AS minute, count(*) AS error_count FROM public.observability_logs "
    "WHERE level = 'ERROR' AND created_at > %(since)s AND created_at <= %(until)s GROUP BY minute ORDER BY minute")
BREACH_METRICS = ("error_rate", "p95")
QUERY_TEXT_LIMIT = 200
# SQLSTATEs that mean "this source is not there / not readable here": degrade to a warning, never crash.
_DEGRADE_SQLSTATES = {
    "42P01": "does not exist",           # undefined_table
    "42703": "has an unknown column",    # undefined_column
    "3F000": "names an unknown schema",  # invalid_schema_name
    "42501": "is not readable by this role",  # insufficient_privilege
    "55000": "is not ready",             # object_not_in_prerequisite_state (pg_stat_statements not preloaded)
}


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

def p95_estimate(mean_ms, stddev_ms):
    """A P95 *estimate* of a statement from mean and standard deviation (normal distribution assumed).

    pg_stat_statements keeps no percentiles. Latencies are not normal: this is no bound either way (99 % of
    calls at 10 ms and 1 % at 5 s give 877 ms where the true P95 is 10 ms; 90 % at 10 ms and 10 % at 600 ms give
    360 ms where it is 600 ms). Reported as an estimate, never compared with the budget.
    """
    return float(mean_ms or 0.0) + P95_Z * float(stddev_ms or 0.0)


def interval_stats(before, after):
    """Mean/stddev/P95 estimate of the calls made between two cumulative snapshots ``{calls, total_ms, sumsq}``.

    ``before`` None (a statement first seen) or a reset counter (fewer calls) uses ``after`` as a whole.
    Returns None when no call was made in between.
    """
    if before is None or after["calls"] < before["calls"]:
        before = {"calls": 0, "total_ms": 0.0, "sumsq": 0.0}
    calls = after["calls"] - before["calls"]
    if calls <= 0:
        return None
    total = after["total_ms"] - before["total_ms"]
    mean = total / calls
    variance = max((after["sumsq"] - before["sumsq"]) / calls - mean * mean, 0.0)
    stddev = math.sqrt(variance)
    return {"calls": calls, "total_ms": total, "mean_ms": mean, "stddev_ms": stddev,
            "p95_estimate_ms": p95_estimate(mean, stddev)}


def error_rate(errors, total):
    """errors / total as a fraction; None when there was no row at all (no traffic is not 0 % errors)."""
    if not total:
        return None
    return float(errors) / float(total)


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


def _pct(value):
    return "n/a" if value is None else "%.2f%%" % (value * 100.0)


def _ms(value):
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
            "starting)" % (t.rate_window, _pct(t.error_rate_rollback), t.sustain, options.detection_delay()))
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
                  "into the watch" % (_pct(t.error_rate_rollback), t.rate_window, episode["fired_at"] - episode["start"],
                                      t.sustain, _pct(episode["peak"]), episode["fired_at"] - samples[0]["since_s"]))
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
            _pct(t.error_rate_rollback), episode["duration"], t.sustain, _pct(episode["peak"]))
        checks.append(make_check("error rate trigger", "warn", line))
    else:
        checks.append(make_check("error rate trigger", "ok", "never above %s over the trailing %.0f s"
                                 % (_pct(t.error_rate_rollback), t.rate_window)))

    # 2. Success criterion: error rate over the watch below the target.
    total = sum(s["error_rate"]["total"] for s in measured)
    failed = sum(s["error_rate"]["errors"] for s in measured)
    overall = error_rate(failed, total)
    criterion = {"name": "error rate", "target": "< %s" % _pct(t.error_rate_warn), "measured": overall,
                 "detail": "%d of %d log rows were errors" % (failed, total),
                 "remedy": "read the errors (observability_logs); the runbook's target is below 0.5 %"}
    if not measured:
        criterion.update(met=None, detail="not measured: %s" % _degraded(samples, "error_rate"))
    elif not total:
        criterion.update(met=True, detail="no log rows during the watch")
    else:
        criterion["met"] = overall < t.error_rate_warn
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
            _ms(stats["p95_ms"]), _ms(stats["p50_ms"]), _ms(stats["p99_ms"]), _ms(stats["max_ms"]),
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
    criterion = {"name": label, "target": "< %s" % _pct(t.pool_usage_max), "measured": peak,
                 "detail": "peak %s" % _pct(peak), "remedy": _POOL_REMEDY[source]}
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
                                 "peak %s of max_connections" % _pct(db_peak)))

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


def clean_query_text(text, secrets=()):
    """Statement text fit for an artifact: hidden whole when it mentions a password or secret
    (sql_guard.mask_statement_text), DSNs and known secrets redacted, one line, bounded."""
    return clip(redact(" ".join(mask_statement_text(text or "").split()), secrets), QUERY_TEXT_LIMIT)


def sqlstate_reason(exc):
    """(degrade, reason): whether a database error means "source missing" and its first line."""
    return getattr(exc, "pgcode", None) in _DEGRADE_SQLSTATES, first_line(exc)


# ---------------------------------------------------------------- sampling (needs a database)

def _pg_stat_statements_source(cur):
    """(schema, mean column, stddev column) of pg_stat_statements, or (None, reason)."""
    cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_stat_statements'")
    row = cur.fetchone()
    if not row:
        return None, "pg_stat_statements is not installed in this database (CREATE EXTENSION pg_stat_statements)"
    schema = row[0]
    cur.execute("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0",
                (_quote_ident(schema) + ".pg_stat_statements",))
    columns = set(r[0] for r in cur.fetchall())
    if "mean_exec_time" in columns:
        return (schema, "total_exec_time", "stddev_exec_time"), None
    if "mean_time" in columns:  # PostgreSQL 12 and older
        return (schema, "total_time", "stddev_time"), None
    return None, "pg_stat_statements in schema %s has no mean time column" % schema


def _quote_ident(name):
    return '"%s"' % name.replace('"', '""')


class Sampler(object):
    """Takes samples on one connection: every read in its own ``BEGIN READ ONLY`` transaction, rolled back, with
    ``SET LOCAL statement_timeout`` (never a session setting: through a transaction pooler it would leak)."""

    def __init__(self, conn, options, secrets=()):
        self.conn = conn
        self.options = options
        self.secrets = list(secrets)
        self.statements_source = None
        self.statements_warning = None
        self.statements_start = None
        self._origin = None
        self._last_until = None

    @contextlib.contextmanager
    def _transaction(self):
        cur = self.conn.cursor()
        try:
            cur.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(
                sql.Literal("%dms" % int(self.options.sample_timeout * 1000))))
            yield cur
        finally:
            cur.close()
            self.conn.rollback()

    def prepare(self):
        with self._transaction() as cur:
            self.statements_source, self.statements_warning = _pg_stat_statements_source(cur)
        self.statements_start = self._statement_snapshot([])

    def take(self, seq, elapsed_s, probe_calls=None, pool=None, pool_warning=None):
        with self._transaction() as cur:
            cur.execute("SELECT clock_timestamp(), clock_timestamp() - make_interval(secs => %s)",
                        (self.options.interval,))
            until, first_since = cur.fetchone()
        since = self._last_until or first_since
        if self._origin is None:
            self._origin = since
        self._last_until = until
        sample = {"seq": seq, "at": until.isoformat(), "elapsed_s": round(elapsed_s, 3),
                  "since": since.isoformat(), "until": until.isoformat(),
                  "since_s": round((since - self._origin).total_seconds(), 3),
                  "until_s": round((until - self._origin).total_seconds(), 3), "warnings": []}
        sample["error_rate"] = self._error_rate(since, until, sample["warnings"])
        sample["database_connections"] = self._database_connections(sample["warnings"])
        sample["pool"] = pool
        if pool_warning:
            sample["warnings"].append("pool: %s" % pool_warning)
        sample["probes"] = dict((name, summarize_calls(calls)) for name, calls in (probe_calls or {}).items())
        values = [p["p95_ms"] for p in sample["probes"].values() if p["p95_ms"] is not None]
        sample["probe_p95_ms"] = max(values) if values else None
        return sample

    def _user_query(self, option, query, since, until, warnings, missing):
        """Rows of a user's query over ``(since, until]``; None (and a warning) when its source is missing."""
        try:
            with self._transaction() as cur:
                cur.execute(query, {"since": since, "until": until})
                return cur.fetchall() if cur.description else []
        except psycopg2.Error as exc:
            degrade, line = sqlstate_reason(exc)
            if degrade:
                warnings.append(missing % redact(line, self.secrets))
                return None
            raise InvalidInput("%s failed: %s" % (option, redact(line, self.secrets)))
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InvalidInput("%s cannot take the %%(since)s/%%(until)s parameters (%s); write a literal %% as %%%%"
                               % (option, exc))

    def _error_rate(self, since, until, warnings):
        rows = self._user_query("error_rate_query", self.options.error_rate_query, since, until, warnings,
                                "error_rate: the error rate query failed (%s); the logs table or column is missing or "
                                "not readable")
        if rows is None:
            return None
        if len(rows) != 1 or len(rows[0]) < 2:
            raise InvalidInput("error_rate_query must return one row (errors, total); it returned %d row(s)" % len(rows))
        try:
            errors, total = int(rows[0][0] or 0), int(rows[0][1] or 0)
        except (TypeError, ValueError):
            raise InvalidInput("error_rate_query must return two numbers (errors, total); got %r" % (rows[0][:2],))
        return {"errors": errors, "total": total, "rate": error_rate(errors, total)}

    def _database_connections(self, warnings):
        try:
            with self._transaction() as cur:
                cur.execute(
                    "SELECT count(*) FILTER (WHERE backend_type = 'client backend'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND state LIKE 'idle%%'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND datname = current_database()),"
                    " current_setting('max_connections')::int FROM pg_stat_activity")
                total, active, idle, here, maximum = cur.fetchone()
        except psycopg2.Error as exc:
            warnings.append("database_connections: pg_stat_activity is not readable (%s)" % sqlstate_reason(exc)[1])
            return None
        return {"total": total, "active": active, "idle": idle, "database_total": here, "max_connections": maximum,
                "usage": float(total) / maximum if maximum else None}

    def _statement_snapshot(self, warnings):
        """``{userid:queryid: {calls, total_ms, sumsq, query}}`` of this database, or None when unreadable."""
        if self.statements_source is None:
            return None
        schema, total_col, stddev_col = self.statements_source
        query = sql.SQL(
            "SELECT s.userid, s.queryid, s.query, s.calls, s.{total}, s.{stddev} FROM {schema}.pg_stat_statements s "
            "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.queryid IS NOT NULL"
        ).format(total=sql.Identifier(total_col), stddev=sql.Identifier(stddev_col), schema=sql.Identifier(schema))
        try:
            with self._transaction() as cur:
                cur.execute(query)
                rows = cur.fetchall()
        except psycopg2.Error as exc:
            degrade, line = sqlstate_reason(exc)
            if not degrade:
                raise
            warnings.append("statements: pg_stat_statements is not readable (%s)" % line)
            return None
        snapshot = {}
        for userid, queryid, text, calls, total_ms, stddev_ms in rows:
            calls = int(calls or 0)
            if calls == 0:
                continue
            total_ms, stddev_ms = float(total_ms or 0.0), float(stddev_ms or 0.0)
            mean = total_ms / calls
            snapshot["%s:%s" % (userid, queryid)] = {"queryid": str(queryid), "query": text, "calls": calls,
                                                     "total_ms": total_ms, "sumsq": calls * (stddev_ms ** 2 + mean ** 2)}
        return snapshot

    def statements(self, warnings):
        """Top statements of the watch (calls made during it) by mean and by total time, with their P95 estimate."""
        if self.statements_source is None:
            warnings.append("statements: %s" % self.statements_warning)
            return {"by_mean": [], "by_total": []}
        end = self._statement_snapshot(warnings)
        if end is None:
            return {"by_mean": [], "by_total": []}
        listed = []
        for key, after in end.items():
            stats = interval_stats((self.statements_start or {}).get(key), after)
            if stats is None or stats["calls"] < self.options.statements_min_calls:
                continue
            listed.append({"queryid": after["queryid"], "query": clean_query_text(after["query"], self.secrets),
                           "calls": stats["calls"], "mean_ms": round(stats["mean_ms"], 3),
                           "total_ms": round(stats["total_ms"], 3), "stddev_ms": round(stats["stddev_ms"], 3),
                           "p95_estimate_ms": round(stats["p95_estimate_ms"], 3)})
        top = self.options.top_n
        return {"by_mean": sorted(listed, key=lambda s: s["mean_ms"], reverse=True)[:top],
                "by_total": sorted(listed, key=lambda s: s["total_ms"], reverse=True)[:top]}

    def errors_per_minute(self, since, until, warnings):
        """The runbook's Query 2 over the watch: ``[{minute, errors}]``, or None when its table is missing."""
        rows = self._user_query("errors_per_minute_query", self.options.errors_per_minute_query, since, until,
                                warnings, "errors_per_minute: %s")
        if rows is None:
            return None
        out = []
        for row in rows:
            if len(row) < 2:
                raise InvalidInput("errors_per_minute_query must return rows (minute, error_count)")
            out.append({"minute": row[0].isoformat() if hasattr(row[0], "isoformat") else str(row[0]),
                        "errors": int(row[1] or 0)})
        return out

    def table_sizes(self):
        with self._transaction() as cur:
            cur.execute(
                "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid), pg_size_pretty(pg_total_relation_size(c.oid))"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%s)"
                " ORDER BY 3 DESC, 1, 2 LIMIT %s", (self.options.table_schemas, self.options.top_n))
            return [{"schema": r[0], "table": r[1], "bytes": int(r[2]), "size": r[3]} for r in cur.fetchall()]

    def history_tail(self):
        if self.options.history_tail == 0:
            return []
        with self._transaction() as cur:
            cur.execute("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return []
            cur.execute("SELECT version, name FROM supabase_migrations.schema_migrations ORDER BY version DESC LIMIT %s",
                        (self.options.history_tail,))
            return [{"version": r[0], "name": r[1]} for r in cur.fetchall()]


# ---------------------------------------------------------------- the window

class SampleLog(object):
    """The JSON-lines file of one window: truncated at the start, one flushed line per sample."""

    def __init__(self, path, secrets=()):
        self.path = os.path.abspath(path)
        self.secrets = list(secrets)
        directory = os.path.dirname(self.path)
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory)
            self.handle = open(self.path, "w")
        except (OSError, IOError) as exc:
            raise InvalidInput("cannot write the samples file %s: %s" % (self.path, exc.strerror or exc))

    def append(self, sample):
        self.handle.write(redact(json.dumps(sample, sort_keys=True, default=str), self.secrets) + "\n")
        self.handle.flush()

    def close(self):
        self.handle.close()


def read_samples(path):
    """The samples of a JSON-lines file (a torn last line is ignored)."""
    samples = []
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                samples.append(json.loads(line))
            except ValueError:
                continue
    return samples


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


def _cell(text):
    return str(text).replace("|", "\\|").replace("`", "'")


def summary_markdown(title, outcome, options, chart_file=None):
    """The watch in Markdown: verdict, trigger, criteria, probes, pool, errors per minute, statements, tables."""
    samples = outcome["samples"]
    verdict = outcome["judgement"]
    t = options.thresholds
    out = ["# %s" % title, ""]
    out.append("- **verdict**: %s" % verdict_label(verdict["verdict"]))
    span = samples[-1]["until_s"] - samples[0]["since_s"] if samples else 0
    out.append("- **watch**: %d sample(s) over %.0f s, every %.0f s" % (len(samples), span, options.interval))
    out.append("- **rollback trigger**: error rate over the trailing %.0f s above %s for longer than %.0f s, evaluated at "
               "every sample; a sample without traffic keeps the state; detected within %.0f s of the errors starting"
               % (t.rate_window, _pct(t.error_rate_rollback), t.sustain, options.detection_delay()))
    if samples and samples[-1].get("trigger"):
        last = samples[-1]["trigger"]
        out.append("- **trigger state at the end**: %s (trailing rate %s)" % (last["state"], _pct(last["rate"])))
    for reason in verdict["reasons"]:
        out.append("- **reason**: %s" % reason)
    for warning in verdict["run_warnings"]:
        out.append("- **warning**: %s" % warning["reason"])
    for note in outcome["warnings"]:
        out.append("- **note**: %s" % note)
    if chart_file:
        out += ["", "![monitor chart](%s)" % os.path.basename(chart_file)]
    out += ["", "## Success criteria", "", "| criterion | target | measured | met | detail |", "| --- | --- | --- | --- | --- |"]
    for item in verdict["criteria"]:
        value = item["measured"]
        shown = _ms(value) if "P95" in item["name"] else _pct(value)
        met = {True: "yes", False: "**no**", None: "not measured"}[item["met"]]
        out.append("| %s | %s | %s | %s | %s |" % (_cell(item["name"]), item["target"], shown, met, _cell(item["detail"])))
    out += ["", "## Probes (every call timed; exact nearest-rank percentiles)", ""]
    if options.probes:
        out += ["| probe | call | calls | failed | timeouts | skipped | P50 | P95 | P99 | max | budget |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for probe in options.probes:
            s = verdict["probes"].get(probe["name"]) or latency_summary([])
            out.append("| %s | `%s` | %d | %d | %d | %d | %s | %s | %s | %s | %.0f ms |" % (
                _cell(probe["name"]), _cell(clean_query_text(probe["call"])), s.get("calls", 0), s.get("errors", 0),
                s.get("timeouts", 0), s.get("skipped", 0), _ms(s["p50_ms"]), _ms(s["p95_ms"]), _ms(s["p99_ms"]),
                _ms(s["max_ms"]), probe.get("budget_ms") or t.p95_budget_ms))
        out += ["", "Probes run read-only as %s, %.2g call(s) per second each, timeout %.1f s per call."
                % (options.probe_options.role or "the connecting user", options.probe_options.rate,
                   options.probe_options.timeout)]
    else:
        out.append("No probes configured: the P95 target was not measured.")
    peaks = window_peaks(samples)
    out += ["", "## Pool", ""]
    pools = [s["pool"] for s in samples if s.get("pool")]
    if pools:
        fullest = max(pools, key=lambda p: (p.get("usage") or 0, p.get("clients_waiting") or 0))
        out.append("- **%s**: peak usage %s of %s %s; clients active %s, waiting up to %s; servers active %s, idle %s; "
                   "longest wait %s%s" % (
                       fullest["source"], _pct(peaks["pool_usage"]), fullest.get("usage_of"),
                       fullest.get("pool_size") if fullest.get("usage_of") == "pool_size" else fullest.get("max_clients"),
                       fullest.get("clients_active"), peaks["clients_waiting"] if peaks["clients_waiting"] is not None
                       else "n/a (not exported)", fullest.get("servers_active", "n/a"), fullest.get("servers_idle", "n/a"),
                       _ms(fullest.get("max_wait_ms")), " (bucket bound)" if fullest.get("max_wait_is_bound") else ""))
    else:
        out.append("- **pooler**: not configured (set pooler to read PgBouncer or Supavisor)")
    out.append("- **database connections**: peak %s of max_connections (client backends in pg_stat_activity)"
               % _pct(peaks["database_connections"]))
    out += ["", "## Errors per minute (runbook Query 2)", ""]
    if outcome.get("errors_per_minute"):
        out += ["| minute | errors |", "| --- | --- |"]
        out += ["| %s | %d |" % (r["minute"], r["errors"]) for r in outcome["errors_per_minute"]]
    elif outcome.get("errors_per_minute") is None:
        out.append("Not measured (see the notes).")
    else:
        out.append("No errors.")
    statements = outcome.get("statements") or {}
    for key, heading in (("by_mean", "mean"), ("by_total", "total")):
        out += ["", "## Top statements during the watch by %s time (pg_stat_statements)" % heading, ""]
        rows = statements.get(key) or []
        if rows:
            out += ["| mean ms | total ms | calls | P95 estimate ms* | statement |", "| --- | --- | --- | --- | --- |"]
            out += ["| %.1f | %.1f | %d | %.1f | `%s` |" % (
                r["mean_ms"], r["total_ms"], r["calls"], r["p95_estimate_ms"], _cell(r["query"])) for r in rows]
        else:
            out.append("None with at least %d call(s) during the watch." % options.statements_min_calls)
    out += ["", "\\* mean + %.3f x stddev: an estimate that assumes normally distributed times, no bound in either "
            "direction and never judged; the P95 judged above is the probes'." % P95_Z]
    out += ["", "## Largest tables", ""]
    if outcome["tables"]:
        out += ["| table | size |", "| --- | --- |"]
        out += ["| %s.%s | %s |" % (r["schema"], r["table"], r["size"]) for r in outcome["tables"]]
    else:
        out.append("None found.")
    out += ["", "## Migration history (newest first)", ""]
    out += ["- %s %s" % (r["version"], r["name"] or "") for r in outcome["history_tail"]] or ["No history table."]
    return "\n".join(out) + "\n"
