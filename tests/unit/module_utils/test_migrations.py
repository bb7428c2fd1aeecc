"""The local directory model: recognition, order, naming, duplicates, hazards, bad files."""
import os

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import MigrationDirectoryError
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import (
    MIGRATION_FILE_RE,
    LocalMigration,
    find_down_script,
    is_compliant_version,
    load_directory,
)


def make(project, files):
    mig = project / "supabase" / "migrations"
    mig.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (mig / name).write_bytes(data)
    return mig


SEED = {
    "20251011120000_agents.sql": "create table agents (id int);",
    "20251011130000_approvals.sql": "create table approvals (id int);",
    "20251012090000_facts.sql": "select 1;",
    "20251012100000_rls.sql": "select 1;",
    "20251013080000_categories.sql": "select 1;",
    "20251013090000_segments.sql": "select 1;",
    "20251014070000_views.sql": "select 1;",
    "20251014080000_indexes.sql": "select 1;",
    "20251014090000_grants.sql": "select 1;",
    "20251015_dashboard_rpc_functions.sql": "select 1;",
    "20251015_dashboard_tile_queries.sql": "select 2;",
}


def test_pattern_is_the_clis():
    assert MIGRATION_FILE_RE.match("20251015_x.sql").groups() == ("20251015", "x")
    assert MIGRATION_FILE_RE.match("1_a_b.c.sql").groups() == ("1", "a_b.c")
    for name in ("20251017120000.sql", "20251017-dash.sql", "x.SQL", "20251017_x.SQL", "README.md"):
        assert MIGRATION_FILE_RE.match(name) is None


@pytest.mark.parametrize("version,ok", [
    ("20251015093000", True), ("20240229235959", True), ("20250229000000", False), ("20251015", False),
    ("20251399000000", False), ("20251015240000", False), ("202510150930001", False), ("abc", False)])
def test_compliance(version, ok):
    assert is_compliant_version(version) is ok


def test_seed_case_naming_and_duplicates(tmp_path):
    make(tmp_path, SEED)
    local = load_directory(str(tmp_path))
    assert local.naming["total"] == 11 and local.naming["compliant"] == 9 and local.naming["percent"] == 81.8
    assert local.duplicates == {"20251015": ["20251015_dashboard_rpc_functions.sql",
                                             "20251015_dashboard_tile_queries.sql"]}
    suggested = dict((i["file"], i["suggested"]) for i in local.naming["non_compliant"])
    assert suggested == {"20251015_dashboard_rpc_functions.sql": "20251015000000_dashboard_rpc_functions.sql",
                         "20251015_dashboard_tile_queries.sql": "20251015000100_dashboard_tile_queries.sql"}
    message = local.duplicate_message()
    assert "\n" not in message
    assert "rename 20251015_dashboard_tile_queries.sql to 20251015000100_dashboard_tile_queries.sql" in message
    assert "20251015_dashboard_rpc_functions.sql to 20251015000000_dashboard_rpc_functions.sql" in message
    # When the first file's version is already recorded, only the other one is to be renamed.
    applied = local.duplicate_message(applied_versions=["20251015"])
    assert "20251015000000_dashboard_rpc_functions" not in applied
    assert local.mixed_widths is True


def test_rename_suggestions_keep_apply_order_below_existing_same_day_versions(tmp_path):
    make(tmp_path, {"20251015_a.sql": "select 1;", "20251015_b.sql": "select 1;",
                    "20251015000030_c.sql": "select 1;"})
    local = load_directory(str(tmp_path))
    suggested = [i["suggested"] for i in local.naming["non_compliant"]]
    # One minute apart would pass 00:00:30, so seconds are used; both stay before c.
    assert suggested == ["20251015000000_a.sql", "20251015000001_b.sql"]
    assert all(s < "20251015000030_c.sql" for s in suggested)


def test_order_is_by_version_as_text_like_cli_2_122(tmp_path):
    make(tmp_path, dict((n, "select 1;") for n in (
        "1_a.sql", "10_b.sql", "9_c.sql", "20260420_foo.sql", "20260420010000_bar.sql", "20260420_aaa.sql")))
    local = load_directory(str(tmp_path))
    assert [m.filename for m in local.migrations] == [
        "1_a.sql", "10_b.sql", "20260420_aaa.sql", "20260420_foo.sql", "20260420010000_bar.sql", "9_c.sql"]


def test_skipped_files_have_reasons(tmp_path):
    mig = make(tmp_path, {"20251017120000.sql": "x", "20251017-dash.sql": "x", "x.SQL": "x",
                          "README.md": "x", "20251017120001_ok.sql": "select 1;"})
    (mig / "subdir").mkdir()
    local = load_directory(str(tmp_path))
    reasons = dict((s["file"], s["reason"]) for s in local.ignored_files)
    assert set(reasons) == {"20251017120000.sql", "20251017-dash.sql", "x.SQL", "README.md"}
    assert "lowercase" in reasons["x.SQL"] and "_<name>" in reasons["20251017120000.sql"]
    assert [m.filename for m in local.migrations] == ["20251017120001_ok.sql"]


