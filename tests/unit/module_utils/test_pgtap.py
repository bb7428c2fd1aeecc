"""TAP parsing and the statement plan of SQL test files (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import pgtap
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_all_ok():
    tap = pgtap.parse_tap(["1..2", "ok 1 - facts has RLS", "ok 2 - anon sees nothing"])
    assert tap["ok"] and tap["passed"] == 2 and tap["planned"] == 2


def test_not_ok_and_plan_mismatch():
    tap = pgtap.parse_tap(["1..3", "ok 1 - a", "not ok 2 - anon sees no facts",
                           "# Failed test 2: \"anon sees no facts\"", "#         have: 3", "#         want: 0"])
    assert not tap["ok"] and tap["failed"] == ["2 anon sees no facts"] and tap["ran"] == 2
    assert "have: 3" in tap["diagnostics"]
    assert not pgtap.parse_tap(["1..3", "ok 1", "ok 2"])["ok"]


def test_todo_is_not_a_failure():
    tap = pgtap.parse_tap(["1..1", "not ok 1 - later # TODO policy for hq"])
    assert tap["ok"] and tap["todo"] == 1


def test_no_tap_output_is_plain_sql():
    assert pgtap.parse_tap([])["tap"] is False


def test_plan_drops_transaction_control_but_keeps_savepoints():
    text = ("begin;\nselect plan(1);\nsavepoint a;\nrollback to savepoint a;\nselect ok(true);\n"
            "commit;\nBEGIN ISOLATION LEVEL SERIALIZABLE;\nselect 1;\nEND;\nrollback;\n")
    assert pgtap.plan_statements(text) == ["select plan(1)", "savepoint a", "rollback to savepoint a",
                                           "select ok(true)", "select 1"]


def test_psql_meta_commands_are_refused():
    with pytest.raises(InvalidInput, match=r"statement 2: psql meta-command \\set is not supported"):
        pgtap.plan_statements("select 1;\n\\set x 1\nselect 2;", "t.sql")


def test_pgtap_detection_and_paths(tmp_path):
    assert pgtap.is_pgtap("select 1", "rls.test.sql")
    assert pgtap.is_pgtap("select plan(3);", "rls.sql")
    assert not pgtap.is_pgtap("select 1", "rls_tests.sql")
    (tmp_path / "b.sql").write_text("select 1;")
    (tmp_path / "a.sql").write_text("select 1;")
    (tmp_path / "notes.md").write_text("x")
    assert [p.rsplit("/", 1)[1] for p in pgtap.expand_test_paths([str(tmp_path)])] == ["a.sql", "b.sql"]
    with pytest.raises(InvalidInput, match="does not exist"):
        pgtap.expand_test_paths([str(tmp_path / "absent.sql")])
