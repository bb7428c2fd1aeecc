"""migration_rollback against real PostgreSQL, the real Supabase CLI and the local fake Management API.

Each strategy rolls the example project's 2025-10-19 release (20251019090000: churn_pct column and the
dashboard_tiles view) back and the test checks the schema, the data, the history and the audit row.
"""
import itertools
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from fake_management_api import FakeManagementApi, ProjectState  # noqa: E402
from policy_evidence import approve  # noqa: E402

RELEASE = "20251019090000"
PREVIOUS = "20251015090000"
ALL = ["20251011090000", "20251012090000", "20251013090000", "20251014090000", PREVIOUS, RELEASE]
REF = "abcdefghijklmnopqrst"


@pytest.fixture
def hotdash(tmp_path):
    """A copy of the example project (migrations, rollbacks, seed)."""
    target = tmp_path / "hotdash"
    shutil.copytree(EXAMPLE, str(target))
    return target


def apply(run_module, db, project, target=None):
    args = dict(db_url=db.url, project_dir=str(project), log_path=str(project / "apply.log"))
    if target:
        args["target_version"] = target
    result = run_module("migration_apply", args)
    assert not result.get("failed"), result
    return result


def production_release(run_module, db, project):
    """Apply the release as production does (an approval of its plan recorded first); the release's run key."""
    args = dict(db_url=db.url, project_dir=str(project), log_path=str(project / "apply.log"), environment="production")
    approve(db, run_module("migration_apply", args, check_mode=True)["policy_check"]["plan_digest"])
    result = run_module("migration_apply", args)
    assert not result.get("failed"), result
    return result["policy_check"]["release"]["run_key"]


def approved(run_module, db, args):
    """A person approves this production rollback's plan (what the rollback role's gate records)."""
    plan = run_module("migration_rollback", args, check_mode=True)
    approve(db, plan["policy_check"]["plan_digest"], gate="production_rollback")
    return args


def seeded(run_module, db, project, target=None):
    apply(run_module, db, project, target)
    db.execute(open(os.path.join(EXAMPLE, "supabase", "seed.sql")).read())


def has_column(db, table, column):
    return bool(db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                          "AND table_name = %s AND column_name = %s", (table, column)))


def fingerprint(db):
    """Schema state outside the audit trail (a failed rollback records itself in hotdash_audit)."""
    return [row for row in db.schema_fingerprint() if row[0] != "hotdash_audit"]


def exercises(db):
    return db.query("SELECT environment, strategy, versions, succeeded, trigger, detail FROM "
                    "hotdash_audit.rollback_exercises ORDER BY id")


def rollback_args(db, tmp_path, **extra):
    args = dict(db_url=db.url, environment="staging", log_dir=str(tmp_path / "logs" / "db1"), inventory_host="db1",
                run_id="run-1")
    args.update(extra)
    return args


def cli_list(cli_runner, db, project):
    out = cli_runner(["migration", "list", "--db-url", db.url, "--output-format", "json"], cwd=project)
    return [(r["local"], r["remote"]) for r in json.loads(out.stdout)["migrations"]]


def test_down_scripts_revert_release_and_cli_sees_it_not_applied(db, hotdash, tmp_path, run_module, cli_runner):
    seeded(run_module, db, hotdash)
    db.execute("UPDATE public.customer_segments SET churn_pct = 1.5")
    args = rollback_args(db, tmp_path, strategy="down_scripts", project_dir=str(hotdash), target_version=PREVIOUS)

    plan = run_module("migration_rollback", args, check_mode=True)
    assert plan.get("changed") is True, plan
    assert plan["to_revert"] == [RELEASE] and plan["log_path"] is None
    assert plan["queries"][0].endswith("drop view if exists public.dashboard_tiles")
    assert db.table_exists("public.dashboard_tiles") and RELEASE in db.history()

    result = run_module("migration_rollback", args)
    assert not result.get("failed"), result
    assert result["reverted"] == [RELEASE] and result["succeeded"] is True
    assert [c["status"] for c in result["checks"]] == ["ok"] * 5
    assert result["checks"][0]["name"] == "rollback" and result["checks"][0]["detail"] == result["summary"]
    assert not db.table_exists("public.dashboard_tiles") and not has_column(db, "customer_segments", "churn_pct")
    assert db.scalar("SELECT count(*) FROM public.customer_segments") == 3  # data kept
    assert sorted(db.history()) == ALL[:-1]
    assert cli_list(cli_runner, db, hotdash)[-1] == (RELEASE, "")  # local only: not applied for the CLI
    log = open(result["log_path"]).read()
    assert os.path.basename(result["log_path"]).startswith("staging_rollback_") and "reverted %s" % RELEASE in log
    assert db.password not in log
    rows = exercises(db)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("staging", "down_scripts", [RELEASE], True)]

    again = run_module("migration_rollback", args)
    assert again["changed"] is False and again["log_path"] is None and len(exercises(db)) == 1

    # And forward again: the apply engine re-applies the reverted version.
    assert [a["version"] for a in apply(run_module, db, hotdash)["applied"]] == [RELEASE]


