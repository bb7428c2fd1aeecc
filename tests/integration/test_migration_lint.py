"""migration_lint with the real parser (pglast) and the real squawk binary."""
import pytest


def write(project, name, sql):
    path = project / "supabase" / "migrations" / name
    path.write_text(sql)
    return str(path)


def test_dangerous_index_warns_on_staging_and_fails_in_production(project, run_module, by_name):
    path = write(project, "20251019000000_idx.sql", "CREATE TABLE IF NOT EXISTS public.t (a bigint);\n"
                                                    "CREATE INDEX IF NOT EXISTS t_a ON public.agents (a);\n")
    staging = run_module("migration_lint", dict(files=[path], environment="staging"))
    lint = by_name(staging)["lint"]
    assert lint["status"] == "warn" and staging["passed"] is True
    assert "20251019000000_idx.sql line 2: require-concurrent-index-creation" in lint["detail"]
    assert set(staging["tables"]) == {"public.t", "public.agents"}
    production = run_module("migration_lint", dict(files=[path], environment="production"))
    assert by_name(production)["lint"]["status"] == "fail" and production["passed"] is False
    assert "hotdash:lint-waive" in by_name(production)["lint"]["remedy"]


def test_reviewed_waiver_comment_clears_the_rule_but_a_bare_one_does_not(project, run_module, by_name):
    sql = ("-- hotdash:lint-waive require-concurrent-index-creation reason: 200 rows, reviewed by maria CHG-9\n"
           "CREATE INDEX IF NOT EXISTS t_a ON public.agents (a);\n")
    path = write(project, "20251019000000_idx.sql", sql)
    result = run_module("migration_lint", dict(files=[path], environment="production"))
    assert by_name(result)["lint"]["status"] == "ok" and "1 waived" in by_name(result)["lint"]["detail"]
    assert [f["waiver_reason"] for f in result["findings"] if f["waived"]] == ["200 rows, reviewed by maria CHG-9"]
    bare = write(project, "20251019000001_idx.sql", "-- hotdash:lint-waive require-concurrent-index-creation\n"
                 "CREATE INDEX IF NOT EXISTS t_b ON public.agents (b);\n")
    unreviewed = run_module("migration_lint", dict(files=[bare], environment="production"))
    assert by_name(unreviewed)["lint"]["status"] == "fail" and unreviewed["unreviewed_waivers"]


@pytest.mark.parametrize("sql,rule", [
    ("ALTER TABLE public.agents ADD COLUMN IF NOT EXISTS b bigint NOT NULL;", "adding-required-field"),
    ("ALTER TABLE public.agents ALTER COLUMN a TYPE bigint;", "changing-column-type"),
    ("ALTER TABLE public.agents DROP COLUMN IF EXISTS a;", "ban-drop-column"),
    ("ALTER TABLE public.agents RENAME COLUMN a TO b;", "renaming-column"),
])
def test_each_dangerous_operation_is_flagged(project, run_module, sql, rule, by_name):
    path = write(project, "20251019000000_x.sql", sql + "\n")
    result = run_module("migration_lint", dict(files=[path], environment="production"))
    assert rule in [f["rule"] for f in result["findings"] if f["dangerous"]], result["findings"]
    assert by_name(result)["lint"]["status"] == "fail"


def test_parse_error_names_file_and_line_even_on_staging(project, run_module, by_name):
    path = write(project, "20251019000000_bad.sql", "CREATE TABLE public.ok (a int);\n\nSELEC 1;\n")
    result = run_module("migration_lint", dict(files=[path], environment="staging"))
    lint = by_name(result)["lint"]
    assert lint["status"] == "fail" and "20251019000000_bad.sql line 3" in lint["detail"]
    assert result["parse_errors"] == [{"file": "20251019000000_bad.sql", "line": 3,
                                       "message": 'syntax error at or near "SELEC"'}]


def test_safe_migration_and_no_files_pass(project, run_module, by_name):
    path = write(project, "20251019000000_ok.sql", "CREATE TABLE IF NOT EXISTS public.t (id bigint);\n")
    assert by_name(run_module("migration_lint", dict(files=[path], environment="production")))["lint"]["status"] \
        == "ok"
    assert by_name(run_module("migration_lint", dict(files=[], environment="staging")))["lint"]["detail"] == "no pending migration to lint"


def test_verify_files_exist_and_parse(project, run_module, by_name):
    (project / "supabase" / "rls_tests.sql").write_text("SELECT 1;\n")
    (project / "integrity.sql").write_text("SELECT count(* FROM x;\n")
    result = run_module("migration_lint", dict(files=[], project_dir=str(project),
                                               verify_files=["supabase/rls_tests.sql", "integrity.sql", "gone.sql"], environment="staging"))
    check = by_name(result)["verify_files"]
    assert check["status"] == "fail" and "missing: gone.sql" in check["detail"] and "integrity.sql line 1" in \
        check["detail"]
    assert check["data"]["ok"] == ["supabase/rls_tests.sql"]


def test_missing_file_and_missing_squawk_are_one_line_errors(project, run_module):
    result = run_module("migration_lint", dict(files=[str(project / "nope.sql")], environment="staging"))
    assert result["failed"] is True and result["msg"] == "migration file not found: %s" % (project / "nope.sql")
    path = write(project, "20251019000000_ok.sql", "SELECT 1;\n")
    nosquawk = run_module("migration_lint", dict(files=[path], squawk_path=str(project / "squawk"), environment="staging"))
    assert nosquawk["failed"] is True and nosquawk["msg"].startswith("squawk not found at")
