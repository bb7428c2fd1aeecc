"""migration_apply (native engine) against a real throwaway PostgreSQL."""
import os
import threading

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, run_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import ADVISORY_LOCK_KEY
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import LockUnavailable
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


def write(project, filename, text):
    path = project / "supabase" / "migrations" / filename
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def args(db, project, tmp_path, **extra):
    out = dict(db.connection_args(), project_dir=str(project), log_path=str(tmp_path / "apply.log"))
    out.update(extra)
    return out


def three(project):
    write(project, "20251011000000_facts.sql", "create table facts (id bigint primary key, project text);\n")
    write(project, "20251012000000_seed.sql", "-- seed one row\ninsert into facts values (1, 'occ');\n"
          "create function f() returns int language sql as $$ select 1; $$;\n")
    write(project, "20251013000000_idx.sql", "create index facts_project on facts (project);")


def test_check_mode_lists_plan_and_changes_nothing(db, project, tmp_path, run_module):
    three(project)
    before = db.schema_fingerprint()
    result = run_module("migration_apply", args(db, project, tmp_path), check_mode=True)
    assert not result.get("failed"), result
    assert result["changed"] is True
    assert [p["version"] for p in result["plan"]] == ["20251011000000", "20251012000000", "20251013000000"]
    assert result["queries"][0].startswith("create table facts")
    assert result["applied"] == [] and result["log_path"] is None
    assert db.schema_fingerprint() == before and db.history() == {}
    assert not (tmp_path / "apply.log").exists()


def test_apply_records_cli_statements_and_second_run_is_unchanged(db, project, tmp_path, run_module):
    three(project)
    before = db.scalar("SELECT clock_timestamp()")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert not result.get("failed"), result
    assert result["changed"] is True
    # The moment a point-in-time rollback restores to: on the server's clock, before the first change.
    started = db.scalar("SELECT %s::timestamptz", (result["started_at"],))
    assert before <= started <= db.scalar("SELECT clock_timestamp()")
    assert "started at %s (database clock)" % result["started_at"] in (tmp_path / "apply.log").read_text()
    assert [a["version"] for a in result["applied"]] == ["20251011000000", "20251012000000", "20251013000000"]
    assert all(isinstance(a["duration_ms"], int) for a in result["applied"])
    history = db.history()
    text = (project / "supabase" / "migrations" / "20251012000000_seed.sql").read_text()
    assert history["20251012000000"] == ("seed", split_statements(text))
    assert db.scalar("select count(*) from facts") == 1
    log = (tmp_path / "apply.log").read_text()
    assert "applied 20251013000000_idx.sql" in log and db.password + "@" not in log
    again = run_module("migration_apply", args(db, project, tmp_path))
    assert again["changed"] is False and again["applied"] == []
    check = run_module("migration_apply", args(db, project, tmp_path), check_mode=True)
    assert check["changed"] is False and check["plan"] == []


def test_default_log_path_under_artifacts(db, project, tmp_path, run_module, monkeypatch):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    monkeypatch.chdir(tmp_path)
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project), environment="staging"))
    assert not result.get("failed"), result
    path = result["log_path"]
    assert path.startswith(str(tmp_path / "artifacts" / "data" / "staging_migration_apply_")) and path.endswith(".log")
    assert "applied 20251011000000_a.sql" in open(path).read()


def test_invalid_sql_rolls_back_that_migration_and_keeps_earlier(db, project, tmp_path, run_module):
    write(project, "20251011000000_ok.sql", "create table ok1 (id int);")
    write(project, "20251012000000_bad.sql", "create table half (id int);\nselect nonsense from;\n")
    write(project, "20251013000000_later.sql", "create table later (id int);")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] is True
    msg = result["msg"]
    assert "\n" not in msg and "20251012000000_bad.sql" in msg and "statement 2 of 2" in msg and "42601" in msg
    assert "rolled back" in msg
    assert [a["version"] for a in result["applied"]] == ["20251011000000"]
    assert result["failed_file"] == "20251012000000_bad.sql" and result["changed"] is True
    assert result["started_at"].endswith("Z")  # a failed run still says when it started changing the database
    assert set(db.history()) == {"20251011000000"}
    assert db.table_exists("public.ok1") and not db.table_exists("public.half") and not db.table_exists("public.later")
    assert "FAILED" in (tmp_path / "apply.log").read_text()


