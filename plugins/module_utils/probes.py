# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real latencies of what the dashboard uses: probes called at a fixed rate, every latency kept.

``pg_stat_statements`` keeps a mean and a standard deviation per statement, never a percentile; a P95 built
from them is a guess that can be far off either way. The monitor measures instead: during the watch, each
configured probe (an RPC function in the verify role's form, or a read-only query; :func:`parse_probes`) is
called from the controller at a fixed rate, each call timed, and P50/P95/P99 are computed exactly from those
latencies (:func:`percentile`, nearest rank: the value of an actual call).

How a call runs, so that a probe can never change the database and never hangs the watch:

- one connection and one thread per probe (a slow probe never delays another), to the database or through
  the pooler the application uses;
- each call is its own ``BEGIN READ ONLY`` transaction, rolled back, with transaction-level settings only
  (nothing leaks to a pooled server connection): ``statement_timeout``, then the request context of
  ``check_session.apply_request_context`` (GUCs, ``request.jwt.claims``, ``SET LOCAL ROLE`` to the application
  role, ``authenticated`` by default);
- a client-side timer cancels a call still running after ``timeout`` seconds (also one queued in a pooler,
  which ``statement_timeout`` does not cover); such a call counts as a timeout and its latency (at least the
  timeout) is kept; a call the cancel cannot reach is reported by :meth:`ProbeRunner.collect` once it is past
  its timeout;
- calls are due at ``start + k / rate``; a call due while the previous one of the same probe still runs is
  skipped and counted (``skipped``), so a latency is always the duration of one call, never time spent queued
  behind the probe's own previous call. Opening the connection is not part of a call.

Failed calls (other than timeouts) are counted with their first error line; their latencies are not mixed
into the percentiles.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import threading
import time

try:
    import psycopg2
    from psycopg2 import sql
    from psycopg2 import extensions as pg_extensions
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = sql = pg_extensions = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import apply_request_context, request_context
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.rpc import normalize_rpc
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import SAME_QUOTING_SQL

PERCENTILES = (50, 95, 99)
DEFAULT_ROLE = "authenticated"
APPLICATION_NAME = "hotdash.supabase.monitor.probe"
ERROR_TEXT_LIMIT = 200


# ---------------------------------------------------------------- exact percentiles (pure)

def percentile(values, q):
    """The ``q``-th percentile (0 < q <= 100) of ``values`` by the nearest-rank method; None when empty.

    Nearest rank: sort, take the value at rank ``ceil(q / 100 * n)``. The result is always one of the
    measured values; P95 of 20 calls is the 19th fastest.
    """
    if not values:
        return None
    if not 0 < q <= 100:
        raise ValueError("percentile must be in (0, 100]; got %r" % (q,))
    ordered = sorted(values)
    rank = int(math.ceil(q / 100.0 * len(ordered)))
    return ordered[max(rank, 1) - 1]


def latency_summary(latencies_ms):
    """``{count, p50_ms, p95_ms, p99_ms, min_ms, max_ms, mean_ms}`` of a list of latencies (None values if empty)."""
    out = {"count": len(latencies_ms)}
    for q in PERCENTILES:
        value = percentile(latencies_ms, q)
        out["p%d_ms" % q] = round(value, 3) if value is not None else None
    out["min_ms"] = round(min(latencies_ms), 3) if latencies_ms else None
    out["max_ms"] = round(max(latencies_ms), 3) if latencies_ms else None
    out["mean_ms"] = round(sum(latencies_ms) / len(latencies_ms), 3) if latencies_ms else None
    return out


def summarize_calls(calls):
    """One probe's calls of an interval (or a window) -> counts, the latencies kept and their percentiles.

    ``calls`` are records from :meth:`ProbeRunner.collect`: ``{"due", "latency_ms", "status", "error"}`` with
    status ``ok``, ``timeout`` or ``error``. Percentiles are over ok and timed-out calls.
    """
    latencies = [c["latency_ms"] for c in calls if c["status"] in ("ok", "timeout")]
    out = latency_summary(latencies)
    out.update(calls=len(calls), ok=sum(1 for c in calls if c["status"] == "ok"),
               timeouts=sum(1 for c in calls if c["status"] == "timeout"),
               errors=sum(1 for c in calls if c["status"] == "error"),
               skipped=sum(c.get("skipped", 0) for c in calls),
               latencies_ms=[round(v, 3) for v in latencies])
    errors = []
    for call in calls:
        if call.get("error") and call["error"] not in errors:
            errors.append(call["error"])
    out["error_lines"] = errors[:5]
    return out


# ---------------------------------------------------------------- probe definitions

def parse_probes(specs, guard, default_budget=0.5):
    """Probes from the module option ``probes``; InvalidInput names the bad entry.

    An entry is an RPC function in the same form as the verify role's ``rpc_check`` functions (a name, or a dict
    with ``name``, ``function``, ``args`` (values, or ``{sql: ...}`` expressions), ``role``, ``claims``,
    ``settings``, ``budget`` in seconds), so one list can serve both; or a dict with ``name`` and ``query``.
    ``guard(query, label)`` returns the one statement to send (it raises InvalidInput to refuse a query): a probe
    only reads.
    Returns dicts ``{name, kind, call, query, params, role, claims, settings, budget_ms}`` (the budget in ms, as
    results report it).
    """
    probes = []
    for index, spec in enumerate(specs or []):
        where = "probes[%d]" % index
        if isinstance(spec, dict) and "query" in spec:
            unknown = sorted(set(spec) - {"name", "query", "role", "claims", "settings", "budget"})
            if unknown:
                raise InvalidInput("%s has unknown key(s) %s; a query probe takes name, query, role, claims, settings "
                                   "and budget (seconds)" % (where, ", ".join(unknown)))
            label = "probe %r" % str(spec.get("name") or where)
            query = guard(spec["query"], label)
            # The role, claims and settings a probe runs with, validated like a check's: a setting may not switch
            # the role or the read-only mode (refused here, before the watch, not in a probe's thread).
            context = request_context(spec, label)
            budget = spec.get("budget", default_budget)
            probe = {"name": str(spec.get("name") or "query %d" % (index + 1)), "kind": "query", "call": query,
                     "query": query, "params": None, "role": context["role"], "claims": context["claims"],
                     "settings": context["settings"], "budget_ms": None if budget is None else float(budget) * 1000.0}
        elif isinstance(spec, (dict, str)):
            rpc = normalize_rpc(spec, default_budget=default_budget)
            probe = {"name": rpc["name"], "kind": "rpc", "call": "%s(%s)" % (rpc["function"], _describe_args(spec)),
                     "query": rpc["query"], "params": rpc["params"], "role": rpc["role"], "claims": rpc["claims"],
                     "settings": rpc["settings"], "budget_ms": rpc["budget_ms"]}
        else:
            raise InvalidInput("%s must be a function name or a dict with function or query; got %r" % (where, spec))
        if probe["name"] in [p["name"] for p in probes]:
            raise InvalidInput("%s: probe name %r is used twice; give each probe its own name" % (where, probe["name"]))
        probes.append(probe)
    return probes


def _describe_args(spec):
    args = spec.get("args") if isinstance(spec, dict) else None
    return ", ".join(a["sql"] if isinstance(a, dict) and "sql" in a else json.dumps(
        a.get("value") if isinstance(a, dict) else a, default=str) for a in (args or []))


# ---------------------------------------------------------------- running them

class ProbeOptions(object):
    """How probes are called; validated on construction."""

    def __init__(self, rate=1.0, timeout=5.0, role=DEFAULT_ROLE, jwt_claims=None):
        self.rate = float(rate)
        self.timeout = float(timeout)
        self.role = role or None
        self.jwt_claims = jwt_claims
        if self.rate <= 0 or self.rate > 50:
            raise InvalidInput("probe_rate must be between 0 and 50 calls per second per probe; got %s" % rate)
        if self.timeout <= 0:
            raise InvalidInput("probe_timeout must be > 0 seconds; got %s" % timeout)
        if jwt_claims is not None and not isinstance(jwt_claims, dict):
            raise InvalidInput("probe_jwt_claims must be a dict (the JWT claims PostgREST would set)")


def _first_line(exc, secrets):
    text = error_line(exc) if isinstance(exc, psycopg2.Error) else str(exc)
    text = redact(text, secrets)
    return text if len(text) <= ERROR_TEXT_LIMIT else text[:ERROR_TEXT_LIMIT - 3] + "..."


def _cancel(conn, cancelled):
    """Timer callback: ask the server to cancel the running call (a closed connection has nothing to cancel)."""
    cancelled.append(True)
    try:
        conn.cancel()
    except psycopg2.Error:
        pass


class _ProbeThread(threading.Thread):

    def __init__(self, probe, settings, options, started_at, stop, sink, clock):
        super(_ProbeThread, self).__init__(name="probe %s" % probe["name"])
        self.daemon = True
        self.probe = probe
        self.settings = settings
        self.options = options
        self.started_at = started_at
        self.stop_event = stop
        self.sink = sink
        self.clock = clock
        self.conn = None
        self.secrets = settings.secrets()
        # The call under way: {due, started, reported}; a call stuck past its timeout where a cancel cannot reach
        # it (a client queued in a pooler) is reported by ProbeRunner.collect instead of hanging the watch.
        self.inflight = None

    def _begin(self, cur):
        """BEGIN READ ONLY with transaction-level settings only, then the request context (role, claims, GUCs).

        ``standard_conforming_strings`` is turned on first, as in every check transaction: on a database or role set
        to ``off`` the server would otherwise end ``'x\\''`` earlier than the guard's parser did and run what follows.
        """
        cur.execute(sql.SQL("BEGIN READ ONLY; {}; SET LOCAL statement_timeout = {}").format(
            sql.SQL(SAME_QUOTING_SQL), sql.Literal("%dms" % int(self.options.timeout * 1000))))
        claims = self.probe["claims"] if self.probe["claims"] is not None else self.options.jwt_claims
        apply_request_context(cur, role=self.probe["role"] or self.options.role, settings=self.probe["settings"],
                              claims=claims)

    def _call(self, due):
        record = {"due": round(due - self.started_at, 3), "status": "ok", "error": None}
        started = self.clock()
        self.inflight = {"due": record["due"], "started": started, "reported": False}
        timer = None
        cancelled = []
        try:
            if self.conn is None or self.conn.closed:
                self.conn = connect(self.settings, application_name=APPLICATION_NAME, autocommit=True)
                # An application calls over a connection it already holds: opening one is not the call's latency.
                started = self.clock()
                self.inflight["started"] = started
            timer = threading.Timer(self.options.timeout, _cancel, (self.conn, cancelled))
            timer.daemon = True
            timer.start()
            with self.conn.cursor() as cur:
                self._begin(cur)
                cur.execute(self.probe["query"], self.probe["params"])
                if cur.description:
                    cur.fetchall()
            record["latency_ms"] = (self.clock() - started) * 1000.0
        except psycopg2.extensions.QueryCanceledError:
            record.update(status="timeout", latency_ms=(self.clock() - started) * 1000.0,
                          error="timed out after %.1f s" % self.options.timeout)
        except (psycopg2.Error, ConnectionFailed) as exc:
            record.update(status="error", latency_ms=(self.clock() - started) * 1000.0,
                          error=_first_line(exc, self.secrets))
        finally:
            if timer is not None:
                timer.cancel()
            if cancelled and record["status"] != "timeout" and self.conn is not None:
                # The cancel request raced with the end of the call: it could hit the next statement.
                self.conn.close()
            self._end_transaction()
        return record

    def _end_transaction(self):
        if self.conn is None or self.conn.closed:
            return
        try:
            if self.conn.get_transaction_status() != pg_extensions.TRANSACTION_STATUS_IDLE:
                with self.conn.cursor() as cur:
                    cur.execute("ROLLBACK")
        except psycopg2.Error:
            self.conn.close()

    def run(self):
        period = 1.0 / self.options.rate
        k = 0
        try:
            while not self.stop_event.is_set():
                due = self.started_at + k * period
                wait = due - self.clock()
                if wait > 0 and self.stop_event.wait(wait):
                    break
                record = self._call(due)
                # The next call is the first one due after this one ended; the ones in between are skipped.
                nxt = int(math.floor((self.clock() - self.started_at) / period)) + 1
                record["skipped"] = max(nxt - k - 1, 0)
                k = max(nxt, k + 1)
                self.sink(self.probe["name"], record, self.inflight)
                self.inflight = None
        finally:
            if self.conn is not None and not self.conn.closed:
                self.conn.close()


class ProbeRunner(object):
    """Calls every probe at ``options.rate`` until :meth:`stop`; :meth:`collect` hands over the calls so far."""

    def __init__(self, probes, settings, options, clock=time.monotonic):
        self.probes = list(probes)
        self.settings = settings
        self.options = options
        self.clock = clock
        self._lock = threading.Lock()
        self._pending = dict((p["name"], []) for p in self.probes)
        self._stop = threading.Event()
        self._threads = []

    def _sink(self, name, record, inflight):
        with self._lock:
            if inflight is not None and inflight["reported"]:
                return  # already counted as a timeout by collect()
            self._pending[name].append(record)

    def start(self):
        started_at = self.clock()
        for probe in self.probes:
            thread = _ProbeThread(probe, self.settings, self.options, started_at, self._stop, self._sink, self.clock)
            self._threads.append(thread)
            thread.start()
        return self

    def collect(self):
        """``{probe name: [call records since the previous collect]}``.

        A call still running longer than the timeout (its cancel did not reach it) is handed over now as a
        timeout with the time it has taken so far; its late result is then dropped.
        """
        now = self.clock()
        with self._lock:
            for thread in self._threads:
                inflight = thread.inflight
                if inflight and not inflight["reported"] and now - inflight["started"] > self.options.timeout:
                    inflight["reported"] = True
                    self._pending[thread.probe["name"]].append(
                        {"due": inflight["due"], "status": "timeout", "latency_ms": (now - inflight["started"]) * 1000.0,
                         "error": "timed out after %.1f s (still waiting)" % self.options.timeout, "skipped": 0})
            out = self._pending
            self._pending = dict((p["name"], []) for p in self.probes)
        return out

    def stop(self):
        """Stop calling; waits for running calls (each at most ``timeout`` and a second) and closes the connections.

        A call that does not end by then is left to its (daemon) thread; :meth:`collect` reports it.
        """
        self._stop.set()
        deadline = self.clock() + self.options.timeout + 1.0
        for thread in self._threads:
            thread.join(max(deadline - self.clock(), 0.0))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def merge_summaries(summaries):
    """One summary of several (the intervals of a watch): latencies pooled, exact percentiles recomputed."""
    latencies = [v for summary in summaries for v in summary.get("latencies_ms", [])]
    out = latency_summary(latencies)
    out["latencies_ms"] = latencies
    for key in ("calls", "ok", "timeouts", "errors", "skipped"):
        out[key] = sum(summary.get(key, 0) for summary in summaries)
    lines = []
    for summary in summaries:
        for line in summary.get("error_lines", []):
            if line not in lines:
                lines.append(line)
    out["error_lines"] = lines[:5]
    return out
