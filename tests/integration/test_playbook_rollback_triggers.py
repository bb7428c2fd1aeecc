"""End to end: a release rolls back only for what it broke (issue 10: verify's baseline, the runbook's triggers,
PITR to the apply's own start, "stop all writes" through a pooler).

Two headless runs of the real apply playbooks on throwaway Supabase-shaped databases:

- staging, where the database already has an advisor ERROR, a table without RLS, an RPC over its 500 ms budget and
  an old burst of ERROR logs: none of it rolls back; the run keeps the release and succeeds with warnings;
- production, where the release switches RLS off a table: verify's regression triggers the automatic rollback, the
  supabase_pitr strategy asks the local Management API stand-in to restore to 60 s before the apply's own start
  (read from the apply log), waits for the restore to begin and to finish, and while the database is held read-only
  a session that a PgBouncer in transaction mode kept open since before the run cannot write.

The release breaking RLS and a data-integrity check next to a pre-existing integrity failure is
test_playbook_apply.py's test_verify_failure_rolls_back.
"""
import datetime
import itertools
import json
import os
import re
import subprocess
import sys
import traceback

import psycopg2
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_management_api import FakeManagementApi, ProjectState  # noqa: E402
from test_playbook_support import (BASELINE_VERSION, EXAMPLE, NEW_VERSION, add_migration, approval_vars,  # noqa: E402
                                   baseline, copy_example, history_versions, run_playbook, table_counts,
                                   write_inventory)

REF = "abcdefghijklmnopqrst"
TOKEN = "sbp_rollback_token_0123456789"
BREAKS_RLS = ("20251020090000", "facts_bulk_load", "alter table public.facts disable row level security;\n",
              "alter table public.facts enable row level security;\n")


def _line(run, needle):
    lines = [line for line in run.output.splitlines() if needle in line]
    assert lines, "%r not in output:\n%s" % (needle, run.output[-6000:])
    return lines[0]


def _report(run, prefix, host, name):
    run_dir = [d for d in run.run_dirs() if os.path.basename(d).startswith(prefix)][-1]
    with open(os.path.join(run_dir, host, name)) as handle:
        return run_dir, json.load(handle)


def test_pre_existing_failures_slow_rpc_and_old_errors_do_not_roll_back(make_db, run_module, tmp_path):
    project = copy_example(tmp_path)
    stg = make_db("stg")
    baseline(run_module, stg, project)
    # What the database already had before this release: an advisor ERROR (and an RLS coverage failure) from a
    # table without RLS, a dashboard RPC slower than the runbook's 500 ms target, and an outage three hours ago.
    stg.execute("create table public.legacy_export (id int primary key);\n"
                "create function public.slow_tile() returns integer language sql as $$ select 1 from pg_sleep(0.6) $$;\n"
                "grant execute on function public.slow_tile() to authenticated, service_role;\n"
                "insert into public.observability_logs (level, message, created_at)\n"
                "  select 'ERROR', 'old outage', now() - interval '3 hours' from generate_series(1, 50);\n")
    with open(os.path.join(EXAMPLE, "verify.yml")) as handle:
        functions = yaml.safe_load(handle)["supabase_verify_rpc_functions"]
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)}, project=project)
    extra = dict(approval_vars(), supabase_verify_advisors_enabled=True,
                 supabase_verify_rpc_functions=functions + [{"name": "slow_tile", "calls": 1}])

    run = run_playbook(tmp_path, "apply_staging", inventory, extra)

    assert run.rc == 0, run
    verdict = _line(run, "stg1: release verdict ")
    assert "release verdict succeeded with warnings: 0 trigger(s)" in verdict
    assert "advisor: rls_disabled_in_public" in verdict and "rls enabled: public" in verdict
    # The outcome line, the index and the feedback entry say "succeeded with warnings" and name them.
    outcome = _line(run, "stg1: succeeded with warnings: applied 1 migration(s): %s; warnings:" % NEW_VERSION)
    assert "rls_disabled_in_public" in outcome and "slow_tile" in outcome
    assert history_versions(stg)[-1] == NEW_VERSION
    assert not stg.table_exists("hotdash_audit.rollback_exercises") or stg.scalar(
        "SELECT count(*) FROM hotdash_audit.rollback_exercises") == 0
    before = _report(run, "staging_", "stg1", "verify_baseline.json")[1]
    run_dir, after = _report(run, "staging_", "stg1", "verify.json")
    assert after["summary"]["passed"] is True and before["summary"]["passed"] is False
    checks = dict((c["name"], c) for c in after["checks"])
    for name in ("advisor: rls_disabled_in_public", "rls enabled: public"):
        assert checks[name]["status"] == "warn" and checks[name]["baseline"] == "pre_existing", checks[name]
        assert checks[name]["detail"].startswith("pre-existing (failing before the apply too)")
    slow = checks["rpc: slow_tile"]
    assert slow["status"] == "warn" and slow["data"]["over_budget"] is True, slow
    # 100 % of the logged rows are ERRORs, but none since the apply started: the rate verify measures is 0.
    assert checks["error rate since the apply started"]["status"] == "ok", checks["error rate since the apply started"]
    assert "succeeded with warnings" in open(os.path.join(run_dir, "index.md")).read()
    feedback = open(str(tmp_path / "feedback" / "data" / "feedback.md")).read()
    assert "migration succeeded with warnings" in feedback and "ROLLED BACK" not in feedback
    assert "advisor: rls_disabled_in_public failing before the apply too" in feedback


