# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop and resume writes for a whole database (runbook, production rollback steps 1 and 4).

``ALTER DATABASE <db> SET default_transaction_read_only = on`` only changes the default of sessions
that start afterwards: a pooler (PgBouncer, Supavisor) keeps its server connections open, so the
application would go on writing through them. So turning it on also ends the sessions that may still
write: the other client sessions of the database that started before the switch, except superusers'
(the platform's and the operator's own; they are reported as ``kept``). An idle session is ended at once;
one inside a transaction gets ``terminate_grace`` seconds to finish it, and is ended when it has, or when
the grace is over. The pooler then opens new server connections, which start read-only.

The moment of the switch is the server's clock right after the ``ALTER`` committed, recorded in the custom
setting ``hotdash.read_only_since``: every session that started before it may have read the old default,
every session that started after it has the new one. A second run ends only what started before it.

Turning it off has the mirror problem: the sessions that started while it was on keep the read-only default
for their whole life, and a pooler would go on handing them to the application, whose writes would keep
failing after the rollback. So ``off`` ends those (non-superuser, same grace), and the pooler reconnects
writable.

A session can always ``SET default_transaction_read_only = off`` for itself (the rollback engine does,
so it can run DDL while the application is held read-only): this is a guard against the application,
not a security boundary.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import server_clock
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

SETTING = "default_transaction_read_only"
SINCE_SETTING = "hotdash.read_only_since"
STATES = ("on", "off")
DEFAULT_TERMINATE_GRACE = 10.0
_QUERY_CHARS = 120
_POLL = 0.1


