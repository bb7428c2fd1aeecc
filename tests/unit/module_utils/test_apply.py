"""Unit tests of the apply engine's logic (no database)."""
import datetime
from collections import namedtuple

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply import (
    ApplyLog,
    ApplyOptions,
    apply_one,
    default_log_path,
    find_non_transactional,
    plan_apply,
    refuse_transaction_pooler,
    segments_for,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import classify
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import DriftError, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory


def kinds(statements):
    return [(f["index"], f["kind"]) for f in find_non_transactional(statements)]


@pytest.mark.parametrize("statement,kind", [
    ("create index concurrently i on t (a)", "concurrently"),
    ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "concurrently"),
    ("drop index concurrently i", "concurrently"),
    ("reindex index concurrently i", "concurrently"),
    ("alter table p detach partition c concurrently", "concurrently"),
    ("vacuum (analyze) t", "vacuum"),
    ("begin", "transaction_control"),
    ("start transaction", "transaction_control"),
    ("commit", "transaction_control"),
    ("rollback", "transaction_control"),
    ("create database x", "database"),
    ("alter system set work_mem = '1MB'", "database"),
])
def test_non_transactional_statements(statement, kind):
    assert kinds([statement]) == [(1, kind)]


@pytest.mark.parametrize("statement", [
    "analyze t",
    "create index i on t (a)",
    "savepoint s",
    "refresh materialized view concurrently mv",
    "create function f() returns void language plpgsql as $$ begin commit; end $$",
    "create procedure p() language sql begin atomic select 1; end",
    "select 'vacuum' as word, 'begin' as other",
    "select nonsense from",  # unparsable: left to the server, which reports the error
])
def test_transactional_statements(statement):
    assert kinds([statement]) == []


def test_add_value_only_flagged_when_used_later():
    assert kinds(["alter type mood add value 'great'", "create table t (m mood)"]) == []
    found = find_non_transactional(["alter type mood add value 'great'", "select 1",
                                    "create table t (m mood default 'great')"])
    assert [(f["index"], f["kind"], f["used_at"]) for f in found] == [(1, "enum_value_used", 3)]


def test_segments():
    assert segments_for(["a", "b"], []) == [dict(transactional=True, indexes=[1, 2])]
    statements = ["create table t (id int)", "create index concurrently i on t (id)", "select 1", "vacuum t"]
    assert segments_for(statements, find_non_transactional(statements)) == [
        dict(transactional=True, indexes=[1]), dict(transactional=False, indexes=[2]),
        dict(transactional=True, indexes=[3]), dict(transactional=False, indexes=[4])]
    enum = ["create type m as enum ('a')", "alter type m add value 'b'", "select 'b'::m"]
    assert segments_for(enum, find_non_transactional(enum)) == [
        dict(transactional=True, indexes=[1, 2]), dict(transactional=True, indexes=[3])]
    own = ["begin", "create table x (id int)", "commit"]
    assert segments_for(own, find_non_transactional(own)) == [dict(transactional=False, indexes=[1, 2, 3])]