def test_rollback_script_with_header_reverts_two_versions(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    script = hotdash / "scripts" / "rollback_migrations_20251019.sql"
    script.parent.mkdir()
    downs = hotdash / "supabase" / "rollbacks"
    script.write_text("-- reverts: 20251019090000, 20251015090000\n"
                      + (downs / ("%s_segment_churn_and_tile_queries.down.sql" % RELEASE)).read_text()
                      + (downs / ("%s_dashboard_rpc_functions.down.sql" % PREVIOUS)).read_text())
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                            project_dir=str(hotdash), rollback_script=str(script)))
    assert not result.get("failed"), result
    assert result["reverted"] == [RELEASE, PREVIOUS] and len(result["plan"]) == 1
    assert sorted(db.history()) == ALL[:4]
    assert db.scalar("SELECT to_regprocedure('public.get_inventory_summary()')") is None


def test_failing_down_script_rolls_back_and_records_failure(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    (hotdash / "supabase" / "rollbacks" / ("%s_segment_churn_and_tile_queries.down.sql" % RELEASE)).write_text(
        "drop view public.dashboard_tiles;\nselect no_such_function();\n")
    before = fingerprint(db)
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                            project_dir=str(hotdash), versions=[RELEASE]))
    assert result["failed"] and "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert result["msg"].startswith("down script %s_segment_churn_and_tile_queries.down.sql failed at statement 2 of 2"
                                    % RELEASE)
    assert result["succeeded"] is False and result["reverted"] == []
    assert fingerprint(db) == before and RELEASE in db.history()  # the view is still there
    assert [(r[1], r[3]) for r in exercises(db)] == [("down_scripts", False)]


def test_missing_down_script_is_refused_before_anything_runs(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    os.unlink(str(hotdash / "supabase" / "rollbacks" / ("%s_dashboard_rpc_functions.down.sql" % PREVIOUS)))
    before = fingerprint(db)
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                            project_dir=str(hotdash), target_version="20251014090000"))
    assert result["failed"] and result["msg"].startswith("no down script for %s in " % PREVIOUS)
    assert "\n" not in result["msg"] and fingerprint(db) == before and len(db.history()) == 6
    assert not os.path.exists(str(tmp_path / "logs"))


def test_down_scripts_run_while_database_is_read_only(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    assert run_module("db_read_only", dict(db_url=db.url, state="on"))["changed"]
    try:
        result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                                project_dir=str(hotdash), versions=[RELEASE]))
        assert not result.get("failed"), (result.get("msg"), result.get("checks"))
        assert result["reverted"] == [RELEASE] and not db.table_exists("public.dashboard_tiles")
    finally:
        run_module("db_read_only", dict(db_url=db.url, state="off"))


def test_verification_fails_when_a_down_script_loses_data(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    (hotdash / "supabase" / "rollbacks" / ("%s_segment_churn_and_tile_queries.down.sql" % RELEASE)).write_text(
        "drop view if exists public.dashboard_tiles;\nalter table public.customer_segments drop column churn_pct;\n"
        "delete from public.customer_segments where segment = 'vip';\nalter table public.facts disable row level security;\n")
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                            project_dir=str(hotdash), versions=[RELEASE]))
    assert result["failed"] and result["msg"].startswith("rollback verification failed: no data loss: row counts "
                                                         "dropped: public.customer_segments 3 -> 2")
    assert "rls enabled: row level security is off on public.facts" in result["msg"]
    assert result["succeeded"] is False and result["reverted"] == [RELEASE]
    assert [(r[1], r[3]) for r in exercises(db)] == [("down_scripts", False)]


def _dump(db, path):
    settings = db.settings()
    subprocess.run(["pg_dump", "--format=custom", "--file", str(path)] + settings.libpq_args(),
                   env=settings.child_env(dict(os.environ)), check=True)
    return str(path)