def test_duplicate_versions_refused_before_anything_runs(db, project, tmp_path, run_module):
    write(project, "20251011000000_first.sql", "create table first_t (id int);")
    write(project, "20251015_dashboard_rpc_functions.sql", "create table rpc (id int);")
    write(project, "20251015_dashboard_tile_queries.sql", "create table tiles (id int);")
    before = db.schema_fingerprint()
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] and "\n" not in result["msg"]
    assert "20251015_dashboard_tile_queries.sql" in result["msg"] and "rename" in result["msg"]
    assert db.schema_fingerprint() == before and db.history() == {}


def test_remote_only_refused_unless_allowed(db, project, tmp_path, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    run_module("migration_apply", args(db, project, tmp_path))
    os.unlink(str(project / "supabase" / "migrations" / "20251011000000_a.sql"))
    write(project, "20251012000000_b.sql", "create table b (id int);")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] and "20251011000000" in result["msg"] and "remote" in result["msg"]
    assert "\n" not in result["msg"] and not db.table_exists("public.b")
    result = run_module("migration_apply", args(db, project, tmp_path, allow_remote_only=True))
    assert not result.get("failed"), result
    assert db.table_exists("public.b")


def test_out_of_order_needs_include_all(db, project, tmp_path, run_module):
    write(project, "20251012000000_b.sql", "create table b (id int);")
    run_module("migration_apply", args(db, project, tmp_path))
    write(project, "20251011000000_a.sql", "create table a (id int);")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] and "include_all" in result["msg"] and not db.table_exists("public.a")
    result = run_module("migration_apply", args(db, project, tmp_path, include_all=True))
    assert not result.get("failed") and [a["version"] for a in result["applied"]] == ["20251011000000"]


def test_target_version_stops_early(db, project, tmp_path, run_module):
    three(project)
    result = run_module("migration_apply", args(db, project, tmp_path, target_version="20251012000000"))
    assert [a["version"] for a in result["applied"]] == ["20251011000000", "20251012000000"]
    assert set(db.history()) == {"20251011000000", "20251012000000"}
    bad = run_module("migration_apply", args(db, project, tmp_path, target_version="20990101000000"))
    assert bad["failed"] and "target_version" in bad["msg"]


def test_non_transactional_refused_by_default(db, project, tmp_path, run_module):
    write(project, "20251011000000_t.sql", "create table t (id int);")
    write(project, "20251012000000_idx.sql", "-- big table\ncreate index concurrently t_id on t (id);")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] and "\n" not in result["msg"]
    assert "20251012000000_idx.sql" in result["msg"] and "CREATE INDEX CONCURRENTLY" in result["msg"]
    assert "non_transactional=isolate" in result["msg"]
    assert db.history() == {} and not db.table_exists("public.t")


def test_non_transactional_isolated(db, project, tmp_path, run_module):
    write(project, "20251011000000_t.sql", "create table t (id int);")
    write(project, "20251012000000_idx.sql",
          "create table u (id int);\ncreate index concurrently t_id on t (id);\nvacuum t;\ncreate table v (id int);")
    write(project, "20251013000000_enum.sql",
          "create type mood as enum ('ok');\nalter type mood add value 'great';\n"
          "create table m (x mood default 'great');")
    result = run_module("migration_apply", args(db, project, tmp_path, non_transactional="isolate"))
    assert not result.get("failed"), result
    plan = {p["version"]: p for p in result["plan"]}
    assert [f["detail"] for f in plan["20251012000000"]["non_transactional"]] == ["CREATE INDEX CONCURRENTLY", "VACUUM"]
    assert plan["20251013000000"]["non_transactional"][0]["kind"] == "enum_value_used"
    assert set(db.history()) == {"20251011000000", "20251012000000", "20251013000000"}
    assert db.scalar("select indisvalid from pg_index where indexrelid = 'public.t_id'::regclass") is True
    assert db.table_exists("public.m") and db.table_exists("public.v")


