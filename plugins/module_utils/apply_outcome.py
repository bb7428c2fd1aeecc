# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After an apply failed or stopped: the cause in words, and exactly what committed, re-read from the database.

What the apply believes it did is not evidence: its connection may have died between a COMMIT and the reply,
the server may have restarted, a child process (the Supabase CLI) may have been killed while its session kept
going. So after any failure the engine:

1. names the cause (:func:`failure_cause`): a terminated session, a lost connection, a cancel from another
   session, statement_timeout, a deadlock, or the server's own message, never a follow-up error of the dead
   connection such as "cursor already closed";
2. ends sessions that still run the apply's statements for a client that is gone (:func:`end_orphaned_sessions`),
   so nothing commits after the report;
3. re-reads the history on a fresh connection (:func:`reread_history`, waiting while the server comes back)
   and reports what it holds (:func:`committed`).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HISTORY_QUALIFIED, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import (
    ADMIN_SHUTDOWN,
    CANNOT_CONNECT_NOW,
    CRASH_SHUTDOWN,
    DEADLOCK_DETECTED,
    QUERY_CANCELED,
    error_line,
    primary_message,
)
# What libpq and psycopg2 say when the server or the network went away (the error has no SQLSTATE).
_CONNECTION_LOST = re.compile(r"server closed the connection unexpectedly|connection already closed|"
                              r"terminating connection|SSL SYSCALL error|could not receive data|EOF detected|"
                              r"no connection to the server|could not send data|connection not open",
                              re.IGNORECASE)
APPLICATION_NAME = "hotdash.supabase migration_apply"


def connection_lost(exc):
    """True when ``exc`` says the session is gone (terminated, server shut down or crashed, network)."""
    code = getattr(exc, "pgcode", None)
    if code in (ADMIN_SHUTDOWN, CRASH_SHUTDOWN, CANNOT_CONNECT_NOW):
        return True
    return code is None and bool(_CONNECTION_LOST.search(str(exc)))


def failure_cause(exc, statement_timeout=0.0, restarted=None):
    """Why a statement of the apply failed, in words a person acts on (one line).

    ``restarted``: whether the server restarted during the apply (its start time changed), when known; a lost
    connection is then named for what happened rather than for everything it could have been.
    """
    code = getattr(exc, "pgcode", None)
    primary = primary_message(exc)
    if code == QUERY_CANCELED:
        if "statement timeout" in primary:
            return "canceled by statement_timeout (%g s)" % statement_timeout
        if "user request" in primary:
            return "canceled by another session (pg_cancel_backend) or an interrupt of the apply"
        return "canceled: %s" % primary
    if code == DEADLOCK_DETECTED:
        return "deadlock with another session: the server canceled the migration to break it (%s)" % primary
    if connection_lost(exc):
        if restarted:
            return "the server restarted during the apply (%s)" % primary
        if restarted is False:
            return ("the apply's session was ended while the server stayed up (%s): pg_terminate_backend from "
                    "another session, or the network failed" % primary)
        return ("the connection to the server was lost (%s): the session was ended, the server restarted or "
                "crashed, or the network failed" % primary)
    return error_line(exc)


def reread_history(settings, wait=30.0, interval=0.5, sleep=time.sleep, clock=time.monotonic):
    """``(rows, server_started)`` from a fresh connection: the history (HistoryRow list, ``[]`` when the table
    does not exist) and when the server last started. Retries for ``wait`` seconds while the server is coming
    back; ConnectionFailed after that."""
    deadline = clock() + wait
    while True:
        try:
            conn = connect(settings, application_name=APPLICATION_NAME + " (re-read)", autocommit=True)
        except ConnectionFailed:
            if clock() >= deadline:
                raise
            sleep(interval)
            continue
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_postmaster_start_time()")
                started = cur.fetchone()[0]
                rows = read_history(cur)
            return rows, started
        finally:
            conn.close()


def committed(planned, before, rows, known=()):
    """The planned migrations the history now holds that it did not hold ``before`` (a set of versions), in plan
    order, as ``applied`` entries: ``known`` entries (with durations) where the engine recorded one, else
    ``{version, name, file, duration_ms: None, attempts: None}``."""
    now = set(row.version for row in rows)
    by_version = dict((item["version"], item) for item in known)
    out = []
    for item in planned:
        if item.version in now and item.version not in before:
            out.append(by_version.get(item.version) or dict(version=item.version, name=item.name, file=item.filename,
                                                            duration_ms=None, attempts=None))
    return out


_ORPHANS_SQL = """
SELECT pid, state, left(query, 200) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND (left(btrim(query), 900) = ANY(%s) OR query ILIKE %s)
"""


def orphaned_sessions(cur, statements):
    """``[(pid, state, query start)]`` of sessions running (or last ran, in an open transaction) one of
    ``statements`` or an insert into the history: what a killed child process (the CLI) left behind."""
    cur.execute(_ORPHANS_SQL, ([s.strip()[:900] for s in statements if s.strip()],
                               "%%insert into %s%%" % HISTORY_QUALIFIED))
    return cur.fetchall()


def end_orphaned_sessions(cur, statements, log=None, wait=10.0, sleep=time.sleep, clock=time.monotonic):
    """Terminate the sessions :func:`orphaned_sessions` finds and wait (at most ``wait`` s) until they are gone;
    returns their pids. Their client is dead: whatever they had not committed is rolled back, and nothing
    they were sent commits after the report."""
    found = orphaned_sessions(cur, statements)
    for pid, state, query in found:
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
        if log is not None:
            log.write("  ended session pid %d (%s, running: %s) left by the dead client so nothing more commits"
                      % (pid, state, " ".join((query or "").split())[:80]))
    pids = [row[0] for row in found]
    deadline = clock() + wait
    while pids and clock() < deadline:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
        if not cur.fetchone()[0]:
            break
        sleep(0.1)
    return pids
