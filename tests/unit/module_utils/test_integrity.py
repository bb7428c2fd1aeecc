"""Unit tests of integrity and orphan check definitions (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import integrity
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_parse_check_file(tmp_path):
    path = tmp_path / "checks.sql"
    path.write_text(
        "-- file header, ignored\n\n"
        "-- check: orphans\n-- expect: value == 0\n-- tables: agent_approvals, agents\n"
        "-- remedy: delete them\nselect count(*)\n  from agent_approvals;\n\n"
        "-- check: bad margins\nselect * from product_categories where margin_pct > 100;\n")
    first, second = integrity.parse_check_file(str(path))
    assert first["name"] == "orphans" and first["expect"] == "value == 0"
    assert first["tables"] == ["agent_approvals", "agents"] and first["remedy"] == "delete them"
    assert first["query"].startswith("select count(*)")
    assert second["expect"] == "rows == 0" and "margin_pct" in second["query"]


def test_parse_check_file_errors(tmp_path):
    empty = tmp_path / "none.sql"
    empty.write_text("select 1;\n")
    with pytest.raises(InvalidInput, match="no '-- check: <name>' header"):
        integrity.parse_check_file(str(empty))
    headless = tmp_path / "headless.sql"
    headless.write_text("-- check: nothing here\n-- just a comment\n")
    with pytest.raises(InvalidInput, match="has no query"):
        integrity.parse_check_file(str(headless))
    with pytest.raises(InvalidInput, match="cannot read check file"):
        integrity.parse_check_file(str(tmp_path / "absent.sql"))


def test_orphan_spec_builds_a_null_safe_query():
    check_def = integrity.normalize_integrity_check(
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
        integrity.normalize_integrity_check({"name": "o", "orphans": spec})


def test_duplicate_check_names_are_refused():
    with pytest.raises(InvalidInput, match="two integrity checks are named 'x'"):
        integrity.load_integrity_checks([{"name": "x", "query": "select 1"}, {"name": "x", "query": "select 2"}])


def test_queries_are_one_read_only_statement_and_keys_are_checked():
    from ansible_collections.hotdash.supabase.plugins.module_utils.integrity import normalize_integrity_check
    check = normalize_integrity_check({"name": "c", "query": "-- why\nselect 1 ;", "allow": ["call"]})
    assert check["query"] == "select 1"
    for spec, message in [
            ({"name": "c", "query": "select 1 /*/ ( */; commit; delete from t"},
             "integrity check 'c': PostgreSQL reads 3 statements here (SELECT, COMMIT, DELETE)"),
            ({"name": "c", "query": "copy t to '/tmp/t'"}, "integrity check 'c': COPY TO FILE is refused"),
            ({"name": "c", "query": "call p()"}, "integrity check 'c': CALL is refused"),
            ({"name": "c", "qeury": "select 1"}, "integrity check 'c' has unknown key 'qeury'; allowed: allow, ")]:
        with pytest.raises(InvalidInput) as err:
            normalize_integrity_check(spec)
        assert str(err.value).startswith(message)
