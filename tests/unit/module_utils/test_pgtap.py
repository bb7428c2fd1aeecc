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


def load(tmp_path, text, environment="staging", name="t.test.sql"):
    path = tmp_path / name
    path.write_text(text)
    return pgtap.load_test_file(str(path), environment)


PGTAP = ("begin;\ncreate extension if not exists pgtap with schema extensions;\nset local search_path = public;\n"
         "select plan(2);\nselect ok(true);\nselect * from finish();\nrollback;\n")


def test_the_files_wrapper_is_dropped_and_the_rest_numbered_as_in_the_file(tmp_path):
    test = load(tmp_path, PGTAP)
    assert [(s.index, s.kind) for s in test.statements] == [
        (2, "CREATE EXTENSION"), (3, "SET search_path"), (4, "SELECT"), (5, "SELECT"), (6, "SELECT")]
    assert test.pgtap and not test.read_only and test.plan is None and test.not_run == []


def test_on_production_pgtap_is_read_only_without_create_extension_or_the_files_plan(tmp_path):
    test = load(tmp_path, PGTAP, environment="production")
    assert test.read_only and [s.index for s in test.not_run] == [2] and test.plan.index == 4
    assert [s.index for s in test.statements] == [3, 5, 6]
    assert pgtap._plan_call(test.plan) == ("plan", 2)  # pylint: disable=protected-access
    no_plan = load(tmp_path, "select * from no_plan();\nselect ok(true);", environment="production")
    assert pgtap._plan_call(no_plan.plan) == ("no_plan", None)  # pylint: disable=protected-access
    plain = load(tmp_path, "select 1;", environment="production", name="rls_tests.sql")
    assert plain.read_only and not plain.pgtap and plain.plan is None


@pytest.mark.parametrize("text,message", [
    ("begin;\nselect plan(1);\nsavepoint a;\nrollback;", "SAVEPOINT (statement 3, line 3) is refused"),
    ("begin;\ndelete from t;\ncommit;\nselect 1;", "COMMIT (statement 3, line 3) is refused: transaction control"),
    ("select 1;\n\\set x 1\nselect 2;", "psql meta-command \\set (line 2) is not SQL"),
])
def test_a_file_with_a_refused_statement_stops_before_anything_runs(tmp_path, text, message):
    with pytest.raises(InvalidInput) as err:
        load(tmp_path, text)
    assert str(err.value).startswith("test file %s: " % (tmp_path / "t.test.sql")) and message in str(err.value)


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