def test_isolated_failure_reports_partial_and_writes_no_history(db, project, tmp_path, run_module):
    write(project, "20251011000000_x.sql", "create table x (id int);\ncreate index concurrently x_id on x (id);\n"
          "create table x (id int);")
    result = run_module("migration_apply", args(db, project, tmp_path, non_transactional="isolate"))
    assert result["failed"] and "PARTIALLY" in result["msg"] and result["partial"] is True
    assert result["changed"] is True and db.history() == {}


def test_own_begin_commit_is_detected(db, project, tmp_path, run_module):
    write(project, "20251011000000_tx.sql", "begin;\ncreate table y (id int);\ncommit;")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert result["failed"] and "BEGIN" in result["msg"]
    ok = run_module("migration_apply", args(db, project, tmp_path, non_transactional="isolate"))
    assert not ok.get("failed"), ok
    assert db.table_exists("public.y") and set(db.history()) == {"20251011000000"}


def test_lock_timeout_retries_then_fails_clearly(db, project, tmp_path, run_module):
    db.execute("create table busy (id int)")
    write(project, "20251011000000_alter.sql", "alter table busy add column note text;")
    blocker = db.connect(autocommit=False)
    blocker_pid = blocker.get_backend_pid()
    try:
        blocker.cursor().execute("lock table busy in access exclusive mode")
        # A blocker "younger" than blocker_transaction_age is tried against; lock_retries bounds the tries.
        result = run_module("migration_apply", args(db, project, tmp_path, lock_timeout=0.2, lock_retries=2,
                                                    lock_retry_backoff=0.05, blocker_transaction_age=60))
    finally:
        blocker.rollback()
        blocker.close()
    assert result["failed"] and "\n" not in result["msg"]
    assert "ACCESS EXCLUSIVE on busy not granted" in result["msg"] and "(3 attempt(s), lock_timeout 0.2 s" in result["msg"]
    assert "in the way: pid %d" % blocker_pid in result["msg"] and result["failed_file"]
    assert db.history() == {} and result["applied"] == [] and result["partial"] is False
    assert "lock not granted within 0.2 s (attempt 2); in the way: pid" in (tmp_path / "apply.log").read_text()


def test_lock_timeout_retry_succeeds_when_lock_is_released(db, project, tmp_path):
    db.execute("create table busy (id int)")
    write(project, "20251011000000_alter.sql", "alter table busy add column note text;")
    blocker = db.connect(autocommit=False)
    blocker.cursor().execute("lock table busy in access exclusive mode")
    timer = threading.Timer(0.5, blocker.rollback)
    timer.start()
    try:
        result = run_apply(db.settings(), str(project), ApplyOptions(lock_timeout=0.2, lock_retries=10,
                                                                     lock_retry_backoff=0.1,
                                                                     log_path=str(tmp_path / "l.log")))
    finally:
        timer.join()
        blocker.close()
    assert result["applied"][0]["attempts"] >= 2
    assert set(db.history()) == {"20251011000000"}


def test_statement_timeout(db, project, tmp_path, run_module):
    write(project, "20251011000000_slow.sql", "select pg_sleep(5);")
    result = run_module("migration_apply", args(db, project, tmp_path, statement_timeout=0.3))
    assert result["failed"] and "statement_timeout" in result["msg"] and db.history() == {}