def _pooled_write(conn, note):
    """One application write through the pooler, as service_role (its RLS bypass); "accepted" or the error."""
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL ROLE service_role")
            cur.execute("INSERT INTO public.observability_logs (level, message) VALUES ('INFO', %s)", (note,))
        conn.commit()
        return "accepted"
    except psycopg2.Error as exc:
        if not conn.closed:
            conn.rollback()
        return str(exc).strip()


def _apply_started_unix(run_dir, host):
    """The apply's own start, as migration_apply logged it (the database's clock)."""
    logs = [f for f in os.listdir(os.path.join(run_dir, host)) if "_migration_apply_" in f and f.endswith(".log")]
    assert len(logs) == 1, logs
    with open(os.path.join(run_dir, host, logs[0])) as handle:
        match = re.search(r"started at (\S+) \(database clock\)", handle.read())
    assert match, logs
    moment = datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    return moment.timestamp()


def _promoted_staging(make_db, run_module, project, tmp_path):
    """A staging database where the release is applied and its rollback was exercised (production's gates)."""
    stg = make_db("stg")
    baseline(run_module, stg, project)
    apply_args = {"db_url": stg.url, "project_dir": project, "log_path": os.devnull}
    assert not run_module("migration_apply", apply_args).get("failed")
    exercised = run_module("migration_rollback", {
        "db_url": stg.url, "strategy": "down_scripts", "environment": "staging", "project_dir": project,
        "target_version": BASELINE_VERSION, "log_dir": str(tmp_path / "exercise")})
    assert exercised.get("succeeded"), exercised.get("msg")
    assert not run_module("migration_apply", apply_args).get("failed")
    return stg


