"""db_inspect through the real Supabase CLI against real PostgreSQL."""
import json
import threading
import time

import pytest


def inspect(run_module, db, cli, **options):
    args = dict(db.connection_args(), cli_path=cli)
    args.update(options)
    return run_module("db_inspect", args)


@pytest.fixture
def blocked(db):
    """A session holds a row lock another session waits for, and an ACCESS EXCLUSIVE lock on a second table
    (what a migration holds); released after the test."""
    db.execute("CREATE TABLE public.hot (id int); INSERT INTO public.hot VALUES (1); CREATE TABLE public.cold (id int)")
    holder = db.connect(autocommit=False)
    holder.cursor().execute("UPDATE public.hot SET id = 2 WHERE id = 1; LOCK TABLE public.cold IN ACCESS EXCLUSIVE MODE")
    waiter = db.connect(autocommit=True)
    thread = threading.Thread(target=lambda: waiter.cursor().execute("UPDATE public.hot SET id = 3 WHERE id = 1"),
                              daemon=True)
    thread.start()
    for _attempt in range(100):
        if db.scalar("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s", (db.name,)):
            break
        time.sleep(0.05)
    yield db
    holder.rollback()
    holder.close()
    thread.join(10)
    waiter.close()


def test_default_reports_see_a_blocked_statement(blocked, run_module, supabase_cli):
    # db-stats sizes every table, so it waits behind the lock too: cancelled by statement_timeout, not hanging.
    result = inspect(run_module, blocked, supabase_cli, statement_timeout=2)
    assert not result.get("failed"), result.get("msg")
    assert sorted(result["reports"]) == sorted(["locks", "blocking", "long-running-queries", "outliers", "db-stats"])
    assert result["reports"]["blocking"], "the waiting SELECT should be reported as blocked"
    assert any("UPDATE public.hot SET id = 3" in json.dumps(row) for row in result["reports"]["blocking"])
    checks = dict((c["name"], c) for c in result["checks"])
    assert checks["inspect blocking"]["status"] == "warn"
    assert result["reports"]["db-stats"] is None and checks["inspect db-stats"]["status"] == "skipped"
    assert [w for w in result["unavailable"] if w.startswith("db-stats: cancelled after 2")]
    assert isinstance(result["reports"]["outliers"], list)
    assert result["changed"] is False and result["cli_version"]


def test_missing_pg_stat_statements_skips_outliers_only(db, run_module, supabase_cli):
    db.execute("DROP EXTENSION pg_stat_statements")
    result = inspect(run_module, db, supabase_cli, reports=["outliers", "blocking", "db-stats"], cli_timeout=60)
    assert not result.get("failed"), result.get("msg")
    # Both read pg_stat_statements in schema extensions (CLI 2.122.1); locks-style reports still run.
    assert result["reports"]["outliers"] is None and result["reports"]["db-stats"] is None
    assert result["reports"]["blocking"] == []
    assert "pg_stat_statements" in result["unavailable"][0]
    assert dict((c["name"], c["status"]) for c in result["checks"])["inspect outliers"] == "skipped"


def test_wrong_password_is_one_line_and_never_echoed(db, run_module, supabase_cli):
    url = db.url.replace(":%s@" % db.password, ":Wr0ng-s3cret@")
    result = run_module("db_inspect", dict(db_url=url, cli_path=supabase_cli, reports=["locks"]))
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("supabase inspect db locks cannot connect to")
    assert "password authentication failed" in result["msg"]
    assert "Wr0ng-s3cret" not in json.dumps(result)


def test_missing_cli_is_a_clear_error(db, run_module, tmp_path):
    result = inspect(run_module, db, str(tmp_path / "no-supabase"), reports=["locks"])
    assert result["failed"] and "Supabase CLI not found" in result["msg"] and "\n" not in result["msg"]


def test_unknown_report_is_refused_before_running(db, run_module, supabase_cli):
    result = inspect(run_module, db, supabase_cli, reports=["locks", "cache-hits"])
    assert result["failed"] and "cache-hits" in result["msg"] and "\n" not in result["msg"]
