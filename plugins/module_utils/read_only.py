# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop and resume writes for a whole database (runbook, production rollback steps 1 and 4).

``ALTER DATABASE <db> SET default_transaction_read_only = on`` only changes the default of sessions
that start afterwards. So that a caller can tell which sessions already run with the new default,
the same ``ALTER DATABASE`` family records when it was turned on in a custom setting,
``hotdash.read_only_since`` (a UTC ISO timestamp). Sessions that started before it may still write;
:func:`writer_sessions` lists them (never the caller's own session) and :func:`terminate` ends them.

A session can always ``SET default_transaction_read_only = off`` for itself (the rollback engine does,
so it can run DDL while the application is held read-only): this is a guard against the application,
not a security boundary.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

SETTING = "default_transaction_read_only"
SINCE_SETTING = "hotdash.read_only_since"
STATES = ("on", "off")
_QUERY_CHARS = 120


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


def utc_iso(moment=None):
    return (moment or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def writer_sessions(cur, dbname, since=None):
    """Other client sessions of ``dbname`` that may still write: all of them, or those started before ``since``.

    Sessions that started after read-only was turned on run with the read-only default and are kept.
    """
    query = ("SELECT pid, usename, coalesce(application_name, ''), host(client_addr), state, backend_start, "
             "left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), %s) "
             "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
             "AND backend_type = 'client backend'")
    params = [_QUERY_CHARS, dbname]
    if since:
        query += " AND backend_start < %s::timestamptz"
        params.append(since)
    cur.execute(query + " ORDER BY pid", params)
    return [dict(pid=row[0], user=row[1], application_name=row[2], client_addr=row[3], state=row[4],
                 backend_start=row[5].isoformat() if row[5] else None, query=row[6]) for row in cur.fetchall()]


def terminate(cur, sessions):
    """``pg_terminate_backend`` each session; returns them with ``terminated`` true/false."""
    out = []
    for session in sessions:
        cur.execute("SELECT pg_terminate_backend(%s)", (session["pid"],))
        done = dict(session)
        done["terminated"] = bool(cur.fetchone()[0])
        out.append(done)
    return out


def writable_session(conn):
    """Let this session write even while its database is held read-only (the setting only sets a default)."""
    with conn.cursor() as cur:
        cur.execute("SET default_transaction_read_only = off")
    if not conn.autocommit:
        conn.commit()


def set_read_only(conn, dbname, state, terminate_sessions=False, check_mode=False, now=None):
    """Make ``dbname`` read-only (``on``) or writable (``off``) for new sessions; returns the module result.

    ``conn`` is an autocommit psycopg2 connection (``ALTER DATABASE`` is not transactional in effect
    for other sessions anyway). ``terminate_sessions`` (only with ``on``) ends the sessions that
    started before read-only took effect.
    """
    if state not in STATES:
        raise InvalidInput("state must be on or off, not %r" % (state,))
    if terminate_sessions and state != "on":
        raise InvalidInput("terminate_sessions only applies with state=on (it ends sessions that may still write)")
    writable_session(conn)
    with conn.cursor() as cur:
        if not database_exists(cur, dbname):
            raise InvalidInput("database %s does not exist; set target_db to the name of the database to hold "
                               "read-only" % dbname)
        before, since = current_state(cur, dbname)
        result = dict(changed=False, database=dbname, state=state, previous_state=before, queries=[],
                      terminated=[], read_only_since=since)
        statements = []
        if before != state:
            since = utc_iso(now) if state == "on" else None
            statements = plan_statements(dbname, state, since)
            result["read_only_since"] = since
        result["queries"] = [s.as_string(cur) for s in statements]
        candidates = writer_sessions(cur, dbname, since) if terminate_sessions else []
        result["changed"] = bool(statements) or bool(candidates)
        if check_mode:
            result["terminated"] = [dict(s, terminated=False) for s in candidates]
            result["diff"] = dict(before={SETTING: before}, after={SETTING: state})
            return result
        for statement in statements:
            cur.execute(statement)
        if terminate_sessions:
            # Listed again after the ALTER: a session that connected in between already has the read-only default.
            result["terminated"] = terminate(cur, writer_sessions(cur, dbname, since))
            result["changed"] = bool(statements) or bool(result["terminated"])
        result["diff"] = dict(before={SETTING: before}, after={SETTING: state})
    return result