def test_legacy_init_first_file_is_skipped(tmp_path):
    make(tmp_path, {"20211001000000_init.sql": "select 1;", "20211001000001_next.sql": "select 1;"})
    local = load_directory(str(tmp_path))
    assert [s["file"] for s in local.ignored_files] == ["20211001000000_init.sql"]
    assert local.misnamed == []


def test_down_scripts_in_migrations_are_hazards_and_rollbacks_are_found(tmp_path):
    make(tmp_path, {"20251011000000_x.sql": "select 1;", "20251011000000_x.down.sql": "select 1;"})
    local = load_directory(str(tmp_path))
    assert [h["file"] for h in local.hazards] == ["20251011000000_x.down.sql"]
    assert "supabase/rollbacks/20251011000000_<name>.down.sql" in local.hazards[0]["message"]
    rollbacks = tmp_path / "supabase" / "rollbacks"
    assert local.rollback_dir == str(rollbacks)
    assert find_down_script(str(tmp_path), "20251011000000") is None
    rollbacks.mkdir()
    (rollbacks / "20251011000000_x.down.sql").write_text("drop table x;")
    assert find_down_script(str(tmp_path), "20251011000000") == str(rollbacks / "20251011000000_x.down.sql")
    assert find_down_script(str(tmp_path), "20251011000001") is None


def test_down_script_in_another_rollback_dir_and_two_for_one_version(tmp_path):
    elsewhere = tmp_path / "rollbacks"
    elsewhere.mkdir()
    (elsewhere / "1_a.down.sql").write_text("")
    assert find_down_script(None, "1", rollback_dir=str(elsewhere)) == str(elsewhere / "1_a.down.sql")
    assert find_down_script(None, "1", rollback_dir=str(tmp_path / "absent")) is None
    (elsewhere / "1_b.down.sql").write_text("")
    with pytest.raises(MigrationDirectoryError, match="several down scripts for version 1"):
        find_down_script(None, "1", rollback_dir=str(elsewhere))


def test_accepts_the_migrations_dir_itself(tmp_path):
    mig = make(tmp_path, {"20251011000000_x.sql": "select 1;"})
    local = load_directory(str(mig))
    assert local.path == str(mig) and local.project_dir == str(tmp_path)


def test_missing_directory_is_one_line(tmp_path):
    with pytest.raises(MigrationDirectoryError) as err:
        load_directory(str(tmp_path / "nope"))
    assert str(err.value).startswith("migrations directory not found: ") and "\n" not in str(err.value)


def test_non_utf8_file_is_one_line(tmp_path):
    make(tmp_path, {"20251011000000_x.sql": b"select 'caf\xe9';\n"})
    migration = load_directory(str(tmp_path)).migrations[0]
    with pytest.raises(MigrationDirectoryError) as err:
        migration.statements()
    assert str(err.value) == ("migration 20251011000000_x.sql is not valid UTF-8 (byte 0xe9 at line 1); "
                              "save it as UTF-8")


@pytest.mark.parametrize("text", ["", "  \n\t\n", ";;\n"])
def test_empty_file_is_one_line(tmp_path, text):
    make(tmp_path, {"20251011000000_x.sql": text})
    migration = load_directory(str(tmp_path)).migrations[0]
    with pytest.raises(MigrationDirectoryError) as err:
        migration.statements()
    assert "20251011000000_x.sql" in str(err.value) and "\n" not in str(err.value)


def test_statements_keep_crlf_bytes(tmp_path):
    make(tmp_path, {"20251011000000_x.sql": b"select\r\n1;\r\n"})
    assert load_directory(str(tmp_path)).migrations[0].statements() == ["select\r\n1"]


def test_local_migration_from_path(tmp_path):
    path = os.path.join(str(tmp_path), "20251011000000_x.sql")
    m = LocalMigration(path)
    assert (m.version, m.name, m.filename, m.is_compliant) == ("20251011000000", "x", "20251011000000_x.sql", True)
    with pytest.raises(MigrationDirectoryError):
        LocalMigration(os.path.join(str(tmp_path), "nope.sql"))


def test_a_directory_without_supabase_migrations_is_refused(tmp_path):
    (tmp_path / "supabase").mkdir()
    (tmp_path / "README.md").write_text("not a project")
    with pytest.raises(MigrationDirectoryError) as err:
        load_directory(str(tmp_path))
    assert str(err.value) == ("project_dir %s has no supabase/migrations directory (and no <version>_<name>.sql "
                              "files); give the Supabase project root, the directory that holds supabase/" % tmp_path)


def test_a_directory_of_migration_files_is_a_migrations_directory(tmp_path):
    (tmp_path / "20251011000000_x.sql").write_text("select 1;")
    assert [m.filename for m in load_directory(str(tmp_path)).migrations] == ["20251011000000_x.sql"]
