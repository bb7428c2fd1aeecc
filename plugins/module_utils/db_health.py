# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection and server checks of the preflight (``db_health_info``; checks built with ``report.make_check``).

The runbook's "Step 1: Pre-Apply Verification" queries, made into checks with thresholds:
reachable within a timeout and server version (``connection``), database size (``server``),
client backends against ``max_connections`` (``connections``, :func:`database_connections`), non-idle sessions running longer than
a limit (``long_running_queries``), and sessions holding or waiting on locks on the tables the
pending migrations touch (``locks``). Everything here is read-only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import split_relation
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import statement_text_for_artifact
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import elapsed_ms


# -- queries ----------------------------------------------------------------------------------------------------------

def server_facts(cur):
    """Version, database size and connection counts (the runbook's queries 3 and 4)."""
    cur.execute("SELECT version(), current_setting('server_version_num')::int, current_database(), "
                "pg_database_size(current_database()), pg_size_pretty(pg_database_size(current_database())), "
                "current_setting('max_connections')::int, "
                "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
                "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()), "
                "current_setting('superuser_reserved_connections')::int, "
                "current_setting('default_transaction_read_only') = 'on' OR pg_is_in_recovery()")
    row = cur.fetchone()
    return {"version": row[0], "server_version_num": row[1], "database": row[2], "size_bytes": row[3],
            "size_pretty": row[4], "max_connections": row[5], "connections_total": row[6],
            "connections_database": row[7], "superuser_reserved_connections": row[8],
            "read_only": bool(row[9])}


def database_connections(cur):
    """Client backends against ``max_connections``: the one measure the preflight's ``connections`` check and the
    monitor's ``database connections (of max_connections)`` read. It is the server's, not the pool's (a pooler in
    transaction mode keeps it low while its own clients wait: the monitor reads the pooler for that)."""
    cur.execute("SELECT count(*) FILTER (WHERE backend_type = 'client backend'),"
                " count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active'),"
                " count(*) FILTER (WHERE backend_type = 'client backend' AND state LIKE 'idle%%'),"
                " count(*) FILTER (WHERE backend_type = 'client backend' AND datname = current_database()),"
                " current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int"
                " FROM pg_stat_activity")
    total, active, idle, here, maximum, reserved = cur.fetchone()
    return {"total": total, "active": active, "idle": idle, "database_total": here, "max_connections": maximum,
            "superuser_reserved": reserved, "usage": float(total) / maximum if maximum else None}


def long_running_queries(cur, min_seconds=60, max_query_chars=120):
    """Non-idle sessions of this database whose current query started more than ``min_seconds`` ago."""
    cur.execute(
        "SELECT pid, usename, state, EXTRACT(EPOCH FROM now() - query_start)::float8 AS seconds, "
        "left(regexp_replace(query, '\\s+', ' ', 'g'), %s), wait_event_type "
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND backend_type = 'client backend' AND state IS DISTINCT FROM 'idle' AND query_start IS NOT NULL "
        "AND now() - query_start > make_interval(secs => %s) ORDER BY seconds DESC",
        (int(max_query_chars) + 1, float(min_seconds)))
    out = []
    for pid, user, state, seconds, query, wait in cur.fetchall():
        out.append({"pid": pid, "user": user, "state": state, "duration_s": round(seconds, 1),
                    "query": statement_text_for_artifact(query, limit=max_query_chars), "wait_event_type": wait})
    return out


def locks_on_tables(cur, tables, max_query_chars=120):
    """Other sessions holding or waiting on relation locks on ``tables`` (``schema.table`` or ``table``).

    An unqualified name matches that table in any non-system schema. Tables that do not exist yet (created
    by the pending migrations) simply have no locks.
    """
    pairs = [split_relation(t) for t in tables or []]
    if not pairs:
        return []
    schemas = [pair[0] or "" for pair in pairs]
    names = [pair[1] for pair in pairs]
    cur.execute(
        "WITH wanted(schema_name, table_name) AS (SELECT * FROM unnest(%s::text[], %s::text[])) "
        "SELECT l.pid, a.usename, n.nspname || '.' || c.relname, l.mode, l.granted, a.state, "
        "EXTRACT(EPOCH FROM now() - COALESCE(a.xact_start, a.query_start))::float8, "
        "left(regexp_replace(a.query, '\\s+', ' ', 'g'), %s) "
        "FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.pid <> pg_backend_pid() AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND EXISTS (SELECT 1 FROM wanted w WHERE w.table_name = c.relname "
        "            AND (w.schema_name = '' OR w.schema_name = n.nspname)) "
        "ORDER BY l.granted, 7 DESC NULLS LAST, l.pid",
        (schemas, names, int(max_query_chars) + 1))
    out = []
    for pid, user, relation, mode, granted, state, seconds, query in cur.fetchall():
        out.append({"pid": pid, "user": user, "relation": relation, "mode": mode, "granted": granted,
                    "state": state, "duration_s": round(seconds or 0.0, 1),
                    "query": statement_text_for_artifact(query, limit=max_query_chars)})
    return out


# -- the checks -------------------------------------------------------------------------------------------------------

