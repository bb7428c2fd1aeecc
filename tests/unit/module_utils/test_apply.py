"""Unit tests of the apply plan and its options (no database)."""
from collections import namedtuple

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, plan_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import classify
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import DriftError, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory


@pytest.mark.parametrize("kwargs,message", [
    (dict(engine="flyway"), "engine must be one of"),
    (dict(non_transactional="ignore"), "non_transactional must be one of"),
    (dict(lock_timeout=-1), "lock_timeout must be zero or positive"),
    (dict(target_version="v1"), "target_version must be a migration version"),
    (dict(environment="../etc"), "environment must be one of local, staging, production"),
])
def test_options_validation(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        ApplyOptions(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def _project(tmp_path, files):
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    for name, text in files.items():
        (migrations / name).write_text(text)
    return load_directory(str(tmp_path))


Row = namedtuple("Row", "version name statements")


def test_plan_refuses_remote_only_and_out_of_order(tmp_path):
    local = _project(tmp_path, {"20251011000000_a.sql": "select 1;", "20251013000000_c.sql": "select 3;"})
    remote = [HistoryRow("20251012000000", "b", ["select 2"])]
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, remote), ApplyOptions())
    assert "20251012000000" in str(err.value) and "allow_remote_only" in str(err.value)
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, remote), ApplyOptions(allow_remote_only=True))
    assert "include_all" in str(err.value) and err.value.result["out_of_order"] == ["20251011000000"]
    planned = plan_apply(local, classify(local, remote), ApplyOptions(allow_remote_only=True, include_all=True))
    assert [p.version for p in planned] == ["20251011000000", "20251013000000"]


def test_plan_target_version_and_refusals(tmp_path):
    local = _project(tmp_path, {"20251011000000_a.sql": "select 1;", "20251012000000_b.sql": "vacuum;",
                                "20251013000000_c.sql": "select 3;"})
    report = classify(local, [])
    assert [p.version for p in plan_apply(local, report, ApplyOptions(target_version="20251011000000"))] == \
        ["20251011000000"]
    with pytest.raises(InvalidInput) as err:
        plan_apply(local, report, ApplyOptions())
    assert "20251012000000_b.sql" in str(err.value) and "VACUUM" in str(err.value)
    with pytest.raises(InvalidInput) as err:
        plan_apply(local, report, ApplyOptions(engine="cli", non_transactional="isolate"))
    assert "engine=native" in str(err.value)
    planned = plan_apply(local, report, ApplyOptions(non_transactional="isolate"))
    assert [p.transactional for p in planned] == [True, False, True]


def test_plan_refuses_duplicates(tmp_path):
    local = _project(tmp_path, {"20251015_dashboard_rpc_functions.sql": "select 1;",
                                "20251015_dashboard_tile_queries.sql": "select 2;"})
    with pytest.raises(DriftError) as err:
        plan_apply(local, classify(local, []), ApplyOptions())
    assert "20251015_dashboard_tile_queries.sql" in str(err.value) and "\n" not in str(err.value)


def test_apply_checks_report_the_plan_and_the_summary():
    from ansible_collections.hotdash.supabase.plugins.module_utils.apply import apply_checks
    result = dict(plan=[{"version": "20251011090000"}, {"version": "20251012090000"}], summary="applied 2 migration(s)")
    checks = apply_checks(result)
    assert [(c["name"], c["status"], c["detail"]) for c in checks] == [
        ("pending migrations", "ok", "20251011090000, 20251012090000"), ("apply", "ok", "applied 2 migration(s)")]
    planned = apply_checks(dict(plan=[], summary="nothing to apply"), check_mode=True)
    assert [(c["name"], c["detail"]) for c in planned] == [
        ("pending migrations", "none"), ("apply (check mode)", "nothing to apply")]


def test_apply_error_checks_name_what_failed():
    from ansible_collections.hotdash.supabase.plugins.module_utils.apply import apply_error_checks
    before = apply_error_checks("cannot connect to db", "fail", {})
    assert [(c["name"], c["status"], c["detail"]) for c in before] == [("pending migrations", "fail", "cannot connect to db")]
    result = dict(plan=[{"version": "1"}, {"version": "2"}], applied=[{"version": "1"}], log_path="/run/a.log",
                  partial=False, failed_file="2_b.sql")
    during = apply_error_checks("migration 2_b.sql failed", "fail", result)
    assert [(c["name"], c["status"]) for c in during] == [("pending migrations", "ok"), ("apply", "fail")]
    assert during[1]["detail"] == "migration 2_b.sql failed (applied before the failure: 1)"
    assert during[1]["remedy"] == "read the log /run/a.log and roll back"
    assert during[1]["data"] == {"applied": ["1"], "partial": False, "failed_file": "2_b.sql"}
