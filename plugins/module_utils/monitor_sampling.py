# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the database during the watch: one sample at a time, the samples file, pg_stat_statements.

Every read runs in its own ``BEGIN READ ONLY`` transaction with ``SET LOCAL statement_timeout``, rolled back:
nothing is set for the session, so sampling is safe through a transaction pooler. A source that is missing
or not readable (the logs table, ``pg_stat_statements``) is a warning in the sample, never a crash.
``pg_stat_statements`` is read at the start and the end of the watch: the top statements *during* it by mean
and by total time, each with a P95 *estimate* (:func:`p95_estimate`) that is shown and never judged.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import math
import os

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.db_health import database_connections
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import first_line
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import summarize_calls
from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import open_new
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import SAME_QUOTING_SQL, statement_text_for_artifact

P95_Z = 1.645
QUERY_TEXT_LIMIT = 200
# SQLSTATEs that mean "this source is not there / not readable here": degrade to a warning, never crash.
_DEGRADE_SQLSTATES = {
    "42P01": "does not exist",           # undefined_table
    "42703": "has an unknown column",    # undefined_column
    "3F000": "names an unknown schema",  # invalid_schema_name
    "42501": "is not readable by this role",  # insufficient_privilege
    "55000": "is not ready",             # object_not_in_prerequisite_state (pg_stat_statements not preloaded)
}


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


def clean_query_text(text, secrets=()):
    """Statement text fit for an artifact: hidden whole when it mentions a password or secret
    (sql_guard.mask_statement_text), DSNs and known secrets redacted, one line, bounded."""
    return statement_text_for_artifact(text, secrets, QUERY_TEXT_LIMIT)


def sqlstate_reason(exc):
    """(degrade, reason): whether a database error means "source missing" and its first line."""
    return getattr(exc, "pgcode", None) in _DEGRADE_SQLSTATES, first_line(exc)


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
            cur.execute(SAME_QUOTING_SQL)  # the server reads the guarded queries as the guard did
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
                return database_connections(cur)
        except psycopg2.Error as exc:
            warnings.append("database_connections: pg_stat_activity is not readable (%s)" % sqlstate_reason(exc)[1])
            return None

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


class SampleLog(object):
    """The JSON-lines file of one window: truncated at the start, one flushed line per sample."""

    def __init__(self, path, secrets=()):
        self.path = os.path.abspath(path)
        self.secrets = list(secrets)
        try:
            self.handle = open_new(self.path, replace=True)
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
