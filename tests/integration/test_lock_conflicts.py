"""Who holds or waits for a lock a migration needs, on a real server: readers, writers, a queued DDL, a
prepared transaction, a partition, an index; and waiting for them within a budget."""
import threading
import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.lock_conflicts import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    ROW_EXCLUSIVE,
    LockBudgetSpent,
    LockNotGranted,
    LockPolicy,
    RetryBudget,
    attempt_within_budget,
    conflicting_sessions,
    describe_session,
    migration_locks,
    wait_until_clear,
)


class ListLog(object):
    def __init__(self):
        self.lines = []

    def write(self, message):
        self.lines.append(message)


@pytest.fixture
def tables(db):
    db.execute("create table public.accounts (id int primary key, email text);"
               "insert into public.accounts values (1, 'a@example.com');"
               "create index accounts_email on public.accounts (email);"
               "create table public.events (id int, at date) partition by range (at);"
               "create table public.events_2025 partition of public.events"
               " for values from ('2025-01-01') to ('2026-01-01')")
    return db


@pytest.fixture
def sessions(tables):
    """Open sessions of other 'applications'; each is rolled back and closed after the test."""
    opened = []

    def open_session(application_name, sql, params=None):
        conn = tables.connect(autocommit=False)
        with conn.cursor() as cur:
            cur.execute("set application_name = %s", (application_name,))
            cur.execute(sql, params)
        opened.append(conn)
        return conn

    yield open_session
    for conn in opened:
        try:
            conn.rollback()
        except Exception:  # noqa: BLE001 - a session a test terminated
            pass
        conn.close()


def find(db, statements):
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            return conflicting_sessions(cur, migration_locks(statements))
    finally:
        conn.close()


def test_idle_reader_blocks_add_column_and_is_named(tables, sessions):
    reader = sessions("dashboard", "select email from public.accounts where email = 'a@example.com'")
    time.sleep(0.2)
    found = find(tables, ["alter table accounts add column note text"])
    assert [(s.pid, s.mode, s.granted, s.relation) for s in found] == [
        (reader.get_backend_pid(), ACCESS_SHARE, True, "public.accounts")]
    blocker = found[0]
    assert blocker.application_name == "dashboard" and blocker.user == "postgres"
    assert blocker.state == "idle in transaction" and blocker.xact_age >= 0.2
    line = describe_session(blocker)
    assert line.startswith("pid %d (user postgres, application_name 'dashboard', idle in transaction, "
                           "transaction open " % reader.get_backend_pid())
    assert "holds AccessShareLock on public.accounts, query: select email from public.accounts where email = '...')" in line
    assert "a@example.com" not in line


def test_only_conflicting_modes_count(tables, sessions):
    sessions("dashboard", "select * from public.accounts")                       # AccessShare
    writer = sessions("api", "update public.accounts set email = email where id = 1")  # RowExclusive
    # A comment (SHARE UPDATE EXCLUSIVE) conflicts with neither; CREATE INDEX (SHARE) only with the writer.
    assert find(tables, ["comment on table public.accounts is 'x'"]) == []
    index = find(tables, ["create index on public.accounts (id, email)"])
    assert [(s.pid, s.mode) for s in index] == [(writer.get_backend_pid(), ROW_EXCLUSIVE)]
    # A table the migration does not touch, and one it creates, do not count.
    assert find(tables, ["alter table public.events add column note text", "create table public.fresh (id int)",
                         "alter table public.fresh add column x int"]) == []


def test_a_queued_ddl_waiter_is_found_with_its_wait(tables, sessions):
    reader = sessions("report", "select count(*) from public.accounts")
    waiter_conn = tables.connect(autocommit=True)
    waiter = threading.Thread(target=lambda: waiter_conn.cursor().execute(
        "set application_name = 'other-deploy'; set lock_timeout = '20s'; lock table public.accounts"))
    waiter.start()
    try:
        deadline = time.time() + 10
        found = []
        while time.time() < deadline and not found:
            found = find(tables, ["insert into public.accounts values (2, 'b@example.com')"])
            time.sleep(0.05)
        # The insert (ROW EXCLUSIVE) would queue behind the waiting LOCK TABLE, not conflict with the reader.
        assert [(s.application_name, s.mode, s.granted) for s in found] == [("other-deploy", ACCESS_EXCLUSIVE, False)]
        assert "waits for AccessExclusiveLock on public.accounts" in describe_session(found[0])
    finally:
        reader.rollback()
        waiter.join(10)
        waiter_conn.close()


def test_prepared_transaction_holds_locks_with_no_session(tables):
    conn = tables.connect(autocommit=False)
    with conn.cursor() as cur:
        cur.execute("update public.accounts set email = email where id = 1")
        cur.execute("prepare transaction 'forgotten-42'")
    conn.close()
    try:
        found = find(tables, ["alter table public.accounts add column note text"])
        assert [(s.pid, s.prepared_gid, s.mode) for s in found] == [(None, "forgotten-42", ROW_EXCLUSIVE)]
        assert describe_session(found[0]).startswith("prepared transaction 'forgotten-42' (transaction open ")
    finally:
        tables.execute("rollback prepared 'forgotten-42'")


