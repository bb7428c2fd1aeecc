"""db_read_only against a real database: a write in a new session fails when on and succeeds when off, and the
sessions that started before the switch (a pooler's server connections) are ended so that they cannot write."""
import threading
import time
import uuid

import psycopg2
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import set_read_only


def _write(db):
    """Insert a row from a brand-new session (the setting applies to new sessions only)."""
    db.execute("INSERT INTO public.ro_probe (v) VALUES (1)")


@pytest.fixture
def probe_db(db):
    db.execute("CREATE TABLE public.ro_probe (v int)")
    return db


class AppRole(object):
    """A non-superuser login role, as the application (or the pooler on its behalf) connects."""

    def __init__(self, db):
        self.db = db
        self.name = "app_%s" % uuid.uuid4().hex[:10]
        self.password = "app-pw-%s" % uuid.uuid4().hex[:6]
        db.execute("CREATE ROLE %s LOGIN PASSWORD '%s'" % (self.name, self.password))
        db.execute("GRANT SELECT, INSERT ON public.ro_probe TO %s" % self.name)

    def connect(self, autocommit=True, application_name=""):
        conn = psycopg2.connect(host=self.db.host, port=self.db.port, dbname=self.db.name, user=self.name,
                                password=self.password, sslmode="disable", application_name=application_name)
        conn.autocommit = autocommit
        return conn

    def drop(self):
        self.db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (self.name,))
        self.db.execute("DROP OWNED BY %s" % self.name)
        self.db.execute("DROP ROLE %s" % self.name)


@pytest.fixture
def app_role(probe_db):
    role = AppRole(probe_db)
    yield role
    conn = probe_db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = off")
            cur.execute("ALTER DATABASE %s RESET ALL" % probe_db.name)
    finally:
        conn.close()
    role.drop()


