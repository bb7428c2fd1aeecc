"""rls_check against real PostgreSQL with the hotdash schema: coverage, scenarios, SQL and pgTAP files."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
SCENARIOS = [
    {"name": "anon sees no facts", "role": "anon", "table": "facts", "expect": "rows == 0"},
    {"name": "occ sees its facts", "role": "authenticated", "settings": {"app.current_project": "occ"},
     "table": "facts", "expect": "rows == 2"},
    {"name": "hq sees its fact", "role": "authenticated", "claims": {"sub": "00000000-0000-0000-0000-0000000000aa"},
     "settings": {"app.current_project": "hq"}, "query": "select project from public.facts",
     "expect": "rows == 1 and value == 'hq'"},
    {"name": "anon cannot write", "role": "anon", "query": "insert into public.facts (project, key) values ('x', 'y')",
     "expect_error": "read-only transaction"},
]
TEST_FILES = [os.path.join(EXAMPLE, "supabase", "rls_tests.sql"), os.path.join(EXAMPLE, "supabase", "tests", "database")]


def rls_args(db, **extra):
    args = dict(db.connection_args(), environment="staging", allow_without_policy=["observability_logs"],
                scenarios=SCENARIOS, test_files=TEST_FILES)
    args.update(extra)
    return args


def test_everything_passes_on_the_example(hotdash, run_module, by_name):
    before = hotdash.schema_fingerprint()
    result = run_module("rls_check", rls_args(hotdash))
    assert result["passed"] is True and result["changed"] is False, result["checks"]
    checks = by_name(result)
    assert checks["rls scenario: occ sees its facts"]["detail"].endswith("rows=2 (expected rows == 2)")
    assert checks["sql test: rls.test.sql"]["detail"] == "8/8 TAP tests passed"
    assert checks["sql test: rls_tests.sql"]["status"] == "ok"
    assert "refused as expected" in checks["rls scenario: anon cannot write"]["detail"]
    # pgTAP was created inside the test transaction and rolled back with it.
    assert hotdash.schema_fingerprint() == before
    assert hotdash.scalar("select count(*) from pg_extension where extname = 'pgtap'") == 0
    assert hotdash.scalar("select count(*) from public.facts") == 3


def test_table_with_rls_off_fails(hotdash, run_module, by_name):
    hotdash.execute("create table public.leaky (id int); alter table public.facts disable row level security")
    result = run_module("rls_check", rls_args(hotdash, test_files=[]))
    checks = by_name(result)
    assert result["passed"] is False
    assert checks["rls enabled: public"]["status"] == "fail"
    assert checks["rls enabled: public"]["detail"] == "RLS disabled on public.facts, public.leaky"
    # Without RLS anon sees every fact: the scenario catches it too.
    assert checks["rls scenario: anon sees no facts"]["status"] == "fail"
    allowed = run_module("rls_check", rls_args(hotdash, test_files=[], scenarios=[],
                                               allow_without_rls=["leaky", "public.fact?"]))
    assert allowed["passed"] is True


def test_policy_leaking_rows_to_anon_fails_scenario_sql_file_and_pgtap(hotdash, run_module, by_name):
    hotdash.execute("create policy leak on public.facts for select to anon using (true)")
    result = run_module("rls_check", rls_args(hotdash))
    checks = by_name(result)
    assert result["passed"] is False
    assert checks["rls scenario: anon sees no facts"]["detail"] == "as anon: rows=3 (expected rows == 0)"
    assert checks["rls scenario: anon sees no facts"]["remedy"]
    assert checks["sql test: rls_tests.sql"]["status"] == "fail"
    assert "anon sees 3 facts without a project" in checks["sql test: rls_tests.sql"]["detail"]
    pgtap = checks["sql test: rls.test.sql"]
    assert pgtap["status"] == "fail" and "not ok" in pgtap["detail"] and "anon sees no facts" in pgtap["detail"]


def test_rls_without_policy_is_reported(hotdash, run_module, by_name):
    result = run_module("rls_check", rls_args(hotdash, allow_without_policy=[], scenarios=[], test_files=[]))
    check = by_name(result)["rls policies: public"]
    assert check["status"] == "warn" and "public.observability_logs" in check["detail"]
    assert result["passed"] is True


def test_missing_table_is_skipped_or_failed_by_configuration(hotdash, run_module, by_name):
    scenario = [{"name": "sync logs hidden", "role": "anon", "table": "decision_sync_event_logs", "expect": "rows == 0"},
                {"name": "query on missing", "role": "anon", "query": "select * from public.decision_sync_event_logs",
                 "expect": "rows == 0"}]
    skipped = by_name(run_module("rls_check", rls_args(hotdash, scenarios=scenario, test_files=[])))
    assert skipped["rls scenario: sync logs hidden"]["status"] == "skipped"
    assert skipped["rls scenario: sync logs hidden"]["detail"] == "table missing: decision_sync_event_logs"
    assert skipped["rls scenario: query on missing"]["detail"] == "table missing: public.decision_sync_event_logs"
    failed = run_module("rls_check", rls_args(hotdash, scenarios=scenario, test_files=[], on_missing_table="fail"))
    assert failed["passed"] is False and by_name(failed)["rls scenario: sync logs hidden"]["status"] == "fail"


def test_sql_test_file_error_names_the_statement(hotdash, run_module, tmp_path, by_name):
    path = tmp_path / "broken.sql"
    path.write_text("begin;\nselect 1;\nselect no_such_column from public.agents;\ncommit;\n")
    result = run_module("rls_check", rls_args(hotdash, scenarios=[], test_files=[str(path)]))
    detail = by_name(result)["sql test: broken.sql"]["detail"]
    assert detail.startswith("statement 3, line 3 (select no_such_column from public.agents) failed: column")
    assert "42703" in detail


def test_a_test_file_cannot_commit(hotdash, run_module, tmp_path, by_name):
    path = tmp_path / "writes.test.sql"
    path.write_text("begin;\ndelete from public.agent_approvals;\ncommit;\n")
    result = run_module("rls_check", rls_args(hotdash, scenarios=[], test_files=[str(path)]))
    assert by_name(result)["sql test: writes.test.sql"]["status"] == "ok"
    assert hotdash.scalar("select count(*) from public.agent_approvals") == 3


def test_fail_on_failed_gives_one_line(hotdash, run_module):
    hotdash.execute("alter table public.agents disable row level security")
    result = run_module("rls_check", rls_args(hotdash, scenarios=[], test_files=[], fail_on_failed=True))
    assert result["failed"] is True
    assert result["msg"] == "RLS checks failed: rls enabled: public: RLS disabled on public.agents"
    assert result["checks"]


@pytest.mark.parametrize("extra,message", [
    ({"scenarios": [{"name": "x", "table": "facts"}]}, "RLS scenario 'x' needs expect"),
    ({"scenarios": [{"name": "x", "query": "select 1; delete from public.agents", "expect": "rows == 1"}]},
     "RLS scenario 'x': PostgreSQL reads 2 statements here (SELECT, DELETE)"),
    ({"test_files": ["/nonexistent/rls_tests.sql"]}, "test file /nonexistent/rls_tests.sql does not exist"),
    ({"scenarios": [{"name": "x", "table": "facts", "expect": "rows ~ 1"}]}, "cannot read expectation"),
])
def test_bad_input_fails_cleanly_and_changes_nothing(hotdash, run_module, extra, message):
    before = hotdash.schema_fingerprint()
    result = run_module("rls_check", rls_args(hotdash, **extra))
    assert result["failed"] is True
    assert message in result["msg"] and "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert hotdash.schema_fingerprint() == before
    assert hotdash.scalar("select count(*) from public.agents") == 3