def test_partition_and_index_resolve_to_the_locked_tables(tables, sessions):
    reader = sessions("bi", "select * from public.events_2025")
    assert [s.pid for s in find(tables, ["alter table public.events add column note text"])] == [
        reader.get_backend_pid()]
    reader.rollback()
    table_reader = sessions("bi", "select id from public.accounts")
    assert [s.pid for s in find(tables, ["drop index public.accounts_email"])] == [table_reader.get_backend_pid()]
    # Unqualified names resolve with the session's search_path, as the migration's would.
    assert [s.pid for s in find(tables, ["alter table accounts add column x int"])] == [table_reader.get_backend_pid()]


def test_wait_until_clear_waits_for_an_old_transaction_then_goes(tables, sessions):
    reader = sessions("dashboard", "select * from public.accounts")
    locks = migration_locks(["alter table public.accounts add column note text"])
    threading.Timer(1.5, reader.rollback).start()
    log = ListLog()
    conn = tables.connect()
    try:
        with conn.cursor() as cur:
            budget = RetryBudget(30)
            # Younger than the threshold: not a reason to wait (the attempt's lock_timeout bounds it).
            assert wait_until_clear(cur, locks, 60.0, budget, log) == []
            assert log.lines == []
            assert wait_until_clear(cur, locks, 0.0, budget, log, poll=0.1) == []
    finally:
        conn.close()
    assert budget.elapsed() >= 1.0
    assert len(log.lines) == 1 and "waiting for pid %d (user postgres, application_name 'dashboard'" % (
        reader.get_backend_pid()) in log.lines[0]
    assert "of the 30 s lock budget left" in log.lines[0]


def test_wait_until_clear_returns_the_blocker_when_the_budget_is_spent_or_stop_is_asked(tables, sessions):
    reader = sessions("dashboard", "select * from public.accounts")
    locks = migration_locks(["alter table public.accounts add column note text"])
    conn = tables.connect()
    try:
        with conn.cursor() as cur:
            left = wait_until_clear(cur, locks, 0.0, RetryBudget(0.5), poll=0.1)
            assert [s.pid for s in left] == [reader.get_backend_pid()]
            stopped = wait_until_clear(cur, locks, 0.0, RetryBudget(30), stop=lambda: "SIGTERM")
            assert [s.pid for s in stopped] == [reader.get_backend_pid()]
    finally:
        conn.close()


def alter_attempt(db, statement, lock_timeout="200ms"):
    """One try of a migration: its own transaction with a short lock_timeout; LockNotGranted when refused."""
    import psycopg2

    def attempt():
        conn = db.connect(autocommit=False)
        try:
            with conn.cursor() as cur:
                cur.execute("set local lock_timeout = %s", (lock_timeout,))
                cur.execute(statement)
            conn.commit()
        except psycopg2.errors.LockNotAvailable as exc:
            conn.rollback()
            raise LockNotGranted(exc)
        finally:
            conn.close()
        return "committed"
    return attempt


ADD_NOTE = "alter table public.accounts add column note text"


def apply_note(db, policy, log=None):
    """attempt_within_budget for ADD COLUMN on accounts, checking from a session of its own."""
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            return attempt_within_budget(cur, migration_locks([ADD_NOTE]), policy, alter_attempt(db, ADD_NOTE), log)
    finally:
        conn.close()


def note_columns(db):
    return db.scalar("select count(*) from information_schema.columns where column_name = 'note'")


def test_no_attempt_while_an_old_reader_is_there_then_one_that_succeeds(tables, sessions):
    reader = sessions("long-report", "select * from public.accounts")
    threading.Timer(1.5, reader.rollback).start()
    log = ListLog()
    assert apply_note(tables, LockPolicy(budget=30, blocker_age=0.0, poll=0.1), log) == ("committed", 1)
    assert "waiting for pid %d" % reader.get_backend_pid() in log.lines[0]
    assert note_columns(tables) == 1


def test_a_young_blocker_costs_a_short_attempt_then_backoff(tables, sessions):
    reader = sessions("short-report", "select * from public.accounts")
    threading.Timer(1.0, reader.rollback).start()
    log = ListLog()
    value, attempts = apply_note(tables, LockPolicy(budget=30, blocker_age=60, base_delay=0.1), log)
    assert value == "committed" and attempts >= 2
    assert "lock not granted within 0.2 s (attempt 1); in the way: pid %d" % reader.get_backend_pid() in log.lines[0]


def test_budget_spent_names_who_was_in_the_way_and_nothing_changed(tables, sessions):
    reader = sessions("long-report", "select * from public.accounts")
    with pytest.raises(LockBudgetSpent) as spent:
        apply_note(tables, LockPolicy(budget=1.0, blocker_age=0.0, poll=0.1))
    assert [s.pid for s in spent.value.blockers] == [reader.get_backend_pid()] and spent.value.attempts == 0
    assert note_columns(tables) == 0
