"""Expectations, annotated check files, orphan specs, RPC and smoke definitions (no database)."""
import decimal

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import sql_checks
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def check(expect, columns, rows):
    return sql_checks.evaluate(sql_checks.parse_expectation(expect), columns, rows)


@pytest.mark.parametrize("expect,columns,rows,passed", [
    ("rows == 0", ["id"], [], True),
    ("rows == 0", ["id"], [(1,)], False),
    ("value <= 0.005", ["rate"], [(decimal.Decimal("0.004"),)], True),
    ("value <= 0.005", ["rate"], [(decimal.Decimal("0.006"),)], False),
    ("not null", ["x"], [(3,)], True),
    ("not null", ["x"], [(None,)], False),
    ("not null", ["x"], [], False),
    ("value is null", ["x"], [(None,)], True),
    ("orphans = 0", ["orphans"], [(0,)], True),
    ("segments >= 1 and revenue > 0", ["segments", "revenue"], [(3, decimal.Decimal("10.5"))], True),
    ("segments >= 1 and revenue > 0", ["segments", "revenue"], [(3, 0)], False),
    ("value == 'occ'", ["project"], [("occ",)], True),
    ("value == true", ["b"], [(True,)], True),
    ("value > 1", ["t"], [("text",)], False),
    ("empty", ["x"], [], True),
])
def test_expectations(expect, columns, rows, passed):
    assert check(expect, columns, rows)[0] is passed


@pytest.mark.parametrize("expect", ["", "rows ~ 0", "value == abc", "drop table x", "rows == 0 or 1"])
def test_bad_expectations_are_one_line_errors(expect):
    with pytest.raises(InvalidInput) as info:
        sql_checks.parse_expectation(expect)
    assert "\n" not in str(info.value)


def test_expectation_on_a_column_the_query_lacks():
    with pytest.raises(InvalidInput, match="names 'missing'"):
        check("missing == 1", ["a"], [(1,)])


def test_observed_values_are_reported():
    assert check("value <= 0.005", ["r"], [(0.01,)]) == (False, "value=0.01")


def test_single_statement_refuses_a_commit_tail():
    assert sql_checks.single_statement("select 1; -- trailing\n", "x") == "select 1"
    with pytest.raises(InvalidInput, match="exactly one SQL statement, found 3"):
        sql_checks.single_statement("select 1; commit; delete from agents", "x")


def test_parse_check_file(tmp_path):
    path = tmp_path / "checks.sql"
    path.write_text(
        "-- file header, ignored\n\n"
        "-- check: orphans\n-- expect: value == 0\n-- tables: agent_approvals, agents\n"
        "-- remedy: delete them\nselect count(*)\n  from agent_approvals;\n\n"
        "-- check: bad margins\nselect * from product_categories where margin_pct > 100;\n")
    first, second = sql_checks.parse_check_file(str(path))
    assert first["name"] == "orphans" and first["expect"] == "value == 0"
    assert first["tables"] == ["agent_approvals", "agents"] and first["remedy"] == "delete them"
    assert first["query"].startswith("select count(*)")
    assert second["expect"] == "rows == 0" and "margin_pct" in second["query"]


def test_parse_check_file_errors(tmp_path):
    empty = tmp_path / "none.sql"
    empty.write_text("select 1;\n")
    with pytest.raises(InvalidInput, match="no '-- check: <name>' header"):
        sql_checks.parse_check_file(str(empty))
    headless = tmp_path / "headless.sql"
    headless.write_text("-- check: nothing here\n-- just a comment\n")
    with pytest.raises(InvalidInput, match="has no query"):
        sql_checks.parse_check_file(str(headless))
    with pytest.raises(InvalidInput, match="cannot read check file"):
        sql_checks.parse_check_file(str(tmp_path / "absent.sql"))


def test_orphan_spec_builds_a_null_safe_query():
    check_def = sql_checks.normalize_integrity_check(
        {"name": "o", "orphans": {"table": "agent_approvals", "column": "agent_id", "references": "agents.id"}})
    assert check_def["expect"] == "value == 0"
    assert check_def["tables"] == ["agent_approvals", "agents"]
    assert check_def["remedy"]


@pytest.mark.parametrize("spec,message", [
    ({"table": "a", "column": "x"}, "needs table, column and references"),
    ({"table": "a", "column": "x", "references": "agents"}, "'table.column'"),
    ({"table": "a", "columns": ["x", "y"], "references": "agents.id"}, "as many referenced columns"),
    ({"table": "a.b.c", "column": "x", "references": "agents.id"}, "'table' or 'schema.table'"),
])
def test_bad_orphan_specs(spec, message):
    with pytest.raises(InvalidInput, match=message):
        sql_checks.normalize_integrity_check({"name": "o", "orphans": spec})


def test_duplicate_check_names_are_refused():
    with pytest.raises(InvalidInput, match="two integrity checks are named 'x'"):
        sql_checks.load_integrity_checks([{"name": "x", "query": "select 1"}, {"name": "x", "query": "select 2"}])


def test_rpc_definitions():
    spec = sql_checks.normalize_rpc({"name": "get_revenue_metrics",
                                     "args": [{"sql": "now()"}, "2025-01-01", {"value": 3, "type": "int"}]})
    assert spec["params"] == ["2025-01-01", 3] and spec["budget_ms"] == 500 and spec["calls"] == 3
    assert sql_checks.normalize_rpc("get_inventory_summary")["function"] == "get_inventory_summary"
    with pytest.raises(InvalidInput, match="'name' or 'schema.name'"):
        sql_checks.normalize_rpc({"name": "x; drop table agents"})
    with pytest.raises(InvalidInput, match="not a type name"):
        sql_checks.normalize_rpc({"name": "f", "args": [{"value": 1, "type": "int); drop table x; --"}]})
    with pytest.raises(InvalidInput, match="calls must be at least 1"):
        sql_checks.normalize_rpc({"name": "f", "calls": -1})


def test_smoke_definitions():
    write = sql_checks.normalize_write({"name": "w", "table": "product_categories",
                                        "values": {"shopify_product_id": 1, "category_l1": "T"},
                                        "key": "shopify_product_id"})
    assert [step[0] for step in write["steps"]] == ["insert", "delete"]
    assert write["steps"][1][2] == [1] and write["role"] == "service_role"
    with pytest.raises(InvalidInput, match="key column"):
        sql_checks.normalize_write({"name": "w", "table": "t", "values": {"a": 1}, "key": ["b"]})
    with pytest.raises(InvalidInput, match="needs table"):
        sql_checks.normalize_write({"name": "w"})
    assert sql_checks.normalize_read("facts")["name"] == "read: facts"


def test_skipped_writes_in_read_only_and_check_mode():
    spec = {"name": "write: w"}
    assert sql_checks.run_write(None, spec, read_only_mode=True)["status"] == "skipped"
    assert sql_checks.run_write(None, spec, check_mode=True)["detail"].startswith("check mode")


def test_missing_table_status_follows_configuration():
    assert sql_checks.missing_table_check("c", ["facts"], "skip")["status"] == "skipped"
    failed = sql_checks.missing_table_check("c", ["facts"], "fail")
    assert failed["status"] == "fail" and failed["detail"] == "table missing: facts"
