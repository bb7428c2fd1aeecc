"""supabase db lint output, introduced vs existing findings, and the shadow checks (no database, no CLI)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import shadow_checks
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import ShadowOptions

# What CLI 2.122.1 prints for `db lint --output-format json` (and `-o json`: the bare list).
ERROR_ISSUE = {"level": "error", "message": "column \"nope\" does not exist",
               "statement": {"lineNumber": "4", "text": "SQL statement"},
               "query": {"position": "8", "text": "select nope from public.t"}, "sqlState": "42703"}
WARNING_ISSUE = {"level": "warning", "message": "unused variable \"unused\"", "sqlState": "00000"}
LINT = {"results": [{"function": "public.f", "issues": [ERROR_ISSUE]},
                    {"function": "public.w", "issues": [WARNING_ISSUE]}], "message": "db lint"}


def test_lint_output_is_flattened_from_both_json_shapes():
    issues = shadow_checks.lint_issues(LINT)
    assert issues == shadow_checks.lint_issues(LINT["results"])
    assert issues[0] == {"function": "public.f", "level": "error", "message": "column \"nope\" does not exist",
                         "sqlstate": "42703", "line": "4", "query": "select nope from public.t"}
    with pytest.raises(CliError, match="without a results list"):
        shadow_checks.lint_issues({"results": "?"})


def test_only_what_the_migrations_introduce_fails_production():
    issues = shadow_checks.lint_issues(LINT)
    new = shadow_checks.introduced([issues[1]], issues, shadow_checks.lint_key)
    assert new == [issues[0]]
    check = shadow_checks.lint_check(new, [issues[1]], "production")
    assert check["status"] == "fail"
    assert check["detail"] == ("supabase db lint: the pending migrations leave 1 PL/pgSQL error(s): public.f: error "
                               "column \"nope\" does not exist (SQLSTATE 42703) (line 4)")
    assert shadow_checks.lint_check(new, [], "staging")["status"] == "warn"
    existing_only = shadow_checks.lint_check([], issues, "production")
    assert existing_only["status"] == "warn" and "2 finding(s) the target already has" in existing_only["detail"]
    assert shadow_checks.lint_check([], [], "production")["status"] == "ok"


def test_advisor_findings_are_graded_by_environment():
    new = [{"name": "rls_disabled_in_public", "level": "ERROR", "title": "RLS Disabled in Public",
            "remediation": "https://docs/rls", "metadata": {"schema": "public", "name": "orders"}}]
    assert shadow_checks.advisors_check(new, 4, "production")["status"] == "fail"
    assert shadow_checks.advisors_check(new, 4, "staging")["status"] == "warn"
    assert shadow_checks.advisors_check(new, 4, "production", allow=["rls_disabled_in_public"])["status"] == "ok"
    assert shadow_checks.advisors_check([], 4, "production")["detail"] == (
        "Supabase advisors: the pending migrations add no finding (the target already has 4)")


def dry_run(**extra):
    base = {"plan": ["a.sql", "b.sql"], "applied": [{"file": "a.sql"}, {"file": "b.sql"}], "failed": None,
            "not_reached": [], "restore_errors": [], "refused": None,
            "shadow": {"location": "local", "server_version": "15.18"}}
    base.update(extra)
    return base


def test_dry_run_check():
    assert shadow_checks.dry_run_check(dry_run(), "production", "db")["status"] == "ok"
    failed = {"file": "b.sql", "version": "2", "statement": 2, "statements": 3, "statement_text": "drop x",
              "error": "boom (SQLSTATE 42703)"}
    check = shadow_checks.dry_run_check(dry_run(failed=failed), "production", "postgres@db:5432/app")
    assert check["status"] == "fail"
    assert check["detail"] == ("dry run on a shadow copy of postgres@db:5432/app: migration b.sql would fail at "
                               "statement 2 of 3 (drop x): boom (SQLSTATE 42703); nothing was changed on the target")
    incomplete = shadow_checks.dry_run_check(dry_run(restore_errors=[{"object": "EXTENSION pg_graphql",
                                                                      "error": "not available"}]), "staging", "db")
    assert incomplete["status"] == "warn" and "lacks 1 object(s)" in incomplete["detail"]
    refused = shadow_checks.dry_run_check(dry_run(plan=[], refused="refusing to apply: x"), "production", "db")
    assert refused["status"] == "skipped" and refused["detail"] == "migration_apply would refuse: refusing to apply: x"


def test_shadow_options_are_checked():
    with pytest.raises(InvalidInput, match="shadow=server needs shadow_server_url"):
        ShadowOptions(location="server")
    with pytest.raises(InvalidInput, match="only used with shadow=server"):
        ShadowOptions(location="local", server_url="postgresql://u:p@h/db")
    options = ShadowOptions(location="server", server_url="postgresql://u:secret@db.example:5432/postgres",
                            environment="production")
    assert options.secrets() == ["secret"]
    from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
    with pytest.raises(InvalidInput, match="refusing to create a shadow database on db.example:5432"):
        options.check_target(ConnectionSettings.from_url("postgresql://u:p@DB.example:5432/app"))
    options.check_target(ConnectionSettings.from_url("postgresql://u:p@other:5432/app"))


def _tried(failed=None):
    shadow = {"location": "local", "server": "local cluster 127.0.0.1:5", "database": "d", "server_version": "15.18"}
    applied = [] if failed else [{"file": "1_a.sql"}]
    return {"plan": ["1_a.sql", "2_b.sql"], "shadow": shadow, "restore_errors": [], "applied": applied,
            "failed": failed, "not_reached": ["2_b.sql"] if failed else [], "before": None, "after": None,
            "refused": None, "duration_ms": 5}


def test_apply_dry_run_raises_naming_the_statement_or_adds_its_check(monkeypatch):
    from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
    from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError
    settings = ConnectionSettings(host="db", port=5432, user="u", password="pw", dbname="app")
    options = ShadowOptions(environment="staging")
    plan = {"plan": [{"version": "1"}], "checks": [{"name": "apply (check mode)", "status": "ok"}], "changed": True}
    failure = {"version": "1", "file": "1_a.sql", "statement": 2, "statements": 3, "statement_text": "select x",
               "error": "column \"x\" does not exist (SQLSTATE 42703)"}
    monkeypatch.setattr(shadow_checks, "validate_pending", lambda *args, **kwargs: _tried(failure))
    with pytest.raises(ApplyError) as raised:
        shadow_checks.apply_dry_run(plan, settings, "/p", None, options)
    assert str(raised.value).endswith("migration 1_a.sql would fail at statement 2 of 3 (select x): column \"x\" does "
                                      "not exist (SQLSTATE 42703); nothing was changed on the target")
    facts = raised.value.result
    assert (facts["failed_file"], facts["failed_version"], facts["failed_statement"]) == ("1_a.sql", "1", 2)
    assert facts["applied"] == [] and facts["changed"] is False and facts["not_reached"] == ["2_b.sql"]

    monkeypatch.setattr(shadow_checks, "validate_pending", lambda *args, **kwargs: _tried())
    result = shadow_checks.apply_dry_run(plan, settings, "/p", None, options)
    assert [c["name"] for c in result["checks"]] == ["apply (check mode)", "dry_run"]
    assert result["checks"][1]["status"] == "ok" and "before" not in result["dry_run"]
    assert plan["checks"] == [{"name": "apply (check mode)", "status": "ok"}]  # the caller's result is not changed

    def never(*args, **kwargs):
        raise AssertionError("nothing pending: no shadow is built")
    monkeypatch.setattr(shadow_checks, "validate_pending", never)
    assert shadow_checks.apply_dry_run({"plan": []}, settings, "/p", None, options) == {"plan": []}


def test_side_by_side_runs_the_tools_at_once_and_raises_what_is_not_a_cli_error():
    import threading
    both = threading.Barrier(2, timeout=10)  # run one after the other, the first would wait here in vain

    def job(name):
        def run():
            both.wait()
            return [name]
        return run
    assert shadow_checks.side_by_side({"lint": job("lint"), "advisors": job("advisors")}) == {
        "lint": ["lint"], "advisors": ["advisors"]}
    assert shadow_checks.side_by_side({"lint": lambda: ["one"]}) == {"lint": ["one"]}

    def broken():
        raise ValueError("not a CLI error")
    with pytest.raises(ValueError):
        shadow_checks.side_by_side({"lint": lambda: [], "advisors": broken})