def test_second_runner_waits_then_fails_clearly(db, project, tmp_path, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    holder = db.connect()
    try:
        holder.cursor().execute("select pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        result = run_module("migration_apply", args(db, project, tmp_path, apply_lock_wait=0.5))
    finally:
        holder.close()
    assert result["failed"] and "another runner" in result["msg"] and "pid" in result["msg"]
    assert "\n" not in result["msg"] and db.history() == {} and not db.table_exists("public.a")


def test_two_concurrent_appliers_apply_once(db, project, tmp_path):
    write(project, "20251011000000_slow.sql", "create table slow (id int);\nselect pg_sleep(0.5);")
    write(project, "20251012000000_b.sql", "create table b2 (id int);")
    results, errors = [], []

    def runner(n, wait):
        try:
            results.append(run_apply(db.settings(), str(project),
                                     ApplyOptions(apply_lock_wait=wait, log_path=str(tmp_path / ("r%d.log" % n)))))
        except LockUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(n, 30)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    applied = sorted(len(r["applied"]) for r in results)
    assert applied == [0, 2]  # the second runner waited, re-read the history and found nothing to do
    assert set(db.history()) == {"20251011000000", "20251012000000"}


def test_transaction_pooler_port_refused(db, project, tmp_path, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    url = "postgresql://postgres:secret-pw@127.0.0.1:6543/postgres?sslmode=disable"
    result = run_module("migration_apply", dict(db_url=url, project_dir=str(project)))
    assert result["failed"] and "6543" in result["msg"] and "session" in result["msg"]
    assert "secret-pw" not in result["msg"]
    # Nothing ran, and the result says that is certain (a report never reads "what committed is not known").
    assert result["applied"] == [] and result["applied_verified"] is True and result["failed_file"] is None


@pytest.mark.parametrize("url,expected", [
    ("mysql://u:pw-xyz@h/db", "postgresql:// URL"),
    ("postgresql://postgres:pw-xyz@127.0.0.1:1/postgres?sslmode=disable", "Connection refused"),
])
def test_bad_dsn_and_unreachable_host(project, url, expected, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    result = run_module("migration_apply", dict(db_url=url, project_dir=str(project), connect_timeout=2))
    assert result["failed"] and expected in result["msg"] and "pw-xyz" not in result["msg"]
    assert "\n" not in result["msg"]


def test_wrong_password(db, project, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    url = db.url.replace(":%s@" % db.password, ":Wrong-pass-1@")
    result = run_module("migration_apply", dict(db_url=url, project_dir=str(project)))
    assert result["failed"] and "password authentication failed" in result["msg"]
    assert result["applied"] == [] and result["applied_verified"] is True and result["partial"] is False
    assert "Wrong-pass-1" not in result["msg"] and db.history() == {}


def test_missing_directory_and_bad_files(db, tmp_path, project, run_module):
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(tmp_path / "nope")))
    assert result["failed"] and "migrations directory not found" in result["msg"]
    write(project, "20251011000000_a.sql", b"create table \xff (id int);")
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project)))
    assert result["failed"] and "UTF-8" in result["msg"] and db.history() == {}
    write(project, "20251011000000_a.sql", "  \n")
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project)))
    assert result["failed"] and "empty" in result["msg"] and db.history() == {}


def test_trailing_comment_only_statement_is_recorded_and_harmless(db, project, tmp_path, run_module):
    write(project, "20251011000000_c.sql", "create table c (id int);\n-- the end")
    result = run_module("migration_apply", args(db, project, tmp_path))
    assert not result.get("failed"), result
    assert db.history()["20251011000000"][1] == ["create table c (id int)", "-- the end"]


def test_error_status_reports_the_failure_as_checks(db, project, tmp_path, run_module):
    write(project, "20251011000000_x.sql", "create table x (id int);\ncreate index concurrently x_id on x (id);\n"
          "create table x (id int);")
    result = run_module("migration_apply", args(db, project, tmp_path, non_transactional="isolate", error_status="fail"))
    assert not result.get("failed") and result["passed"] is False and result["partial"] is True
    assert [(c["name"], c["status"]) for c in result["checks"]] == [("pending migrations", "ok"), ("apply", "fail")]
    assert "PARTIALLY" in result["error"] and result["checks"][1]["detail"].startswith(result["error"])
    assert result["failed_file"] == "20251011000000_x.sql" and result["changed"] is True
    unreachable = run_module("migration_apply", dict(args(db, project, tmp_path, error_status="warn"),
                                                     db_url="postgresql://nobody@127.0.0.1:1/none", connect_timeout=2))
    assert not unreachable.get("failed") and [(c["name"], c["status"]) for c in unreachable["checks"]] == [
        ("pending migrations", "warn")]
    assert unreachable["passed"] is True and unreachable["error"]
