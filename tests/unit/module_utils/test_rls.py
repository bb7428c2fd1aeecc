"""RLS coverage and scenario definitions (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import rls
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def table(name, enabled=True, policies=1, schema="public"):
    return {"schema": schema, "table": name, "rls": enabled, "forced": False, "policies": policies}


def by_name(checks):
    return dict((c["name"], c) for c in checks)


def test_all_covered():
    checks = by_name(rls.coverage_checks([table("agents"), table("facts")], ["public"]))
    assert checks["rls enabled: public"]["status"] == "ok"
    assert checks["rls policies: public"]["status"] == "ok"


def test_rls_disabled_fails_unless_allowed():
    tables = [table("agents"), table("leaky", enabled=False), table("tmp_import", enabled=False)]
    checks = by_name(rls.coverage_checks(tables, ["public"], allow_without_rls=["tmp_*"]))
    failed = checks["rls enabled: public"]
    assert failed["status"] == "fail" and "public.leaky" in failed["detail"] and "tmp_import" not in failed["detail"]
    assert failed["data"]["allowed_without_rls"] == ["public.tmp_import"]
    assert failed["data"]["failing"] == ["public.leaky"]  # what a baseline comparison compares
    assert "failing" not in checks["rls policies: public"]["data"]


def test_rls_without_policy_is_reported_and_can_be_allowed():
    tables = [table("observability_logs", policies=0)]
    assert by_name(rls.coverage_checks(tables, ["public"]))["rls policies: public"]["status"] == "warn"
    strict = rls.coverage_checks(tables, ["public"], without_policy_status="fail")
    assert by_name(strict)["rls policies: public"]["status"] == "fail"
    allowed = rls.coverage_checks(tables, ["public"], allow_without_policy=["public.observability_logs"])
    assert by_name(allowed)["rls policies: public"]["status"] == "ok"


def test_schemas_are_reported_separately():
    checks = by_name(rls.coverage_checks([table("a"), table("b", enabled=False, schema="api")], ["public", "api"]))
    assert checks["rls enabled: public"]["status"] == "ok" and checks["rls enabled: api"]["status"] == "fail"


def test_scenario_definitions():
    scenario = rls.normalize_scenario({"name": "anon", "role": "anon", "table": "facts", "expect": "rows == 0"})
    assert scenario["tables"] == ["facts"] and scenario["counts_rows"]
    assert rls.normalize_scenario({"name": "e", "query": "insert into facts default values",
                                   "expect_error": "25006"})["expect_error"] == "25006"


@pytest.mark.parametrize("scenario,message", [
    ({"role": "anon"}, "needs a name"),
    ({"name": "x", "table": "facts"}, "needs expect"),
    ({"name": "x", "table": "facts", "query": "select 1", "expect": "rows == 0"}, "exactly one of query or table"),
    ({"name": "x", "table": "facts", "expect": "rows == 0", "setting": {}},
     "RLS scenario 'x' has unknown key 'setting'; allowed: allow, claims, expect"),
    ({"name": "x", "table": "facts", "expect": "rows == 0", "settings": "occ"}, "settings must be a dict"),
    ({"name": "x", "query": "select 1; commit; delete from facts", "expect": "rows == 0"},
     "RLS scenario 'x': PostgreSQL reads 3 statements here"),
    ({"name": "x", "query": "delete from facts", "expect": "rows == 0"}, "RLS scenario 'x': DELETE is refused"),
    ({"name": "x", "query": "delete from facts; commit", "expect_error": "25006"}, "PostgreSQL reads 2 statements"),
    ({"name": "x", "table": "facts", "expect": "rows == 0", "settings": {"role": "postgres"}},
     "RLS scenario 'x': setting 'role' is refused"),
])
def test_bad_scenarios(scenario, message):
    with pytest.raises(InvalidInput, match=message) as info:
        rls.normalize_scenario(scenario)
    assert "\n" not in str(info.value)