@pytest.mark.parametrize("kwargs,message", [
    (dict(engine="flyway"), "engine must be one of"),
    (dict(non_transactional="ignore"), "non_transactional must be one of"),
    (dict(lock_timeout=-1), "lock_timeout must be zero or positive"),
    (dict(target_version="v1"), "target_version must be a migration version"),
    (dict(environment="../etc"), "environment must be a simple name"),
])
def test_options_validation(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        ApplyOptions(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_default_log_path():
    now = datetime.datetime(2025, 10, 19, 2, 3, 4, tzinfo=datetime.timezone.utc)
    assert default_log_path("production", "/srv", now) == \
        "/srv/artifacts/data/production_migration_apply_20251019_020304.log"


def test_log_is_exclusive_per_run_and_redacted(tmp_path):
    path = str(tmp_path / "a" / "x.log")
    first = ApplyLog(path, exclusive=True, secrets=["hunter22"])
    second = ApplyLog(path, exclusive=True)
    assert first.path != second.path and second.path.endswith("x_2.log")
    first.write("connecting to postgresql://u:hunter22@h/db")
    first.close()
    second.close()
    text = open(first.path).read()
    assert "hunter22" not in text and text.endswith("\n")


def test_pooler_refused():
    settings = ConnectionSettings.from_url("postgresql://postgres.ref:pw@aws-0.pooler.supabase.com:6543/postgres")
    with pytest.raises(InvalidInput) as err:
        refuse_transaction_pooler(settings)
    assert "6543" in str(err.value) and "session pooler" in str(err.value)
    refuse_transaction_pooler(ConnectionSettings.from_url("postgresql://postgres:pw@db.ref.supabase.co:5432/postgres"))


def _project(tmp_path, files):
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, text in files.items():
        (migrations / name).write_text(text)
    return load_directory(str(tmp_path))


Row = namedtuple("Row", "version name statements")


def test_plan_refuses_remote_only_and_out_of_order(tmp_path):
    local = _project(tmp_path, {"20251011000000_a.sql": "select 1;", "20251013000000_c.sql": "select 3;"})
    remote = [HistoryRow("20251012000000", "b", ["select 2"])]
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, remote), ApplyOptions())
    assert "20251012000000" in str(err.value) and "allow_remote_only" in str(err.value)
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, remote), ApplyOptions(allow_remote_only=True))
    assert "include_all" in str(err.value) and err.value.result["out_of_order"] == ["20251011000000"]
    planned = plan_apply(local, classify(local, remote), ApplyOptions(allow_remote_only=True, include_all=True))
    assert [p.version for p in planned] == ["20251011000000", "20251013000000"]


def test_plan_target_version_and_refusals(tmp_path):
    local = _project(tmp_path, {"20251011000000_a.sql": "select 1;", "20251012000000_b.sql": "vacuum;",
                                "20251013000000_c.sql": "select 3;"})
    report = classify(local, [])
    assert [p.version for p in plan_apply(local, report, ApplyOptions(target_version="20251011000000"))] == \
        ["20251011000000"]
    with pytest.raises(InvalidInput) as err:
        plan_apply(local, report, ApplyOptions())
    assert "20251012000000_b.sql" in str(err.value) and "VACUUM" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        plan_apply(local, report, ApplyOptions(engine="cli", non_transactional="isolate"))
    assert "engine=native" in str(err.value)
    planned = plan_apply(local, report, ApplyOptions(non_transactional="isolate"))
    assert [p.transactional for p in planned] == [True, False, True]


def test_plan_refuses_duplicates(tmp_path):
    local = _project(tmp_path, {"20251015_dashboard_rpc_functions.sql": "select 1;",
                                "20251015_dashboard_tile_queries.sql": "select 2;"})
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, []), ApplyOptions())
    assert "20251015_dashboard_tile_queries.sql" in str(err.value) and "\n" not in str(err.value)


class _FakeError(Exception):
    pass


def test_apply_one_retries_lock_timeouts_with_backoff(monkeypatch):
    """apply_one's retry loop, with the segment runner replaced: two lock timeouts, then success."""
    from ansible_collections.hotdash.supabase.plugins.module_utils import apply as applymod

    class LockError(Exception):
        pgcode = applymod.LOCK_NOT_AVAILABLE

    calls = []

    def fake_run(conn, planned, segment, options, write_history):
        calls.append(write_history)
        if len(calls) < 3:
            raise applymod._StatementFailed(1, LockError("lock timeout"), True)

    monkeypatch.setattr(applymod, "_run_segment", fake_run)
    planned = applymod.PlannedMigration(
        namedtuple("M", "version name filename")("1", "a", "1_a.sql"), ["alter table t add c int"], [],
        [dict(transactional=True, indexes=[1])])
    sleeps = []
    result = apply_one(None, planned, ApplyOptions(lock_retries=3, lock_retry_backoff=0.5), sleep=sleeps.append)
    assert result["attempts"] == 3 and sleeps == [0.5, 1.0] and calls == [True, True, True]
