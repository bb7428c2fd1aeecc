"""Rollback engine logic without a database: options, what to revert, plans, verification, log names."""
import datetime
import os

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.down_scripts import (
    parse_reverts_header,
    plan_down_scripts,
    versions_to_revert,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import rollback_log_path
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import qualified
from ansible_collections.hotdash.supabase.plugins.module_utils.rollback import RollbackOptions
from ansible_collections.hotdash.supabase.plugins.module_utils.rollback_verify import verification_checks


def test_reverts_header_lines_commas_and_blanks():
    text = "-- Rollback for 2025-10-19\n-- reverts: 20251019090000, 20251015090000\n--REVERTS:20251014090000 " \
           "20251019090000\ndrop view x;\n"
    assert parse_reverts_header(text) == ["20251019090000", "20251015090000", "20251014090000"]
    assert parse_reverts_header("drop view x;") == []


def test_reverts_header_rejects_non_versions():
    with pytest.raises(InvalidInput) as err:
        parse_reverts_header("-- reverts: 20251019090000, latest\n")
    assert str(err.value).startswith("rollback script header names 'latest', which is not a migration version")


def test_versions_to_revert_newest_first_and_only_applied():
    applied = ["20251011090000", "20251015090000", "20251019090000"]
    assert versions_to_revert(applied, target_version="20251011090000") == ["20251019090000", "20251015090000"]
    assert versions_to_revert(applied, versions=["20251015090000", "20991231000000"]) == ["20251015090000"]
    assert versions_to_revert(applied, target_version="20251019090000") == []
    assert versions_to_revert(applied, target_version="0") == sorted(applied, reverse=True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(strategy="undo"), "strategy must be one of down_scripts, logical_restore, supabase_pitr, staging_reset"),
    (dict(strategy="staging_reset", environment="production", project_dir="/p", target_version="1"),
     "refusing staging_reset in environment production"),
    (dict(strategy="down_scripts", project_dir="/p"), "say what to roll back: target_version"),
    (dict(strategy="down_scripts", target_version="1"), "down_scripts needs project_dir"),
    (dict(strategy="down_scripts", project_dir="/p", target_version="v1"), "target_version must be a migration"),
    (dict(strategy="down_scripts", project_dir="/p", versions=["1", "x"]), "versions must be migration versions"),
    (dict(strategy="supabase_pitr", target_version="1", project_ref="abc"), "supabase_pitr needs access_token"),
    (dict(strategy="supabase_pitr", target_version="1", access_token="t"), "supabase_pitr needs project_ref"),
    (dict(strategy="supabase_pitr", target_version="1", access_token="t", project_ref="abc"),
     "supabase_pitr needs recovery_time_target"),
    (dict(strategy="logical_restore"), "logical_restore needs backup_path"),
    (dict(strategy="logical_restore", backup_path="/nonexistent.dump"), "backup file /nonexistent.dump not found"),
    (dict(strategy="down_scripts", project_dir="/p", target_version="1", schemas=["public; drop"]),
     "schema 'public; drop' is not a plain schema name"),
    (dict(strategy="down_scripts", project_dir="/p", target_version="1", count_tables=["a.b.c"]),
     "count table 'a.b.c' is not a plain"),
])
def test_bad_options_are_one_line(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        RollbackOptions(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_qualify_defaults_to_public():
    assert qualified("facts") == "public.facts" and qualified("app.facts") == "app.facts"


def _project(tmp_path, downs):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    rollbacks = tmp_path / "supabase" / "rollbacks"
    rollbacks.mkdir()
    for name, text in downs.items():
        (rollbacks / name).write_text(text)
    return str(tmp_path)


def test_plan_down_scripts_newest_first_and_names_every_missing(tmp_path):
    project = _project(tmp_path, {"2_b.down.sql": "drop table b;", "3_c.down.sql": "drop view c; drop table c2;"})
    steps = plan_down_scripts(project, ["3", "2"])
    assert [(s["versions"], os.path.basename(s["file"]), len(s["statements"])) for s in steps] == [
        (["3"], "3_c.down.sql", 2), (["2"], "2_b.down.sql", 1)]
    with pytest.raises(InvalidInput) as err:
        plan_down_scripts(project, ["5", "4", "3"])
    assert str(err.value).startswith("no down script for 5, 4 in ")


def test_plan_rollback_script_must_cover_the_versions(tmp_path):
    project = _project(tmp_path, {})
    script = tmp_path / "rollback_migrations_20251019.sql"
    script.write_text("-- reverts: 3\ndrop view c;\n")
    assert plan_down_scripts(project, ["3"], str(script))[0]["versions"] == ["3"]
    with pytest.raises(InvalidInput) as err:
        plan_down_scripts(project, ["4", "3"], str(script))
    assert "does not revert 4 (its header names 3)" in str(err.value)
    script.write_text("drop view c;\n")
    with pytest.raises(InvalidInput) as err:
        plan_down_scripts(project, ["3"], str(script))
    assert "names no versions; add a header line" in str(err.value)
    script.write_text("-- reverts: 3\n\n")
    with pytest.raises(InvalidInput) as err:
        plan_down_scripts(project, ["3"], str(script))
    assert "contains no SQL statement" in str(err.value)


def _snap(history, counts, rls, tables=None, errors=None):
    out = dict(history=history, counts=counts, rls=rls, errors=errors or {})
    if tables is not None:
        out["tables"] = tables
    return out


BEFORE = _snap(["1", "2"], {"public.a": 3, "public.b": 5, "public.gone_before": None}, ["public.a", "public.b"])


def test_verification_all_ok():
    after = _snap(["1"], {"public.a": 3, "public.b": 6, "public.gone_before": None}, ["public.a", "public.b"],
                  tables=["public.a", "public.b"])
    checks = verification_checks("down_scripts", BEFORE, after, ["1"])
    assert [(c["name"], c["status"]) for c in checks] == [
        ("rollback history", "ok"), ("smoke reads", "ok"), ("no data loss", "ok"), ("rls enabled", "ok")]


def test_verification_history_counts_and_rls_failures():
    after = _snap(["1", "2"], {"public.a": 2, "public.b": None}, [], tables=["public.a"],
                  errors={"public.b": "does not exist"})
    checks = dict((c["name"], c) for c in verification_checks("down_scripts", BEFORE, after, ["1"]))
    assert checks["rollback history"]["status"] == "fail" and "still applied: 2" in checks["rollback history"]["detail"]
    assert checks["smoke reads"]["detail"] == "cannot read public.b (does not exist)"
    assert checks["no data loss"]["status"] == "fail"
    assert checks["no data loss"]["detail"] == "row counts dropped: public.a 3 -> 2, public.b 5 -> gone"
    assert checks["rls enabled"]["status"] == "fail" and checks["rls enabled"]["detail"].endswith("public.a")


@pytest.mark.parametrize("strategy", ["logical_restore", "supabase_pitr", "staging_reset"])
def test_count_drop_is_a_warning_for_restores_and_resets(strategy):
    after = _snap(["1"], {"public.a": 1, "public.b": 5}, ["public.a", "public.b"], tables=["public.a", "public.b"])
    checks = dict((c["name"], c) for c in verification_checks(strategy, BEFORE, after, ["1"]))
    assert checks["no data loss"]["status"] == "warn"


def test_backup_counts_compared_for_logical_restore():
    after = _snap(["1"], {"public.a": 3, "public.b": 4}, ["public.a", "public.b"], tables=["public.a", "public.b"])
    checks = dict((c["name"], c) for c in verification_checks("logical_restore", BEFORE, after, ["1"],
                                                              dump_counts={"public.a": 3, "public.b": 5}))
    assert checks["backup row counts"]["status"] == "fail"
    assert checks["backup row counts"]["detail"] == "row counts differ from the backup: public.b backup 5, now 4"


def test_log_path_name():
    moment = datetime.datetime(2025, 10, 19, 2, 15, 0, tzinfo=datetime.timezone.utc)
    assert rollback_log_path("/r/db1", "staging", moment) == "/r/db1/staging_rollback_20251019T021500Z.log"


def test_plan_down_scripts_reads_a_configured_rollback_dir(tmp_path):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    custom = tmp_path / "db" / "down"
    custom.mkdir(parents=True)
    (custom / "20251019090000_tiles.down.sql").write_text("drop view if exists public.dashboard_tiles;\n")
    steps = plan_down_scripts(str(tmp_path), ["20251019090000"], rollback_dir=str(custom))
    assert steps[0]["file"] == str(custom / "20251019090000_tiles.down.sql")
    try:
        plan_down_scripts(str(tmp_path), ["20251019090000"])
    except InvalidInput as err:
        assert str(err) == ("no down script for 20251019090000 in %s/supabase/rollbacks (expected "
                            "<version>_<name>.down.sql); nothing was rolled back" % tmp_path)
    else:
        raise AssertionError("the default directory has no script: planning must fail")
