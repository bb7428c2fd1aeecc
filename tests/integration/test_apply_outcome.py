"""Real server errors named in words, sessions left behind by a dead client ended, the history re-read while
the server comes back."""
import os
import sys
import threading
import time

import psycopg2
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_outcome import (
    connection_lost,
    end_orphaned_sessions,
    failure_cause,
    orphaned_sessions,
    reread_history,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from faults import stop_cluster  # noqa: E402


def error_of(db, sql, action=None):
    """The psycopg2 error ``sql`` raises while ``action(pid)`` runs from another session after 0.5 s."""
    conn = db.connect()
    pid = conn.get_backend_pid()
    if action:
        threading.Timer(0.5, action, (pid,)).start()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    except psycopg2.Error as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("%s did not fail" % sql)


def test_real_errors_in_words(db):
    timeout = error_of(db, "set statement_timeout = '200ms'; select pg_sleep(5)")
    assert failure_cause(timeout, 0.2) == "canceled by statement_timeout (0.2 s)"
    cancel = error_of(db, "select pg_sleep(5)", lambda pid: db.execute("select pg_cancel_backend(%s)", (pid,)))
    assert "pg_cancel_backend" in failure_cause(cancel) and "statement_timeout" not in failure_cause(cancel)
    assert not connection_lost(cancel)
    terminated = error_of(db, "select pg_sleep(5)", lambda pid: db.execute("select pg_terminate_backend(%s)", (pid,)))
    assert connection_lost(terminated)
    assert "pg_terminate_backend" in failure_cause(terminated, restarted=False)


def test_sessions_left_by_a_dead_client_are_ended(db):
    statement = "select pg_sleep(30) as left_behind"
    orphan = db.connect()
    orphan_pid = orphan.get_backend_pid()  # read now: once its backend is ended, psycopg2 closes the connection
    runner = threading.Thread(target=lambda: pytest.raises(psycopg2.Error, orphan.cursor().execute, statement))
    runner.start()
    try:
        conn = db.connect()
        with conn.cursor() as cur:
            deadline = time.time() + 10
            while not orphaned_sessions(cur, ["create table x ()", statement + "\n"]):
                assert time.time() < deadline
                time.sleep(0.05)
            assert orphaned_sessions(cur, ["create table other ()"]) == []
            assert end_orphaned_sessions(cur, [statement]) == [orphan_pid]
            assert orphaned_sessions(cur, [statement]) == []
        conn.close()
    finally:
        runner.join(10)
        orphan.close()


def test_reread_history_waits_for_the_server_to_come_back(own_cluster_db):
    db = own_cluster_db
    db.execute("create schema supabase_migrations; create table supabase_migrations.schema_migrations "
               "(version text primary key, statements text[], name text);"
               "insert into supabase_migrations.schema_migrations values ('20250101000001', '{}', 'one')")
    start_again = stop_cluster(db.cluster)
    with pytest.raises(ConnectionFailed):
        reread_history(db.settings(), wait=0.3, interval=0.1)
    threading.Timer(1.0, start_again).start()
    rows, started = reread_history(db.settings(), wait=60, interval=0.2)
    assert [row.version for row in rows] == ["20250101000001"] and started is not None