def database_settings(cur, dbname):
    """``{name: value}`` of the database-wide settings (``pg_db_role_setting`` with no role)."""
    cur.execute("SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                "WHERE d.datname = %s AND s.setrole = 0", (dbname,))
    row = cur.fetchone()
    out = {}
    for item in (row[0] if row and row[0] else []):
        name, _sep, value = item.partition("=")
        out[name] = value
    return out


def database_exists(cur, dbname):
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
    return cur.fetchone() is not None


def is_on(value):
    """PostgreSQL's boolean spellings: on/true/yes/1 (any case) are on."""
    return str(value or "").strip().lower() in ("on", "true", "yes", "1", "t", "y")


def current_state(cur, dbname):
    """``(state, since)``: ``state`` is ``on`` or ``off`` for new sessions; ``since`` when we turned it on."""
    settings = database_settings(cur, dbname)
    state = "on" if is_on(settings.get(SETTING)) else "off"
    return state, settings.get(SINCE_SETTING) if state == "on" else None


def plan_statements(dbname, state, since=None):
    """The ``ALTER DATABASE`` statements that set ``state``, as psycopg2 Composed objects."""
    if state not in STATES:
        raise InvalidInput("state must be on or off, not %r" % (state,))
    name = sql.Identifier(dbname)
    if state == "on":
        return [sql.SQL("ALTER DATABASE {} SET {} = on").format(name, sql.Identifier(SETTING)),
                sql.SQL("ALTER DATABASE {} SET {} = {}").format(name, sql.SQL(SINCE_SETTING), sql.Literal(since))]
    return [sql.SQL("ALTER DATABASE {} RESET {}").format(name, sql.Identifier(SETTING)),
            sql.SQL("ALTER DATABASE {} RESET {}").format(name, sql.SQL(SINCE_SETTING))]


def writer_sessions(cur, dbname, since=None, started_after=None, exclude=()):
    """Other client sessions of ``dbname``: all of them, those started before ``since`` (they may still write
    while the database is held read-only), or those started at or after ``started_after`` (they kept the
    read-only default after writes were re-enabled). ``exclude``: backend pids of this module's own short-lived
    connections (the policy guard's), which may linger a moment after closing.

    Each has ``superuser`` (never terminated) and ``in_transaction`` (still running or inside a transaction).
    """
    query = ("SELECT a.pid, a.usename, coalesce(a.application_name, ''), host(a.client_addr), a.state, "
             "a.backend_start, left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), %s), "
             "coalesce(r.rolsuper, false), a.xact_start IS NOT NULL OR a.state IS DISTINCT FROM 'idle' "
             "FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid "
             "WHERE a.datname = %s AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'")
    params = [_QUERY_CHARS, dbname]
    if since:
        query += " AND a.backend_start < %s::timestamptz"
        params.append(since)
    if started_after:
        query += " AND a.backend_start >= %s::timestamptz"
        params.append(started_after)
    cur.execute(query + " ORDER BY a.pid", params)
    return [dict(pid=row[0], user=row[1], application_name=row[2], client_addr=row[3], state=row[4],
                 backend_start=row[5].isoformat() if row[5] else None, query=row[6], superuser=bool(row[7]),
                 in_transaction=bool(row[8])) for row in cur.fetchall() if row[0] not in exclude]


def _public(session):
    return dict((k, v) for k, v in session.items() if k not in ("superuser", "in_transaction"))


def terminate(cur, sessions, reason="", after=None):
    """``pg_terminate_backend`` each session; returns them with ``terminated`` true/false (and ``error``)."""
    out = []
    for session in sessions:
        done = _public(session)
        done.update(reason=reason, after=after)
        try:
            cur.execute("SELECT pg_terminate_backend(%s)", (session["pid"],))
            done["terminated"] = bool(cur.fetchone()[0])
        except Exception as exc:  # pylint: disable=broad-except  # e.g. 42501: not allowed to signal that role
            done["terminated"] = False
            done["error"] = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        out.append(done)
    return out


def end_writer_sessions(cur, dbname, since, grace=DEFAULT_TERMINATE_GRACE, clock=time.monotonic, sleep=time.sleep,
                        poll=_POLL, started_after=None, exclude=()):
    """End the non-superuser sessions of ``dbname`` that started before ``since`` (or, with ``started_after``,
    at or after it: see :func:`writer_sessions`); ``(terminated, kept)``.

    Idle sessions are ended at once; a session inside a transaction is ended as soon as it is idle, or when
    ``grace`` seconds have passed. Superusers' sessions are not touched and come back in ``kept``.
    Each ended session carries ``reason`` (``idle``, ``finished its transaction``, ``grace over``) and
    ``after`` (seconds since the start of this call).
    """
    started = clock()
    deadline = started + max(0.0, float(grace))
    terminated, waited = [], set()
    while True:
        sessions = writer_sessions(cur, dbname, since, started_after, exclude)
        kept = [dict(_public(s), terminated=False, reason="superuser") for s in sessions if s["superuser"]]
        # A terminated backend can still be listed for a moment: each session is handled once.
        handled = set(t["pid"] for t in terminated)
        ours = [s for s in sessions if not s["superuser"] and s["pid"] not in handled]
        idle = [s for s in ours if not s["in_transaction"]]
        busy = [s for s in ours if s["in_transaction"]]
        elapsed = round(clock() - started, 3)
        terminated += [dict(t, reason="finished its transaction" if t["pid"] in waited else "idle")
                       for t in terminate(cur, idle, after=elapsed)]
        if busy and clock() >= deadline:
            terminated += terminate(cur, busy, "grace over", elapsed)
            busy = []
        if not busy:
            return terminated, kept
        waited.update(s["pid"] for s in busy)
        sleep(min(poll, max(0.0, deadline - clock())))


def writable_session(conn):
    """Let this session write even while its database is held read-only (the setting only sets a default)."""
    with conn.cursor() as cur:
        cur.execute("SET default_transaction_read_only = off")
    if not conn.autocommit:
        conn.commit()


def set_read_only(conn, dbname, state, terminate_sessions=True, terminate_grace=DEFAULT_TERMINATE_GRACE,
                  check_mode=False, clock=time.monotonic, sleep=time.sleep, guard=None):
    """Make ``dbname`` read-only (``on``) or writable (``off``) for new sessions; returns the module result.

    ``conn`` is an autocommit psycopg2 connection (``ALTER DATABASE`` is not transactional in effect
    for other sessions anyway). With ``terminate_sessions`` (the default), ``on`` ends the sessions that
    started before read-only took effect (see :func:`end_writer_sessions`), and ``off`` (when it changes the
    setting) ends those that started while it was on: they keep the read-only default for their whole life,
    so a pooler's server connections opened during the rollback would go on refusing the application's writes.
    ``guard`` (policy_guard.Guard) decides, before anything changes, when the setting would change or sessions
    would end.
    """
    if state not in STATES:
        raise InvalidInput("state must be on or off, not %r" % (state,))
    try:
        terminate_grace = float(terminate_grace)
    except (TypeError, ValueError):
        raise InvalidInput("terminate_grace must be a number of seconds, not %r" % (terminate_grace,))
    if terminate_grace < 0:
        raise InvalidInput("terminate_grace must be 0 or more seconds, not %s" % terminate_grace)
    terminate_sessions = bool(terminate_sessions)
    writable_session(conn)
    with conn.cursor() as cur:
        if not database_exists(cur, dbname):
            raise InvalidInput("database %s does not exist; set target_db to the name of the database to hold "
                               "read-only" % dbname)
        before, since = current_state(cur, dbname)
        # Turning writes back on ends what started while they were off (all of it when the moment is unknown).
        reopen = terminate_sessions and state == "off" and before == "on"
        read_only_from = since or "-infinity"
        result = dict(changed=False, database=dbname, state=state, previous_state=before, queries=[],
                      terminated=[], kept=[], read_only_since=since, terminate_grace=terminate_grace)
        statements = []
        if before != state:
            # In check mode the moment shown is the server's now; the real run takes it after the ALTER.
            since = server_clock(cur) if state == "on" else None
            statements = plan_statements(dbname, state, since)
            result["read_only_since"] = since
        result["diff"] = dict(before={SETTING: before}, after={SETTING: state})
        candidates = (writer_sessions(cur, dbname, since) if terminate_sessions and state == "on" else
                      writer_sessions(cur, dbname, started_after=read_only_from) if reopen else [])
        if guard is not None and (statements or any(not s["superuser"] for s in candidates)):
            result["policy_check"] = guard([], check_mode, extra={"database": dbname, "state": state})
        if check_mode:
            result["queries"] = [s.as_string(cur) for s in statements]
            result["terminated"] = [dict(_public(s), terminated=False, reason="would end")
                                    for s in candidates if not s["superuser"]]
            result["kept"] = [dict(_public(s), terminated=False, reason="superuser") for s in candidates if s["superuser"]]
            result["changed"] = bool(statements) or bool(result["terminated"])
            return result
        if state == "on" and statements:
            cur.execute(statements[0])
            # After the commit: whoever started before this moment may have the old default.
            since = server_clock(cur)
            statements = [statements[0], plan_statements(dbname, state, since)[1]]
            cur.execute(statements[1])
            result["read_only_since"] = since
        else:
            for statement in statements:
                cur.execute(statement)
        result["queries"] = [s.as_string(cur) for s in statements]
        # The guard's own connection (closed, but its backend may not have exited yet) is not a session to keep.
        own = tuple(getattr(guard, "backend_pids", ()))
        if terminate_sessions and state == "on":
            result["terminated"], result["kept"] = end_writer_sessions(cur, dbname, since, terminate_grace,
                                                                       clock=clock, sleep=sleep, exclude=own)
        elif reopen:
            result["terminated"], result["kept"] = end_writer_sessions(cur, dbname, None, terminate_grace, clock=clock,
                                                                       sleep=sleep, started_after=read_only_from,
                                                                       exclude=own)
        result["changed"] = bool(statements) or any(s["terminated"] for s in result["terminated"])
    return result