def describe_sessions(rows, limit=3):
    """``pid 12 (app, 75.0s, active): <query>; ... (+N more)`` for a check's detail."""
    return brief(("pid %s (%s, %ss, %s): %s" % (r["pid"], r["user"], r["duration_s"], r.get("mode") or r["state"],
                                                r["query"]) for r in rows), limit, sep="; ")


def health_checks(settings, tables=(), max_connections_percent=80.0, long_query_threshold=60, max_query_chars=120,
                  min_server_version_num=None, check_locks=True):
    """Run the connection/server checks; return ``(checks, facts)``.

    An unreachable database is a failed ``connection`` check (the other checks are then ``skipped``),
    not an exception, so the report still names every check.
    """
    checks, facts = [], {}
    started = time.monotonic()
    try:
        conn = connect(settings, application_name="hotdash.supabase preflight")
    except ConnectionFailed as exc:
        checks.append(make_check("connection", "fail", str(exc),
                                 "check the host, port, password and sslmode of supabase_db_url, and that the "
                                 "database accepts connections from here (timeout %ss)" % settings.connect_timeout,
                                 duration_ms=elapsed_ms(started)))
        for name in ("server", "connections", "long_running_queries", "locks"):
            checks.append(make_check(name, "skipped", "not run: the database is unreachable"))
        return checks, facts
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            facts = server_facts(cur)  # before the session is made read-only, so read_only means the server's
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            connect_ms = elapsed_ms(started)
            checks.append(make_check("connection", "ok", "connected to %s in %d ms" % (settings.describe(), connect_ms),
                                     duration_ms=connect_ms,
                                     data={"version": facts["version"].split(" on ")[0]}))
            short = facts["version"].split(",")[0]
            if min_server_version_num and facts["server_version_num"] < int(min_server_version_num):
                checks.append(make_check("server", "fail", "%s is older than the required %s" % (
                    short, min_server_version_num), "upgrade the server or lower the minimum",
                    data=facts))
            elif facts["read_only"]:
                checks.append(make_check("server", "fail", "%s: the session is read-only (default_transaction_"
                                         "read_only or a standby); migrations cannot apply" % short,
                                         "connect to the primary, or ALTER DATABASE ... SET "
                                         "default_transaction_read_only = off if it was left on", data=facts))
            else:
                checks.append(make_check("server", "ok", "%s, database %s is %s" % (short, facts["database"],
                                                                                    facts["size_pretty"]), data=facts))
            counts = database_connections(cur)
            percent = 100.0 * (counts["usage"] or 0.0)
            detail = ("%d of max_connections %d in use (%.0f%%, limit %s%%; %d of them reserved for superusers); "
                      "%d on this database" % (counts["total"], counts["max_connections"], percent,
                                               max_connections_percent, counts["superuser_reserved"],
                                               counts["database_total"]))
            facts["connections_percent"] = round(percent, 1)
            if percent > float(max_connections_percent):
                checks.append(make_check("connections", "fail", detail,
                                         "wait for load to drop or find idle clients (pg_stat_activity); the pooler "
                                         "may be saturated", data={"percent": round(percent, 1)}))
            else:
                checks.append(make_check("connections", "ok", detail, data={"percent": round(percent, 1)}))
            long_rows = long_running_queries(cur, long_query_threshold, max_query_chars)
            facts["long_running_queries"] = long_rows
            if long_rows:
                checks.append(make_check("long_running_queries", "fail", "%d session(s) running longer than %ss: %s"
                                         % (len(long_rows), long_query_threshold, describe_sessions(long_rows)),
                                         "wait for them to finish or end them (SELECT pg_cancel_backend(<pid>)) "
                                         "before applying; DDL would queue behind them and block other queries",
                                         data={"sessions": long_rows}))
            else:
                checks.append(make_check("long_running_queries", "ok", "no session running longer than %ss"
                                         % long_query_threshold, data={"sessions": []}))
            if not check_locks:
                checks.append(make_check("locks", "skipped", "lock check disabled"))
            elif not tables:
                checks.append(make_check("locks", "ok", "no existing table is touched by the pending migrations",
                                         data={"tables": [], "sessions": []}))
            else:
                lock_rows = locks_on_tables(cur, tables, max_query_chars)
                facts["locks"] = lock_rows
                if lock_rows:
                    waiting = len([r for r in lock_rows if not r["granted"]])
                    checks.append(make_check(
                        "locks", "fail", "%d lock(s) (%d waiting) held by other sessions on tables the pending "
                        "migrations touch: %s" % (len(lock_rows), waiting, describe_sessions(lock_rows)),
                        "let those transactions finish (or end them) first; ALTER TABLE needs an ACCESS EXCLUSIVE "
                        "lock and would queue behind them, blocking every other query on the table",
                        data={"tables": list(tables), "sessions": lock_rows}))
                else:
                    checks.append(make_check("locks", "ok", "no other session holds or waits on a lock on %d table(s)"
                                             " the pending migrations touch" % len(tables),
                                             data={"tables": list(tables), "sessions": []}))
    finally:
        conn.close()
    return checks, facts
