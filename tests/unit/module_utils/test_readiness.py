import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import readiness
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow


class Pending(object):
    def __init__(self, version, statements):
        self.version = version
        self._statements = statements

    def statements(self):
        return self._statements


def test_order_check():
    ok = readiness.order_check(["20251019000000"], ["20251011000000", "20251012000000"])
    assert ok["status"] == "ok"
    late = readiness.order_check(["20251010000000", "20251019000000"], ["20251012000000"])
    assert late["status"] == "fail" and late["data"]["out_of_order"] == ["20251010000000"]
    assert readiness.order_check(["20251010000000"], ["20251012000000"], allow_out_of_order=True)["status"] == "warn"
    assert readiness.order_check(["1"], [])["status"] == "ok"


def test_promotion_gate_missing_and_different():
    pending = [Pending("1", ["CREATE TABLE a (id int)"]), Pending("2", ["SELECT 1"]), Pending("3", ["SELECT 3"])]
    staged = [HistoryRow("1", "a", ["CREATE TABLE a (id int)"]), HistoryRow("2", "b", ["SELECT 2"])]
    check = readiness.promotion_gate(pending, staged, "production")
    assert check["status"] == "fail"
    assert check["data"]["missing_on_staging"] == ["3"] and check["data"]["different_on_staging"] == ["2"]
    assert readiness.promotion_gate(pending[:1], staged, "production")["status"] == "ok"


def test_rollback_down_scripts_and_exercise(tmp_path):
    (tmp_path / "20251019000000_x.down.sql").write_text("SELECT 1;")
    ok = readiness.rollback_check(["20251019000000"], "down_scripts", "staging", rollback_dir=str(tmp_path))
    assert ok["status"] == "ok"
    missing = readiness.rollback_check(["20251019000000", "20251020000000"], "down_scripts", "staging",
                                       rollback_dir=str(tmp_path))
    assert missing["status"] == "fail" and "20251020000000" in missing["detail"]
    prod = readiness.rollback_check(["20251019000000"], "down_scripts", "production", rollback_dir=str(tmp_path),
                                    exercises=[{"succeeded": True, "versions": ["20251018000000"]}])
    assert prod["status"] == "fail" and "rollback exercise" in prod["detail"]
    covered = readiness.rollback_check(["20251019000000"], "down_scripts", "production", rollback_dir=str(tmp_path),
                                       exercises=[{"id": 4, "succeeded": True, "versions": ["20251019000000"],
                                                   "exercised_at": "2026-11-25"}])
    assert covered["status"] == "ok" and covered["data"]["exercise"]["id"] == 4


def test_rollback_other_strategies(tmp_path):
    dump = tmp_path / "db.dump"
    dump.write_text("x")
    assert readiness.rollback_check(["1"], "logical_restore", "staging", backup_path=str(dump))["status"] == "ok"
    assert readiness.rollback_check(["1"], "logical_restore", "staging")["status"] == "fail"
    assert readiness.rollback_check(["1"], "supabase_pitr", "staging", pitr_enabled=True)["status"] == "ok"
    assert readiness.rollback_check(["1"], "supabase_pitr", "staging")["status"] == "fail"
    assert readiness.rollback_check(["1"], "none", "staging")["status"] == "fail"
    assert readiness.rollback_check([], "none", "production")["status"] == "ok"
    with pytest.raises(InvalidInput):
        readiness.rollback_check(["1"], "magic", "staging")


@pytest.mark.parametrize("old_name", ["script", "backup", "pitr"])
def test_only_the_rollback_roles_strategy_names_are_accepted(old_name):
    assert readiness.ROLLBACK_STRATEGIES == ("down_scripts", "logical_restore", "supabase_pitr", "staging_reset", "none")
    with pytest.raises(InvalidInput, match="not one of down_scripts, logical_restore, supabase_pitr"):
        readiness.rollback_check(["1"], old_name, "staging")


def test_staging_reset_only_for_staging_and_local():
    assert readiness.rollback_check(["1"], "staging_reset", "staging")["status"] == "ok"
    assert readiness.rollback_check(["1"], "staging_reset", "local")["status"] == "ok"
    prod = readiness.rollback_check(["1"], "staging_reset", "production",
                                    exercises=[{"succeeded": True, "versions": ["1"]}])
    assert prod["status"] == "fail" and "only in staging or local, not in production" in prod["detail"]
    assert "down_scripts, logical_restore or supabase_pitr" in prod["remedy"]


def test_down_scripts_with_the_runbooks_single_rollback_script(tmp_path):
    script = tmp_path / "rollback_migrations_20251019.sql"
    script.write_text("-- reverts: 20251019000000, 20251015000000\nDROP TABLE x;\n")
    ok = readiness.rollback_check(["20251015000000", "20251019000000"], "down_scripts", "staging",
                                  rollback_dir=str(tmp_path / "none"), rollback_script=str(script))
    assert ok["status"] == "ok" and ok["data"]["rollback_script"] == str(script)
    short = readiness.rollback_check(["20251019000000", "20251020000000"], "down_scripts", "staging",
                                     rollback_script=str(script))
    assert short["status"] == "fail" and "does not revert 20251020000000" in short["detail"]
    assert "-- reverts:" in short["remedy"]
    script.write_text("DROP TABLE x;\n")
    headless = readiness.rollback_check(["20251019000000"], "down_scripts", "staging", rollback_script=str(script))
    assert headless["status"] == "fail" and "names no versions" in headless["detail"]
    missing = readiness.rollback_check(["1"], "down_scripts", "staging", rollback_script=str(tmp_path / "nope.sql"))
    assert missing["status"] == "fail" and "not found" in missing["detail"]


def test_two_down_scripts_for_one_version_is_an_error(tmp_path):
    (tmp_path / "1_a.down.sql").write_text("")
    (tmp_path / "1_b.down.sql").write_text("")
    with pytest.raises(InvalidInput):
        readiness.rollback_check(["1"], "down_scripts", "staging", rollback_dir=str(tmp_path))


def test_naming_counts_sql_files_the_cli_ignores(tmp_path):
    from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20251011000000_agents.sql").write_text("select 1;")
    (migrations / "add_agents.sql").write_text("select 1;")
    check = readiness.naming_check(load_directory(str(tmp_path)), "production")
    assert check["status"] == "fail" and "the CLI ignores add_agents.sql" in check["detail"], check
    assert check["data"]["ignored"] == [{"file": "add_agents.sql", "reason": "does not start with a numeric version"}]
    assert readiness.naming_check(load_directory(str(tmp_path)), "staging")["status"] == "warn"
