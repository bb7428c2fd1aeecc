"""Unit tests of the lock analysis: which lock each statement takes, PostgreSQL's conflict table, the blocker
line, and the retry budget (no database)."""
import random

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.lock_conflicts import (
    ACCESS_EXCLUSIVE,
    ACCESS_SHARE,
    CONFLICTS,
    EXCLUSIVE,
    LOCK_MODES,
    ROW_EXCLUSIVE,
    ROW_SHARE,
    SHARE,
    SHARE_ROW_EXCLUSIVE,
    SHARE_UPDATE_EXCLUSIVE,
    LockBudgetSpent,
    LockNotGranted,
    LockPolicy,
    MigrationLocks,
    RetryBudget,
    Session,
    attempt_within_budget,
    conflicts,
    describe_session,
    migration_locks,
    old_blockers,
    redact_query,
    sql_mode_name,
    statement_locks,
)


def locks_of(statement):
    needs, opaque = statement_locks(statement)
    return sorted((n.relation, n.mode) for n in needs), opaque


@pytest.mark.parametrize("statement,expected", [
    # ALTER TABLE: PostgreSQL's AlterTableGetLockLevel, strongest subcommand wins.
    ("alter table pgbench_accounts add column note text", [("pgbench_accounts", ACCESS_EXCLUSIVE)]),
    ("alter table public.t alter column a type bigint", [("public.t", ACCESS_EXCLUSIVE)]),
    ("alter table t validate constraint c", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter table t alter column a set statistics 100", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter table t set (autovacuum_enabled = false, fillfactor = 70)", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter view v set (security_invoker = true)", [("v", ACCESS_EXCLUSIVE)]),
    ("alter table t disable trigger all", [("t", SHARE_ROW_EXCLUSIVE)]),
    ("alter table t validate constraint c, add column d int", [("t", ACCESS_EXCLUSIVE)]),
    ("alter table t add constraint f foreign key (a) references s.o (id)",
     [("s.o", SHARE_ROW_EXCLUSIVE), ("t", SHARE_ROW_EXCLUSIVE)]),
    ("alter table t add column b int references u (id)", [("t", ACCESS_EXCLUSIVE), ("u", SHARE_ROW_EXCLUSIVE)]),
    ("alter table p attach partition c for values in (1)", [("c", ACCESS_EXCLUSIVE), ("p", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter table p detach partition c", [("c", ACCESS_EXCLUSIVE), ("p", ACCESS_EXCLUSIVE)]),
    ("alter table t enable row level security", [("t", ACCESS_EXCLUSIVE)]),
    ('alter table "My Schema"."Mixed" add column x int', [('"My Schema"."Mixed"', ACCESS_EXCLUSIVE)]),
    # Other DDL.
    ("create index on t (a)", [("t", SHARE)]),
    ("create index concurrently i on t (a)", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("drop table a, b.c", [("a", ACCESS_EXCLUSIVE), ("b.c", ACCESS_EXCLUSIVE)]),
    ("drop index concurrently s.i", [("s.i", SHARE_UPDATE_EXCLUSIVE)]),
    ("drop trigger tr on s.t", [("s.t", ACCESS_EXCLUSIVE)]),
    ("drop policy p on t", [("t", ACCESS_EXCLUSIVE)]),
    ("truncate a, b", [("a", ACCESS_EXCLUSIVE), ("b", ACCESS_EXCLUSIVE)]),
    ("create policy p on t using (true)", [("t", ACCESS_EXCLUSIVE)]),
    ("alter policy p on t using (false)", [("t", ACCESS_EXCLUSIVE)]),
    ("create trigger tr after insert on t for each row execute function f()", [("t", SHARE_ROW_EXCLUSIVE)]),
    ("create rule r as on insert to t do nothing", [("t", ACCESS_EXCLUSIVE)]),
    ("alter table t rename to u", [("t", ACCESS_EXCLUSIVE)]),
    ("alter table t rename column a to b", [("t", ACCESS_EXCLUSIVE)]),
    ("alter index i rename to j", [("i", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter table t set schema s", [("t", ACCESS_EXCLUSIVE)]),
    ("comment on table t is 'x'", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("comment on column s.t.c is null", [("s.t", SHARE_UPDATE_EXCLUSIVE)]),
    ("create statistics st on a, b from t", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("alter sequence sq restart", [("sq", SHARE_ROW_EXCLUSIVE)]),
    ("lock table t in share row exclusive mode", [("t", SHARE_ROW_EXCLUSIVE)]),
    ("lock table t", [("t", ACCESS_EXCLUSIVE)]),
    ("vacuum full t", [("t", ACCESS_EXCLUSIVE)]),
    ("analyze t", [("t", SHARE_UPDATE_EXCLUSIVE)]),
    ("cluster t using i", [("t", ACCESS_EXCLUSIVE)]),
    ("reindex table t", [("t", SHARE)]),
    ("refresh materialized view m", [("m", ACCESS_EXCLUSIVE)]),
    ("refresh materialized view concurrently m", [("m", EXCLUSIVE)]),
    ("create table p1 partition of p for values in (1)", [("p", ACCESS_EXCLUSIVE), ("p1", ACCESS_SHARE)]),
    ("create table c () inherits (p)", [("c", ACCESS_SHARE), ("p", SHARE_UPDATE_EXCLUSIVE)]),
    ('create table x (a int references "My Schema"."T" (id))',
     [('"My Schema"."T"', SHARE_ROW_EXCLUSIVE), ("x", ACCESS_SHARE)]),
    ("create or replace view v as select * from t join u using (id)",
     [("t", ACCESS_SHARE), ("u", ACCESS_SHARE), ("v", ACCESS_EXCLUSIVE)]),
    # Data changes and reads.
    ("insert into t select * from u", [("t", ROW_EXCLUSIVE), ("u", ACCESS_SHARE)]),
    ("update t set a = 1 from u where u.id = t.id", [("t", ROW_EXCLUSIVE), ("u", ACCESS_SHARE)]),
    ("delete from t where a in (select a from u)", [("t", ROW_EXCLUSIVE), ("u", ACCESS_SHARE)]),
    ("with x as (select 1) select * from x join t on true", [("t", ACCESS_SHARE)]),
    # No table lock at all.
    ("create function f() returns int language sql as $$ select count(*) from t $$", []),
    ("create type mood as enum ('ok')", []),
    ("create schema s", []),
])
def test_statement_locks(statement, expected):
    assert locks_of(statement) == (sorted(expected), False)


@pytest.mark.parametrize("statement", [
    "do $$ begin alter table t add column x int; end $$",
    "call maintenance()",
    "select nonsense from",  # unparsable: the server reports the error; its locks are unknown
])
def test_opaque_statements(statement):
    assert statement_locks(statement) == ([], True)


def test_migration_locks_collects_modes_per_relation_and_opaque_statements():
    locks = migration_locks([
        "create index i on public.t (a)",
        "comment on table public.t is 'x'",
        "do $$ begin perform 1; end $$",
        "alter table public.u add column b int",
    ])
    assert locks.modes == {"public.t": {SHARE, SHARE_UPDATE_EXCLUSIVE}, "public.u": {ACCESS_EXCLUSIVE}}
    assert locks.opaque == [3]
    assert [n.statement for n in locks.needs] == [1, 2, 4]
    assert locks.strongest("public.t") == SHARE
    assert locks.summary() == "SHARE on public.t, ACCESS EXCLUSIVE on public.u"
    assert not migration_locks(["create schema s"])


def test_conflict_table_is_postgresql_s():
    # Symmetric, as PostgreSQL's is, and the documented extremes.
    for a in LOCK_MODES:
        for b in LOCK_MODES:
            assert conflicts(a, b) == conflicts(b, a), (a, b)
    assert CONFLICTS[ACCESS_SHARE] == frozenset([ACCESS_EXCLUSIVE])
    assert CONFLICTS[ACCESS_EXCLUSIVE] == frozenset(LOCK_MODES)
    assert not conflicts(SHARE, SHARE) and conflicts(SHARE_UPDATE_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE)
    assert conflicts(SHARE, ROW_EXCLUSIVE) and not conflicts(SHARE_UPDATE_EXCLUSIVE, ROW_EXCLUSIVE)
    assert conflicts(ROW_SHARE, EXCLUSIVE) and not conflicts(ROW_SHARE, SHARE_ROW_EXCLUSIVE)
    assert sql_mode_name(SHARE_ROW_EXCLUSIVE) == "SHARE ROW EXCLUSIVE"


def session(**overrides):
    values = dict(pid=4242, user="dashboard", application_name="grafana", state="idle in transaction",
                  backend_type="client backend", xact_age=8.04, query="select * from t where email = 'a@b.c'",
                  relation="public.t", mode=ACCESS_SHARE, granted=True, prepared_gid=None, wait_event="Client:ClientRead")
    values.update(overrides)
    return Session(**values)


def test_describe_session_names_the_blocker_on_one_line():
    line = describe_session(session())
    assert line == ("pid 4242 (user dashboard, application_name 'grafana', idle in transaction, transaction open "
                    "8.0 s, holds AccessShareLock on public.t, query: select * from t where email = '...')")
    waiting = describe_session(session(granted=False, mode=ACCESS_EXCLUSIVE, state="active", xact_age=400.0,
                                       backend_type="autovacuum worker", query=None))
    assert "waits for AccessExclusiveLock on public.t" in waiting
    assert "autovacuum worker" in waiting and "transaction open 7 min" in waiting and "query: not visible" in waiting
    assert "\n" not in waiting


def test_describe_prepared_transaction_and_hidden_fields():
    line = describe_session(session(pid=None, prepared_gid="tx-42", user=None, application_name=None, state=None,
                                    query=None, xact_age=7300.0))
    assert line == "prepared transaction 'tx-42' (transaction open 2.0 h, holds AccessShareLock on public.t)"
    hidden = describe_session(session(state=None, xact_age=None, query="<insufficient privilege>"))
    assert "state not visible" in hidden and "transaction age not visible" in hidden


@pytest.mark.parametrize("query,expected", [
    ("select * from users where email = 'a@b.c' and n = 42", "select * from users where email = '...' and n = 42"),
    ("alter role app password 'hunter22'", "alter role app password '...'"),
    ("select E'it''s', U&'x', $q$ secret $q$, $$ body $$, $1", "select '...', '...', '...', '...', $1"),
    ("insert into t values ('cut off by track_activity_query_si", "insert into t values ('...'"),
    ("copy t from program 'curl postgresql://u:pw@db/x'", "copy t from program '...'"),
    ("select 1 -- postgresql://app:s3cret@db:5432/x", "select 1 -- postgresql://app:********@db:5432/x"),
    ("select\n   a,\n\tb from t", "select a, b from t"),
])
def test_redact_query(query, expected):
    assert redact_query(query, limit=200) == expected


def test_redact_query_cuts_and_masks_known_secrets():
    assert redact_query("select 'x' from " + "t" * 100, limit=20) == "select '...' from..."
    assert "hunter22" not in redact_query("select hunter22 from t", secrets=["hunter22"])
    assert redact_query(None) == ""


def test_old_blockers_keeps_old_and_unknown_ages():
    young, old, unknown = session(pid=1, xact_age=0.05), session(pid=2, xact_age=3.0), session(pid=3, xact_age=None)
    assert old_blockers([young, old, unknown], 1.0) == [old, unknown]
    assert old_blockers([young], 0.0) == [young]


class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_retry_budget_backoff_is_jittered_exponential_and_capped():
    clock = FakeClock()
    budget = RetryBudget(60, base_delay=0.1, max_delay=2.0, clock=clock, rng=random.Random(7))
    for attempt, nominal in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.6), (6, 2.0), (12, 2.0)]:
        delays = [budget.delay(attempt) for _i in range(200)]
        assert all(nominal / 2 <= d <= nominal for d in delays), attempt
        assert max(delays) - min(delays) > nominal / 4, "no jitter at attempt %d" % attempt


def test_retry_budget_never_waits_past_its_end():
    clock = FakeClock()
    budget = RetryBudget(10, base_delay=4, max_delay=8, clock=clock, rng=random.Random(1))
    assert not budget.spent() and budget.remaining() == 10
    clock.now += 9.5
    assert budget.delay(3) == pytest.approx(0.5)
    clock.now += 1
    assert budget.spent() and budget.remaining() == 0 and budget.delay(1) == 0
    assert budget.elapsed() == pytest.approx(10.5)


@pytest.mark.parametrize("value", [None, -1])
def test_retry_budget_rejects_a_negative_budget(value):
    with pytest.raises(InvalidInput, match="lock retry budget must be zero or more seconds"):
        RetryBudget(value)


class ListLog(object):
    def __init__(self):
        self.lines = []

    def write(self, message):
        self.lines.append(message)


def flaky(failures):
    """An attempt that is refused its lock ``failures`` times, then succeeds."""
    calls = []

    def attempt():
        calls.append(1)
        if len(calls) <= failures:
            raise LockNotGranted()
        return "done"
    return attempt, calls


def test_attempts_back_off_until_granted():
    clock = FakeClock()
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.now += seconds
    attempt, calls = flaky(3)
    log = ListLog()
    policy = LockPolicy(lock_timeout=0.2, budget=60, base_delay=0.25, max_delay=5)
    assert attempt_within_budget(None, MigrationLocks([], []), policy, attempt, log, sleep=sleep, clock=clock,
                                 rng=random.Random(3), label="20250101_x.sql") == ("done", 4)
    assert len(calls) == 4 and len(slept) == 3
    assert [0.125 <= slept[0] <= 0.25, 0.25 <= slept[1] <= 0.5, 0.5 <= slept[2] <= 1.0] == [True] * 3
    assert log.lines[0].startswith("  20250101_x.sql: lock not granted within 0.2 s (attempt 1); retrying in 0.")


def test_attempts_stop_when_the_budget_or_the_count_is_spent_or_a_stop_is_asked():
    clock = FakeClock()

    def sleep(seconds):
        clock.now += seconds
    attempt, calls = flaky(1000)
    with pytest.raises(LockBudgetSpent) as spent:
        attempt_within_budget(None, MigrationLocks([], []), LockPolicy(budget=10, max_delay=2), attempt, sleep=sleep,
                              clock=clock, rng=random.Random(1))
    assert spent.value.attempts == len(calls) and 7 <= spent.value.attempts <= 12 and spent.value.waited >= 10
    attempt, calls = flaky(1000)
    with pytest.raises(LockBudgetSpent) as counted:
        attempt_within_budget(None, MigrationLocks([], []), LockPolicy(budget=600, max_attempts=3), attempt,
                              sleep=sleep, clock=clock)
    assert counted.value.attempts == 3 == len(calls)
    attempt, calls = flaky(0)
    with pytest.raises(LockBudgetSpent) as stopped:
        attempt_within_budget(None, MigrationLocks([], []), LockPolicy(), attempt, stop=lambda: "received SIGTERM",
                              sleep=sleep, clock=clock)
    assert stopped.value.stopped == "received SIGTERM" and calls == []


@pytest.mark.parametrize("name,value", [("lock_timeout", -1), ("budget", None), ("blocker_age", -0.1)])
def test_lock_policy_rejects_negative_durations(name, value):
    with pytest.raises(InvalidInput, match="%s must be zero or more seconds" % name):
        LockPolicy(**{name: value})