def test_logical_restore_brings_back_the_backup_and_checks_counts(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash, target=PREVIOUS)
    dump = _dump(db, tmp_path / "before.dump")  # what preflight's backup module takes
    run_key = production_release(run_module, db, hotdash)
    db.execute("UPDATE public.customer_segments SET churn_pct = 2")
    # automatic: the trigger and the run key of the release it undoes, no approval
    args = rollback_args(db, tmp_path, strategy="logical_restore", backup_path=dump, environment="production",
                         trigger={"reason": "verify failed", "evidence": {"failed_checks": ["rls"]}}, run_key=run_key)
    plan = run_module("migration_rollback", args, check_mode=True)
    assert plan["to_revert"] == [RELEASE] and plan["restore"]["backup_counts"]["public.customer_segments"] == 3
    assert any(q.startswith('DROP VIEW IF EXISTS "public"."dashboard_tiles"') for q in plan["queries"])

    result = run_module("migration_rollback", args)
    assert not result.get("failed"), result
    assert [c["name"] for c in result["checks"]] == ["rollback", "rollback history", "smoke reads", "no data loss",
                                                     "backup row counts", "rls enabled"]
    assert all(c["status"] == "ok" for c in result["checks"])
    assert sorted(db.history()) == ALL[:-1]
    assert not db.table_exists("public.dashboard_tiles") and not has_column(db, "customer_segments", "churn_pct")
    assert db.scalar("SELECT count(*) FROM public.observability_logs") == 500
    assert db.scalar("SELECT relrowsecurity FROM pg_class WHERE oid = 'public.facts'::regclass") is True
    row = exercises(db)[-1]
    assert row[:5] == ("production", "logical_restore", [RELEASE], True, "verify failed")
    assert json.loads(row[5])["trigger"]["evidence"] == {"failed_checks": ["rls"]}
    assert "triggered automatically" in open(result["log_path"]).read()
    assert run_module("migration_rollback", args)["changed"] is False


def test_logical_restore_refuses_a_backup_taken_after_the_apply(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    dump = _dump(db, tmp_path / "after.dump")
    before = fingerprint(db)
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="logical_restore",
                                                            backup_path=dump, versions=[RELEASE]))
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("backup %s was taken after %s was applied" % (dump, RELEASE))
    assert fingerprint(db) == before


def test_logical_restore_of_a_bad_file_is_one_line_and_changes_nothing(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    bad = tmp_path / "bad.dump"
    bad.write_text("not a dump")
    before = fingerprint(db)
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="logical_restore",
                                                            backup_path=str(bad)))
    assert result["failed"] and result["msg"].startswith("pg_restore cannot read %s" % bad)
    assert "\n" not in result["msg"] and fingerprint(db) == before