def test_production_regression_rolls_back_by_pitr_to_the_apply_start_and_stops_pooled_writes(
        make_db, make_pgbouncer, run_module, tmp_path):
    project = copy_example(tmp_path)
    add_migration(project, *BREAKS_RLS)
    stg = _promoted_staging(make_db, run_module, project, tmp_path)
    prod = make_db("prod")
    baseline(run_module, prod, project)
    # The application's role as a pooler logs in for it (a member of service_role, as PostgREST's authenticator
    # is); nothing here is an object the migrations would not build, so the production preflight sees no drift.
    writer, password = "app_writer_%s" % prod.name, "pooled-writer-pw"
    prod.execute("create role %s login password '%s' in role service_role" % (writer, password))
    # The application's connection through the pooler, open (and used) since before the run.
    pooler = make_pgbouncer(pool_size=1)
    client = psycopg2.connect(pooler.url(prod.name, user=writer, password=password))
    assert _pooled_write(client, "before the run") == "accepted"
    before = (history_versions(prod), table_counts(prod))
    # The platform's restore point: the database as it was before the run (what a PITR brings back).
    dump = str(tmp_path / "restore_point.dump")
    settings = prod.settings()
    env = settings.child_env(dict(os.environ))
    subprocess.run(["pg_dump", "-Fc", "-f", dump, "-n", "public", "-n", "supabase_migrations"]
                   + settings.libpq_args(), env=env, check=True, capture_output=True)
    seen = {}

    def platform_restores(target):
        # Runs while the rollback holds the database read-only: first the pooled session tries to write, then the
        # platform brings the database back to the restore point. The fake's HTTP thread must answer: what goes
        # wrong here is kept for the test to report.
        try:
            seen["read_only"] = prod.scalar("SHOW default_transaction_read_only")
            # The second attempt goes out on the pooler's next server connection.
            seen["writes"] = [_pooled_write(client, "during the rollback") for _attempt in range(2)]
            # The platform's own sessions are not held off by the read-only default. The view came with the release.
            writable = dict(env, PGOPTIONS="-c default_transaction_read_only=off")
            restore = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "DROP VIEW public.dashboard_tiles"]
                                     + settings.libpq_args(), env=writable, check=False, capture_output=True, text=True)
            if restore.returncode == 0:
                restore = subprocess.run(
                    ["pg_restore", "--clean", "--if-exists", "--single-transaction", "-d", prod.name, "-n", "public",
                     "-n", "supabase_migrations"] + settings.libpq_args()[:-2] + [dump],
                    env=writable, check=False, capture_output=True, text=True)
            seen["restored" if restore.returncode == 0 else "restore_error"] = target if restore.returncode == 0 \
                else restore.stderr[-2000:]
        except Exception:  # noqa: BLE001 - reported by the test
            seen["restore_error"] = traceback.format_exc()

    # The stand-in's clock moves one second per read of the project: the restore is queued (still ACTIVE_HEALTHY)
    # for the first status read after the request, then RESTORING, COMING_UP, and ACTIVE_HEALTHY again.
    state = ProjectState(REF, pitr_enabled=True, restore_start_delay=3, restoring_seconds=2, coming_up_seconds=1,
                         on_restore=platform_restores, clock=itertools.count().__next__)
    with FakeManagementApi(token=TOKEN, projects=[state]) as fake:
        inventory = write_inventory(tmp_path, {"prod1": ("production", prod)}, project=project)
        extra = dict(approval_vars(), **{
            "supabase_staging_db_url": stg.url,
            "supabase_preflight_window_override_reason": "test run outside 02:00-04:00 UTC",
            "supabase_preflight_backup_provider": "supabase", "supabase_preflight_backup_project_ref": REF,
            "supabase_preflight_backup_access_token": TOKEN, "supabase_preflight_backup_api_url": fake.url,
            "supabase_rollback_strategy": "supabase_pitr", "supabase_rollback_project_ref": REF,
            "supabase_rollback_access_token": TOKEN, "supabase_rollback_api_url": fake.url,
            "supabase_rollback_poll_interval": 0, "supabase_rollback_begin_timeout": 20,
            "supabase_rollback_wait_timeout": 60, "supabase_rollback_terminate_grace": 2})
        run = run_playbook(tmp_path, "apply_production", inventory, extra)

    assert run.rc != 0, run
    assert "restore_error" not in seen, seen["restore_error"]
    failure = _line(run, "prod1: FAILED (verify failed")
    assert "rls enabled: public" in failure and "rolled back %s, %s (succeeded)" % (BREAKS_RLS[0], NEW_VERSION) in failure
    run_dir = _report(run, "production_", "prod1", "verify.json")[0]
    started = _apply_started_unix(run_dir, "prod1")
    # One restore, to the default margin of 60 s before the apply's own start, waited for until it began and ended.
    assert state.restores == [int(started - 60)] == [seen["restored"]], (state.restores, started)
    # A queued restore still reads ACTIVE_HEALTHY: the wait went on until it began, and then until it ended.
    reads = state.status_reads
    assert reads[0] == "ACTIVE_HEALTHY" and reads[-1] == "ACTIVE_HEALTHY" and "RESTORING" in reads, reads
    assert reads.index("RESTORING") < len(reads) - 1 - reads[::-1].index("COMING_UP"), reads
    assert (history_versions(prod), table_counts(prod)) == before
    assert prod.scalar("SELECT relrowsecurity FROM pg_class WHERE oid = 'public.facts'::regclass") is True
    # Stop all writes: the pooled session that wrote before the run could not write while the rollback ran.
    assert seen["read_only"] == "on" and "accepted" not in seen["writes"], seen
    assert "read-only transaction" in seen["writes"][-1], seen
    # Writes are back after the verified rollback, through the same pooler (whose server connection opened during
    # the rollback was ended when writes were re-enabled).
    assert prod.scalar("SHOW default_transaction_read_only") == "off"
    again = psycopg2.connect(pooler.url(prod.name, user=writer, password=password))
    assert _pooled_write(again, "after the rollback") == "accepted"
    again.close()
    client.close()
    # The trigger names what was measured, and the token never appears.
    logs = [f for f in os.listdir(os.path.join(run_dir, "prod1")) if "_rollback_" in f and f.endswith(".log")]
    rollback_log = open(os.path.join(run_dir, "prod1", logs[0])).read()
    assert '"kind": "rls_failure"' in rollback_log and "triggered automatically" in rollback_log
    assert TOKEN not in run.output and TOKEN not in rollback_log
    exercises = prod.query("SELECT strategy, versions, succeeded FROM hotdash_audit.rollback_exercises")
    assert exercises == [("supabase_pitr", sorted([NEW_VERSION, BREAKS_RLS[0]]), True)]