def backend_pid(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def wait_for(predicate, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def _switch_on(db, **kw):
    conn = db.connect()
    try:
        return set_read_only(conn, db.name, "on", **kw)
    finally:
        conn.close()


def _write_through(url, stop, log):
    """Insert in a loop through the pooler, reconnecting when a connection dies; log (start time, outcome)."""
    conn = None
    while not stop.is_set():
        started = time.monotonic()
        try:
            if conn is None or conn.closed:
                conn = psycopg2.connect(url)
                conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("INSERT INTO public.ro_probe (v) VALUES (1)")
            log.append((started, "ok"))
        except psycopg2.errors.ReadOnlySqlTransaction:
            log.append((started, "read-only"))
        except psycopg2.Error:
            log.append((started, "connection lost"))
            if conn is not None:
                conn.close()
            conn = None
        time.sleep(0.01)
    if conn is not None:
        conn.close()


def test_on_blocks_writes_off_restores_them(probe_db, run_module):
    db = probe_db
    on = run_module("db_read_only", dict(db_url=db.url, state="on"))
    assert on["changed"] is True and on["previous_state"] == "off" and not on.get("failed")
    assert on["read_only_since"] and on["queries"][0].startswith('ALTER DATABASE "%s" SET' % db.name)
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        _write(db)
    again = run_module("db_read_only", dict(db_url=db.url, state="on"))
    assert again["changed"] is False and again["queries"] == []
    assert again["read_only_since"] == on["read_only_since"]
    off = run_module("db_read_only", dict(db_url=db.url, state="off"))
    assert off["changed"] is True and off["previous_state"] == "on" and off["read_only_since"] is None
    _write(db)
    assert db.scalar("SELECT count(*) FROM public.ro_probe") == 1
    assert run_module("db_read_only", dict(db_url=db.url, state="off"))["changed"] is False


def test_check_mode_changes_nothing(probe_db, run_module):
    db = probe_db
    result = run_module("db_read_only", dict(db_url=db.url, state="on"), check_mode=True, diff=True)
    assert result["changed"] is True and result["queries"]
    assert result["diff"] == {"before": {"default_transaction_read_only": "off"},
                              "after": {"default_transaction_read_only": "on"}}
    _write(db)  # still writable


def test_ends_sessions_started_before_keeps_superusers_and_later_sessions(probe_db, app_role, run_module):
    db = probe_db
    old = app_role.connect(application_name="old-writer")
    admin = db.connect()
    old_pid, admin_pid = backend_pid(old), backend_pid(admin)
    planned = run_module("db_read_only", dict(db_url=db.url, state="on"), check_mode=True)
    assert [(s["pid"], s["reason"], s["terminated"]) for s in planned["terminated"]] == [(old_pid, "would end", False)]
    assert [s["pid"] for s in planned["kept"]] == [admin_pid] and planned["kept"][0]["reason"] == "superuser"
    result = run_module("db_read_only", dict(db_url=db.url, state="on"))
    assert result["changed"] is True and result["terminate_grace"] == 10.0
    assert [(s["pid"], s["user"], s["application_name"], s["reason"], s["terminated"]) for s in result["terminated"]] == [
        (old_pid, app_role.name, "old-writer", "idle", True)]
    assert [s["pid"] for s in result["kept"]] == [admin_pid]
    with pytest.raises(psycopg2.OperationalError):
        with old.cursor() as cur:
            cur.execute("INSERT INTO public.ro_probe (v) VALUES (2)")
    # A session that started after read-only is read-only already and is kept: nothing to do the second time.
    new = app_role.connect()
    try:
        second = run_module("db_read_only", dict(db_url=db.url, state="on"))
        assert second["changed"] is False and second["terminated"] == []
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            with new.cursor() as cur:
                cur.execute("INSERT INTO public.ro_probe (v) VALUES (3)")
    finally:
        new.close()
        admin.close()
        run_module("db_read_only", dict(db_url=db.url, state="off"))


def test_without_terminating_an_open_session_keeps_writing(probe_db, app_role, run_module):
    # Why the switch ends sessions: the default only applies to sessions that start afterwards.
    old = app_role.connect()
    try:
        result = run_module("db_read_only", dict(db_url=probe_db.url, state="on", terminate_sessions=False))
        assert result["terminated"] == [] and result["changed"] is True
        with old.cursor() as cur:
            cur.execute("INSERT INTO public.ro_probe (v) VALUES (1)")
        assert probe_db.scalar("SELECT count(*) FROM public.ro_probe") == 1
    finally:
        old.close()


def test_a_transaction_in_flight_may_finish_within_the_grace(probe_db, app_role):
    db = probe_db
    writer = app_role.connect(autocommit=False)
    writer_pid = backend_pid(writer)
    with writer.cursor() as cur:
        cur.execute("INSERT INTO public.ro_probe (v) VALUES (1)")  # open transaction, started before the switch
    waits = []

    def commit_while_waited_for(seconds):
        # The switch sleeps only while a session it has to end is inside a transaction: finish it then.
        waits.append(seconds)
        if len(waits) == 1:
            writer.commit()
        time.sleep(seconds)

    ended = _switch_on(db, terminate_grace=60, sleep=commit_while_waited_for)["terminated"]
    assert [(s["pid"], s["reason"]) for s in ended] == [(writer_pid, "finished its transaction")]
    assert db.scalar("SELECT count(*) FROM public.ro_probe") == 1  # its commit went through


def test_a_transaction_longer_than_the_grace_is_ended(probe_db, app_role):
    db = probe_db
    writer = app_role.connect(autocommit=False)
    with writer.cursor() as cur:
        cur.execute("INSERT INTO public.ro_probe (v) VALUES (1)")
    result = _switch_on(db, terminate_grace=0.5)
    assert [(s["reason"], s["terminated"]) for s in result["terminated"]] == [("grace over", True)]
    assert result["terminated"][0]["after"] >= 0.5
    with pytest.raises(psycopg2.OperationalError):
        writer.commit()
    assert db.scalar("SELECT count(*) FROM public.ro_probe") == 0


def test_writes_through_a_transaction_pooler_are_refused_once_the_switch_returns_and_accepted_once_it_is_off(
        probe_db, app_role, make_pgbouncer, run_module):
    db = probe_db
    pooler = make_pgbouncer(pool_size=2)
    url = pooler.url(db, app_role.name, app_role.password)
    log, stop = [], threading.Event()
    writers = [threading.Thread(target=_write_through, args=(url, stop, log), daemon=True) for _i in range(3)]
    for thread in writers:
        thread.start()
    try:
        wait_for(lambda: sum(1 for entry in log if entry[1] == "ok") >= 20, "writes through the pooler")
        result = run_module("db_read_only", dict(db_url=db.url, state="on", terminate_grace=5))
        returned = time.monotonic()
        assert not result.get("failed"), result.get("msg")
        # The pooler's server connections were the sessions that could still write.
        assert result["terminated"] and all(s["user"] == app_role.name and s["terminated"]
                                            for s in result["terminated"])
        rows = db.scalar("SELECT count(*) FROM public.ro_probe")
        wait_for(lambda: sum(1 for entry in log if entry[0] > returned) >= 20, "writes after the switch")
        assert db.scalar("SELECT count(*) FROM public.ro_probe") == rows
        # Re-enabling writes: the pooler's server connections opened meanwhile are read-only for life; off ends them.
        switching_off = time.monotonic()
        off = run_module("db_read_only", dict(db_url=db.url, state="off", terminate_grace=5))
        reopened = time.monotonic()
        assert not off.get("failed"), off.get("msg")
        assert off["terminated"] and all(s["user"] == app_role.name and s["terminated"] for s in off["terminated"])
        wait_for(lambda: sum(1 for entry in log if entry[0] > reopened) >= 20, "writes after writes were re-enabled")
    finally:
        stop.set()
        for thread in writers:
            thread.join(10)
    # Every write that started after the switch returned was refused, every one after it was turned off went in.
    held = [outcome for at, outcome in log if returned < at < switching_off]
    assert "read-only" in held and "ok" not in held, held[:5]
    resumed = [outcome for at, outcome in log if at > reopened]
    assert resumed and set(resumed) == {"ok"}, resumed[:5]


def test_unknown_database_is_one_line_and_changes_nothing(probe_db, run_module):
    db = probe_db
    result = run_module("db_read_only", dict(db_url=db.url, state="on", target_db="no_such_db"))
    assert result["failed"] and "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert result["msg"].startswith("database no_such_db does not exist")
    _write(db)


def test_a_negative_grace_is_one_line_and_changes_nothing(probe_db, run_module):
    result = run_module("db_read_only", dict(db_url=probe_db.url, state="on", terminate_grace=-1))
    assert result["failed"] and result["msg"] == "terminate_grace must be 0 or more seconds, not -1.0"
    _write(probe_db)


def test_password_never_in_result(probe_db, run_module):
    result = run_module("db_read_only", dict(db_url=probe_db.url, state="on"), check_mode=True)
    assert probe_db.password not in repr(result)