def test_supabase_pitr_request_body_polling_and_verification(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash, target=PREVIOUS)
    dump = _dump(db, tmp_path / "pitr_point.dump")
    apply_started = int(time.time()) - 1
    apply(run_module, db, hotdash)

    def platform_restores(target):
        # What the platform does on a PITR: the database comes back as it was at the target moment.
        db.execute("DROP VIEW public.dashboard_tiles")  # created after the restore point
        settings = db.settings()
        subprocess.run(["pg_restore", "--clean", "--if-exists", "--single-transaction", "-d", db.name,
                        "-n", "public", "-n", "supabase_migrations"] + settings.libpq_args()[:-2] + [dump],
                       env=settings.child_env(dict(os.environ)), check=True, capture_output=True)

    # The fake platform's clock advances one second per read: the restore is queued (still ACTIVE_HEALTHY) for the
    # first status read, RESTORING for three, COMING_UP for one, then ACTIVE_HEALTHY.
    state = ProjectState(REF, pitr_enabled=True, restore_start_delay=3, restoring_seconds=3, coming_up_seconds=1,
                         on_restore=platform_restores, clock=itertools.count().__next__)
    with FakeManagementApi(token="sbp_secret_token", projects=[state]) as fake:
        args = rollback_args(db, tmp_path, strategy="supabase_pitr", environment="production", project_ref=REF,
                             access_token="sbp_secret_token", api_url=fake.url, target_version=PREVIOUS,
                             recovery_time_target=str(apply_started), poll_interval=0, wait_timeout=30)
        plan = run_module("migration_rollback", approved(run_module, db, args), check_mode=True)
        assert plan["changed"] is True and fake.requests == []
        result = run_module("migration_rollback", args)
        assert not result.get("failed"), (result.get("msg"), result.get("checks"))
        posts = [r for r in fake.requests if r[0] == "POST"]
        assert posts == [("POST", "/v1/projects/%s/database/backups/restore-pitr" % REF, "Bearer sbp_secret_token")]
        # The restore point is the default margin of 60 s before the apply started.
        assert state.restores == [apply_started - 60] and plan["plan"][0]["recovery_time_target_unix"] == apply_started - 60
        assert result["pitr"]["request"] == {"recovery_time_target_unix": apply_started - 60}
        assert result["pitr"]["statuses_seen"] == ["ACTIVE_HEALTHY", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"]
        assert len([r for r in fake.requests if r[0] == "GET"]) == 6
    assert "sbp_secret_token" not in json.dumps(result) and "sbp_secret_token" not in open(result["log_path"]).read()
    assert result["succeeded"] and sorted(db.history()) == ALL[:-1]
    assert exercises(db)[-1][:4] == ("production", "supabase_pitr", [RELEASE], True)


def test_supabase_pitr_that_never_begins_fails_in_one_line_and_changes_nothing(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    before = fingerprint(db)
    state = ProjectState(REF, pitr_enabled=True, restore_start_delay=3600, clock=itertools.count().__next__)
    with FakeManagementApi(token="sbp_tok", projects=[state]) as fake:
        result = run_module("migration_rollback", approved(run_module, db, rollback_args(
            db, tmp_path, strategy="supabase_pitr", environment="production", project_ref=REF, access_token="sbp_tok",
            api_url=fake.url, versions=[RELEASE], recovery_time_target=str(int(time.time()) - 5), poll_interval=0.05,
            begin_timeout=0.3)))
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("the restore of project %s did not begin within 0.3s: the project stayed "
                                    "ACTIVE_HEALTHY" % REF)
    assert len(state.restores) == 1 and fingerprint(db) == before and RELEASE in db.history()
    assert exercises(db)[-1][:4] == ("production", "supabase_pitr", [RELEASE], False)


def test_a_restart_after_the_request_proves_a_restore_ran(db):
    from ansible_collections.hotdash.supabase.plugins.module_utils.rollback import restarted_since
    assert restarted_since(db.settings(), "2000-01-01T00:00:00Z")() is True
    assert restarted_since(db.settings(), db.scalar("SELECT clock_timestamp()::text"))() is False
    assert restarted_since(db.settings(port=1), "2000-01-01T00:00:00Z")() is False  # down: no proof yet


def test_supabase_pitr_wrong_token_is_one_line(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    with FakeManagementApi(token="right", projects=[ProjectState(REF, pitr_enabled=True)]) as fake:
        result = run_module("migration_rollback", rollback_args(
            db, tmp_path, strategy="supabase_pitr", project_ref=REF, access_token="wrong-token-x", api_url=fake.url,
            versions=[RELEASE], recovery_time_target="2025-10-19T02:00:00Z"))
    assert result["failed"] and "401" in result["msg"] and "wrong-token-x" not in json.dumps(result)
    assert "\n" not in result["msg"] and RELEASE in db.history()


def test_staging_reset_reapplies_up_to_target_and_loads_seed(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    db.execute("CREATE TABLE public.scratch_left_over (id int)")
    args = rollback_args(db, tmp_path, strategy="staging_reset", project_dir=str(hotdash), target_version=PREVIOUS,
                         seed_path=str(hotdash / "supabase" / "seed.sql"))
    result = run_module("migration_rollback", args)
    assert not result.get("failed"), result
    assert result["reverted"] == [RELEASE] and [a["version"] for a in result["applied"]] == ALL[:-1]
    assert "table public.scratch_left_over" in result["dropped"]
    assert not db.table_exists("public.scratch_left_over") and not db.table_exists("public.dashboard_tiles")
    assert sorted(db.history()) == ALL[:-1] and db.scalar("SELECT count(*) FROM public.customer_segments") == 3
    assert all(c["status"] == "ok" for c in result["checks"]), result["checks"]
    assert db.scalar("SELECT has_table_privilege('authenticated', 'public.facts', 'SELECT')") is True
    assert run_module("migration_rollback", args)["changed"] is False


def test_staging_reset_is_refused_in_production(db, hotdash, tmp_path, run_module):
    seeded(run_module, db, hotdash)
    before = fingerprint(db)
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="staging_reset",
                                                            environment="production", project_dir=str(hotdash),
                                                            target_version=PREVIOUS))
    assert result["failed"] and result["msg"].startswith("refusing staging_reset in environment production")
    assert fingerprint(db) == before


def test_no_target_is_refused(db, hotdash, tmp_path, run_module):
    result = run_module("migration_rollback", rollback_args(db, tmp_path, strategy="down_scripts",
                                                            project_dir=str(hotdash)))
    assert result["failed"] and result["msg"].startswith("say what to roll back: target_version")
