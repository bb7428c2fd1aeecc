# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The post-apply watch window: sample the database, judge it against the runbook's thresholds.

One window is a loop of samples taken every ``interval`` seconds for ``window`` seconds (0 = one sample).
Each sample holds the application error rate over the time since the previous sample (a configurable query;
by default the runbook's ``observability_logs`` rows with ``level = 'ERROR'`` over all rows), connection usage
(``pg_stat_activity`` against ``max_connections``) and ``pg_stat_statements`` (top statements by mean time, a P95
estimate per statement, the statements slower than the budget). Samples are appended to a JSON-lines file as
they are taken, so a person can ``tail -f`` it and a crash keeps what was seen.

The rollback trigger is sustained, not a spike (runbook: "error rate > 1 % for > 5 minutes"): a metric breaches
only when consecutive samples stay above its threshold for *longer than* ``sustain`` seconds, measured from the
start of the first crossing sample's interval to the end of the last one's. An interval without any log rows has
no error rate and ends a run.

P95 is estimated as ``mean + 1.645 * stddev`` (the 95th percentile of a normal distribution).
``pg_stat_statements`` keeps no percentiles, only mean and (population) standard deviation; execution times
are usually right-skewed, so this estimate is a floor of the true P95 rather than an upper bound. Between two
samples the estimate uses only the calls made in between (means and sums of squares are differences of the
cumulative counters), so the chart shows the window, not the history since the last stats reset.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import os
import re
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check

P95_Z = 1.645
DEFAULT_ERROR_RATE_QUERY = (
    "SELECT count(*) FILTER (WHERE level = 'ERROR') AS errors, count(*) AS total "
    "FROM public.observability_logs WHERE created_at > %(since)s AND created_at <= %(until)s")
METRICS = ("error_rate", "p95", "connections")
QUERY_TEXT_LIMIT = 200
# SQLSTATEs that mean "this source is not there / not readable here": degrade to a warning, never crash.
_DEGRADE_SQLSTATES = {
    "42P01": "does not exist",           # undefined_table
    "42703": "has an unknown column",    # undefined_column
    "3F000": "names an unknown schema",  # invalid_schema_name
    "42501": "is not readable by this role",  # insufficient_privilege
    "55000": "is not ready",             # object_not_in_prerequisite_state (pg_stat_statements not preloaded)
}
_PASSWORD_LITERAL = re.compile(r"(\bpassword\s+)'(?:[^']|'')*'", re.IGNORECASE)


class Thresholds(object):
    """The runbook's numbers: error rate < 0.5 % ok, rollback when > 1 % for > 5 min, P95 < 500 ms, pool < 80 %."""

    def __init__(self, error_rate_warn=0.005, error_rate_rollback=0.01, sustain=300.0, p95_budget_ms=500.0,
                 connection_usage_max=0.8):
        self.error_rate_warn = float(error_rate_warn)
        self.error_rate_rollback = float(error_rate_rollback)
        self.sustain = float(sustain)
        self.p95_budget_ms = float(p95_budget_ms)
        self.connection_usage_max = float(connection_usage_max)
        for name in ("error_rate_warn", "error_rate_rollback", "connection_usage_max"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise InvalidInput("%s must be a fraction between 0 and 1 (0.01 = 1 %%); got %s" % (name, value))
        if self.error_rate_warn > self.error_rate_rollback:
            raise InvalidInput("error_rate_warn (%s) must not exceed error_rate_rollback (%s)"
                               % (self.error_rate_warn, self.error_rate_rollback))
        if self.sustain < 0 or self.p95_budget_ms <= 0:
            raise InvalidInput("sustain must be >= 0 seconds and p95_budget_ms > 0; got sustain=%s, p95_budget_ms=%s"
                               % (self.sustain, self.p95_budget_ms))

    def as_dict(self):
        return dict(error_rate_warn=self.error_rate_warn, error_rate_rollback=self.error_rate_rollback,
                    sustain=self.sustain, p95_budget_ms=self.p95_budget_ms,
                    connection_usage_max=self.connection_usage_max)

    def limit(self, metric):
        """The value a metric must exceed to count toward a breach."""
        return {"error_rate": self.error_rate_rollback, "p95": self.p95_budget_ms,
                "connections": self.connection_usage_max}[metric]


class MonitorOptions(object):
    """How one window samples; validated on construction (InvalidInput names the bad option)."""

    def __init__(self, window=300.0, interval=15.0, thresholds=None, error_rate_query=None, top_n=10,
                 statements_min_calls=10, breach_on=("error_rate",), table_schemas=("public",), history_tail=10,
                 sample_timeout=10.0):
        self.window = float(window)
        self.interval = float(interval)
        self.thresholds = thresholds or Thresholds()
        self.error_rate_query = (error_rate_query or DEFAULT_ERROR_RATE_QUERY).strip().rstrip(";")
        self.top_n = int(top_n)
        self.statements_min_calls = int(statements_min_calls)
        self.breach_on = list(breach_on or [])
        self.table_schemas = list(table_schemas or ["public"])
        self.history_tail = int(history_tail)
        self.sample_timeout = float(sample_timeout)
        if self.window < 0:
            raise InvalidInput("window must be >= 0 seconds (0 takes one sample); got %s" % window)
        if self.interval <= 0:
            raise InvalidInput("interval must be > 0 seconds; got %s" % interval)
        if self.top_n < 1 or self.history_tail < 0 or self.statements_min_calls < 1:
            raise InvalidInput("top_n and statements_min_calls must be >= 1 and history_tail >= 0")
        unknown = [m for m in self.breach_on if m not in METRICS]
        if unknown:
            raise InvalidInput("breach_on has unknown metric(s) %s; use %s" % (", ".join(unknown), ", ".join(METRICS)))
        if not self.error_rate_query:
            raise InvalidInput("error_rate_query is empty; give a query returning one row (errors, total)")


# ---------------------------------------------------------------- pure logic (unit-tested without a database)

def p95_estimate(mean_ms, stddev_ms):
    """P95 of a statement from mean and standard deviation, assuming a normal distribution."""
    return float(mean_ms or 0.0) + P95_Z * float(stddev_ms or 0.0)


def interval_stats(before, after):
    """Mean/stddev/P95 of the calls made between two cumulative snapshots ``{calls, total_ms, sumsq}``.

    ``before`` None (a statement first seen) or a reset counter (fewer calls) uses ``after`` as a whole.
    Returns None when no call was made in between.
    """
    if before is None or after["calls"] < before["calls"]:
        before = {"calls": 0, "total_ms": 0.0, "sumsq": 0.0}
    calls = after["calls"] - before["calls"]
    if calls <= 0:
        return None
    mean = (after["total_ms"] - before["total_ms"]) / calls
    variance = max((after["sumsq"] - before["sumsq"]) / calls - mean * mean, 0.0)
    stddev = math.sqrt(variance)
    return {"calls": calls, "mean_ms": mean, "stddev_ms": stddev, "p95_ms": p95_estimate(mean, stddev)}


def error_rate(errors, total):
    """errors / total as a fraction; None when there was no row at all (no traffic is not 0 % errors)."""
    if not total:
        return None
    return float(errors) / float(total)


def crossing_runs(points, limit):
    """Runs of consecutive points whose value exceeds ``limit``.

    ``points`` are ``(start_s, end_s, value)``: the interval a sample describes. A point whose value is None
    (no data) ends a run. Returns ``[{start, end, duration, peak, samples}]`` in time order.
    """
    runs = []
    current = None
    for start, end, value in points:
        if value is not None and value > limit:
            if current is None:
                current = {"start": start, "end": end, "peak": value, "samples": 0}
            current["end"] = end
            current["peak"] = max(current["peak"], value)
            current["samples"] += 1
        elif current is not None:
            runs.append(current)
            current = None
    if current is not None:
        runs.append(current)
    for run in runs:
        run["duration"] = run["end"] - run["start"]
    return runs


def evaluate_sustained(points, limit, sustain):
    """``{breached, crossed, longest, runs}``: breached when one run lasts longer than ``sustain`` seconds."""
    runs = crossing_runs(points, limit)
    longest = max(runs, key=lambda run: run["duration"]) if runs else None
    return {"breached": any(run["duration"] > sustain for run in runs), "crossed": bool(runs),
            "longest": longest, "runs": runs}


def metric_points(samples, metric):
    """``(start_s, end_s, value)`` per sample for ``error_rate``, ``p95`` (ms) or ``connections`` (usage)."""
    points = []
    for sample in samples:
        if metric == "error_rate":
            value = (sample.get("error_rate") or {}).get("rate")
        elif metric == "p95":
            value = sample.get("slowest_p95_ms")
        else:
            value = (sample.get("connections") or {}).get("usage")
        points.append((sample["since_s"], sample["until_s"], value))
    return points


def _fmt(metric, value):
    if value is None:
        return "n/a"
    if metric in ("error_rate", "connections"):
        return "%.2f%%" % (value * 100.0)
    return "%.1f ms" % value


_LABEL = {"error_rate": "error rate", "p95": "slowest statement P95", "connections": "connection usage"}


def judge(samples, options):
    """Judge a window: ``{breached, reasons, verdicts, checks}``.

    Every metric is evaluated with the sustained rule; only those in ``options.breach_on`` can breach.
    ``checks`` are report checks (see report.py) for check_report.
    """
    thresholds = options.thresholds
    verdicts = {}
    reasons = []
    checks = []
    for metric in METRICS:
        limit = thresholds.limit(metric)
        points = metric_points(samples, metric)
        verdict = evaluate_sustained(points, limit, thresholds.sustain)
        values = [p[2] for p in points if p[2] is not None]
        verdict["peak"] = max(values) if values else None
        verdict["limit"] = limit
        verdict["available"] = bool(values)
        verdict["counts_toward_breach"] = metric in options.breach_on
        verdicts[metric] = verdict
        label = _LABEL[metric]
        if verdict["breached"] and verdict["counts_toward_breach"]:
            run = verdict["longest"]
            reasons.append("%s above %s for %.0f s (longer than %.0f s): peak %s" % (
                label, _fmt(metric, limit), run["duration"], thresholds.sustain, _fmt(metric, run["peak"])))
        checks.append(_metric_check(metric, verdict, thresholds, samples))
    return {"breached": bool(reasons), "reasons": reasons, "verdicts": verdicts, "checks": checks}


def _metric_check(metric, verdict, thresholds, samples):
    label = _LABEL[metric]
    limit = verdict["limit"]
    if not verdict["available"]:
        warnings = sorted(set(w for s in samples for w in s.get("warnings", []) if w.startswith(metric)))
        return make_check(label, "warn",
                          "not measured: %s" % ("; ".join(warnings) or "no rows in any sample interval (no traffic?)"),
                          _REMEDY_UNAVAILABLE[metric])
    peak = verdict["peak"]
    detail = "peak %s (limit %s, sustain %.0f s)" % (_fmt(metric, peak), _fmt(metric, limit), thresholds.sustain)
    if verdict["breached"]:
        run = verdict["longest"]
        detail = "above %s for %.0f s (longer than %.0f s), peak %s" % (
            _fmt(metric, limit), run["duration"], thresholds.sustain, _fmt(metric, run["peak"]))
        status = "fail" if verdict["counts_toward_breach"] else "warn"
        return make_check(label, status, detail, _REMEDY_BREACH[metric])
    if verdict["crossed"]:
        run = verdict["longest"]
        return make_check(label, "warn", "crossed %s briefly (longest %.0f s, not longer than %.0f s), peak %s" % (
            _fmt(metric, limit), run["duration"], thresholds.sustain, _fmt(metric, peak)))
    if metric == "error_rate" and peak > thresholds.error_rate_warn:
        return make_check(label, "warn", "peak %s is above the %s target but below the rollback trigger %s" % (
            _fmt(metric, peak), _fmt(metric, thresholds.error_rate_warn), _fmt(metric, limit)))
    return make_check(label, "ok", detail)


_REMEDY_UNAVAILABLE = {
    "error_rate": "create the logs table (observability_logs) or set the error rate query",
    "p95": "CREATE EXTENSION pg_stat_statements (schema extensions) with shared_preload_libraries",
    "connections": "grant the monitoring role pg_monitor",
}
_REMEDY_BREACH = {
    "error_rate": "roll back (runbook: error rate > 1 % for > 5 minutes) and read observability_logs",
    "p95": "look at the slow statements listed in the monitor summary; consider rolling back",
    "connections": "check the pool (Supavisor) and long-running sessions; consider rolling back",
}


def clean_query_text(text, secrets=()):
    """Statement text fit for an artifact: password literals masked, DSNs redacted, one line, bounded."""
    text = _PASSWORD_LITERAL.sub(lambda m: m.group(1) + "'********'", text or "")
    text = redact(" ".join(text.split()), secrets)
    return text if len(text) <= QUERY_TEXT_LIMIT else text[:QUERY_TEXT_LIMIT - 3] + "..."


def sqlstate_reason(exc):
    """(degrade, reason): whether a database error means "source missing" and its first line."""
    code = getattr(exc, "pgcode", None)
    line = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    return code in _DEGRADE_SQLSTATES, line


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
    """Takes samples on one connection, keeping the previous statement snapshot for interval P95."""

    def __init__(self, conn, options, secrets=()):
        self.conn = conn
        self.options = options
        self.secrets = list(secrets)
        self.previous = {}
        self.statements_source = None
        self.statements_warning = None
        self._origin = None
        self._last_until = None

    def _cursor(self):
        return self.conn.cursor()

    def prepare(self):
        from psycopg2 import sql
        with self._cursor() as cur:
            cur.execute(sql.SQL("SET statement_timeout = {}").format(
                sql.Literal("%dms" % int(self.options.sample_timeout * 1000))))
            self.statements_source, self.statements_warning = _pg_stat_statements_source(cur)

    def take(self, seq, elapsed_s):
        with self._cursor() as cur:
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
        sample["connections"] = self._connections(sample["warnings"])
        statements, slowest = self._statements(sample["warnings"])
        budget = self.options.thresholds.p95_budget_ms
        sample["statements"] = statements
        sample["slow_statements"] = [s for s in statements if s["p95_ms"] > budget]
        sample["slowest_p95_ms"] = slowest
        return sample

    def _error_rate(self, since, until, warnings):
        import psycopg2
        try:
            with self._cursor() as cur:
                cur.execute(self.options.error_rate_query, {"since": since, "until": until})
                rows = cur.fetchall() if cur.description else []
        except psycopg2.Error as exc:
            degrade, line = sqlstate_reason(exc)
            if degrade:
                warnings.append("error_rate: the error rate query failed (%s); the logs table or column is missing or "
                                "not readable" % redact(line, self.secrets))
                return None
            raise InvalidInput("error_rate_query failed: %s" % redact(line, self.secrets))
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise InvalidInput("error_rate_query cannot take the %%(since)s/%%(until)s parameters (%s); write a literal "
                               "%% as %%%%" % exc)
        if len(rows) != 1 or len(rows[0]) < 2:
            raise InvalidInput("error_rate_query must return one row (errors, total); it returned %d row(s)" % len(rows))
        try:
            errors, total = int(rows[0][0] or 0), int(rows[0][1] or 0)
        except (TypeError, ValueError):
            raise InvalidInput("error_rate_query must return two numbers (errors, total); got %r" % (rows[0][:2],))
        return {"errors": errors, "total": total, "rate": error_rate(errors, total)}

    def _connections(self, warnings):
        import psycopg2
        try:
            with self._cursor() as cur:
                cur.execute(
                    "SELECT count(*) FILTER (WHERE backend_type = 'client backend'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND state LIKE 'idle%%'),"
                    " count(*) FILTER (WHERE backend_type = 'client backend' AND datname = current_database()),"
                    " current_setting('max_connections')::int FROM pg_stat_activity")
                total, active, idle, here, maximum = cur.fetchone()
        except psycopg2.Error as exc:
            warnings.append("connections: pg_stat_activity is not readable (%s)" % sqlstate_reason(exc)[1])
            return None
        return {"total": total, "active": active, "idle": idle, "database_total": here, "max_connections": maximum,
                "usage": float(total) / maximum if maximum else None}

    def _statements(self, warnings):
        import psycopg2
        if self.statements_source is None:
            warnings.append("p95: %s" % self.statements_warning)
            return [], None
        schema, total_col, stddev_col = self.statements_source
        from psycopg2 import sql
        query = sql.SQL(
            "SELECT s.userid, s.queryid, s.query, s.calls, s.{total}, s.{stddev} FROM {schema}.pg_stat_statements s "
            "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.queryid IS NOT NULL"
        ).format(total=sql.Identifier(total_col), stddev=sql.Identifier(stddev_col), schema=sql.Identifier(schema))
        try:
            with self._cursor() as cur:
                cur.execute(query)
                rows = cur.fetchall()
        except psycopg2.Error as exc:
            degrade, line = sqlstate_reason(exc)
            if not degrade:
                raise
            warnings.append("p95: pg_stat_statements is not readable (%s)" % line)
            return [], None
        current = {}
        listed = []
        slowest = None
        for userid, queryid, text, calls, total_ms, stddev_ms in rows:
            calls = int(calls or 0)
            if calls == 0:
                continue
            total_ms = float(total_ms or 0.0)
            stddev_ms = float(stddev_ms or 0.0)
            mean = total_ms / calls
            key = "%s:%s" % (userid, queryid)
            current[key] = {"calls": calls, "total_ms": total_ms, "sumsq": calls * (stddev_ms ** 2 + mean ** 2)}
            if calls < self.options.statements_min_calls:
                continue
            entry = {"queryid": str(queryid), "query": clean_query_text(text, self.secrets), "calls": calls,
                     "mean_ms": round(mean, 3), "stddev_ms": round(stddev_ms, 3),
                     "p95_ms": round(p95_estimate(mean, stddev_ms), 3)}
            listed.append(entry)
            # The chart's value: over the calls since the previous sample; the first sample uses the history.
            if self.previous:
                window = interval_stats(self.previous.get(key), current[key])
                value = window["p95_ms"] if window else None
            else:
                value = entry["p95_ms"]
            if value is not None and (slowest is None or value > slowest):
                slowest = value
        self.previous = current
        listed.sort(key=lambda s: s["mean_ms"], reverse=True)
        return listed[:self.options.top_n], (round(slowest, 3) if slowest is not None else None)

    def table_sizes(self):
        with self._cursor() as cur:
            cur.execute(
                "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid), pg_size_pretty(pg_total_relation_size(c.oid))"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname = ANY(%s)"
                " ORDER BY 3 DESC, 1, 2 LIMIT %s", (self.options.table_schemas, self.options.top_n))
            return [{"schema": r[0], "table": r[1], "bytes": int(r[2]), "size": r[3]} for r in cur.fetchall()]

    def history_tail(self):
        if self.options.history_tail == 0:
            return []
        with self._cursor() as cur:
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


def run_window(settings, options, samples_path, clock=time.time, sleep=time.sleep, on_sample=None):
    """Sample for ``options.window`` seconds; return ``{samples, tables, history_tail, warnings}``.

    Samples are taken at ``0, interval, 2*interval, ...`` seconds after the start and once at the end of the
    window; each is appended to ``samples_path`` as it is taken.
    """
    secrets = settings.secrets()
    conn = connect(settings, application_name="hotdash.supabase.monitor", autocommit=True)
    log = None
    try:
        conn.set_session(readonly=True, autocommit=True)
        sampler = Sampler(conn, options, secrets)
        sampler.prepare()
        log = SampleLog(samples_path, secrets)
        samples = []
        start = clock()
        deadline = start + options.window
        seq = 0
        while True:
            sample = sampler.take(seq, clock() - start)
            samples.append(sample)
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
        tables = sampler.table_sizes()
        tail = sampler.history_tail()
    except ConnectionFailed:
        raise
    except InvalidInput as exc:
        exc.result.setdefault("samples_path", os.path.abspath(samples_path))
        raise
    finally:
        if log is not None:
            log.close()
        conn.close()
    warnings = []
    for sample in samples:
        for warning in sample["warnings"]:
            if warning not in warnings:
                warnings.append(warning)
    return {"samples": samples, "tables": tables, "history_tail": tail, "warnings": warnings}


def window_peaks(samples):
    """The highest value of each metric over the window (None when never measured)."""
    peaks = {}
    for metric in METRICS:
        values = [p[2] for p in metric_points(samples, metric) if p[2] is not None]
        peaks[metric] = max(values) if values else None
    return peaks


def slow_statements(samples):
    """Statements above the budget in any sample, slowest P95 first, one entry per statement (its worst)."""
    worst = {}
    for sample in samples:
        for statement in sample.get("slow_statements", []):
            key = statement["queryid"]
            if key not in worst or statement["p95_ms"] > worst[key]["p95_ms"]:
                worst[key] = statement
    return sorted(worst.values(), key=lambda s: s["p95_ms"], reverse=True)


def summary_markdown(title, outcome, options, chart_file=None):
    """The window in Markdown: verdict, reasons, thresholds, peaks, slow statements, tables, history tail."""
    samples = outcome["samples"]
    verdict = outcome["judgement"]
    t = options.thresholds
    peaks = window_peaks(samples)
    out = ["# %s" % title, ""]
    out.append("- **verdict**: %s" % ("BREACHED (rollback trigger)" if verdict["breached"] else "healthy"))
    span = samples[-1]["until_s"] - samples[0]["since_s"] if samples else 0
    out.append("- **window**: %d sample(s) over %.0f s, every %.0f s" % (len(samples), span, options.interval))
    out.append("- **sustained rule**: a metric breaches when it stays above its limit for longer than %.0f s" % t.sustain)
    for reason in verdict["reasons"]:
        out.append("- **reason**: %s" % reason)
    for warning in outcome["warnings"]:
        out.append("- **warning**: %s" % warning)
    if chart_file:
        out += ["", "![monitor chart](%s)" % os.path.basename(chart_file)]
    out += ["", "| metric | limit | peak | breach rule applies | status |", "| --- | --- | --- | --- | --- |"]
    status = dict((c["name"], c["status"]) for c in verdict["checks"])
    for metric in METRICS:
        out.append("| %s | %s | %s | %s | %s |" % (_LABEL[metric], _fmt(metric, t.limit(metric)), _fmt(metric, peaks[metric]),
                                                   "yes" if metric in options.breach_on else "no",
                                                   status.get(_LABEL[metric], "")))
    out.append("")
    out.append("Error rate target: below %s; P95 is estimated as mean + %.3f x stddev from pg_stat_statements."
               % (_fmt("error_rate", t.error_rate_warn), P95_Z))
    slow = slow_statements(samples)
    out += ["", "## Statements slower than %.0f ms (P95 estimate)" % t.p95_budget_ms, ""]
    if slow:
        out += ["| P95 ms | mean ms | calls | statement |", "| --- | --- | --- | --- |"]
        for s in slow:
            text = s["query"].replace("|", "\\|").replace("`", "'")
            out.append("| %.1f | %.1f | %d | `%s` |" % (s["p95_ms"], s["mean_ms"], s["calls"], text))
    else:
        out.append("None.")
    out += ["", "## Largest tables", ""]
    if outcome["tables"]:
        out += ["| table | size |", "| --- | --- |"]
        out += ["| %s.%s | %s |" % (r["schema"], r["table"], r["size"]) for r in outcome["tables"]]
    else:
        out.append("None found.")
    out += ["", "## Migration history (newest first)", ""]
    out += ["- %s %s" % (r["version"], r["name"] or "") for r in outcome["history_tail"]] or ["No history table."]
    return "\n".join(out) + "\n"
