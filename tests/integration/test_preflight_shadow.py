"""The preflight's shadow checks through ansible-playbook, as a user runs the role: the pending migrations tried on a
shadow copy of the target (dry run), the real `supabase db lint` and `supabase db advisors` there, folded into the
report's lint group with the environment's severity (production fails, staging warns)."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_migration_shadow_check import BROKEN_FUNCTION, ORDERS, shadow_dbs, state, write  # noqa: E402
from test_preflight_role import report, run_playbook  # noqa: E402

# Groups that have nothing to do with the shadow are skipped to keep the runs short.
QUICK = ["backup", "cli", "health", "window"]


def preflight_vars(db, project, tmp_path, **extra):
    out = dict(supabase_db_url=db.url, supabase_project_dir=str(project), supabase_environment="staging",
               supabase_report_dir=str(tmp_path / "artifacts" / "data"), supabase_preflight_skip=QUICK,
               supabase_preflight_rollback_strategy="staging_reset")
    out.update(extra)
    return out


def checks(tmp_path):
    return dict((c["name"], c) for c in report(tmp_path)["checks"])


def test_staging_preflight_warns_on_a_plpgsql_error_the_release_brings(db, project, tmp_path, supabase_cli):
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_amount.sql", BROKEN_FUNCTION)
    before = state(db)
    # The shadow on the test cluster itself (a scratch database), as a user with a scratch server configures it.
    proc = run_playbook(tmp_path, preflight_vars(db, project, tmp_path, supabase_shadow="server",
                                                 supabase_shadow_server_url=db.cluster["url"]), cli=supabase_cli)
    assert proc.returncode == 0, proc.stdout[-4000:]
    found = checks(tmp_path)
    names = [c["name"] for c in report(tmp_path)["checks"]]
    assert names[names.index("lint"):] == ["lint", "dry_run", "db_lint", "shadow_advisors"]
    assert "schema_drift" not in names  # object-level drift is production's by default
    assert found["dry_run"]["status"] == "ok"
    assert "all 2 pending migration(s) applied on a shadow copy" in found["dry_run"]["detail"]
    lint = found["db_lint"]
    assert lint["status"] == "warn", lint
    assert "public.order_amount: error column \"amount\" does not exist (SQLSTATE 42703)" in lint["detail"]
    assert found["shadow_advisors"]["status"] in ("ok", "warn")
    assert "Preflight db1 (staging): PASSED" in proc.stdout
    text = json.dumps(report(tmp_path)) + proc.stdout
    assert ":%s@" % db.password not in text
    assert state(db) == before and shadow_dbs(db) == []


def test_production_preflight_stops_on_the_statement_that_would_fail(db, project, tmp_path, supabase_cli):
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_notes.sql", "alter table public.orders add column note text;\n"
                                               "alter table public.orders drop column nope;\n")
    # Made by hand on production, outside any migration: the history cannot show it, the object comparison does.
    db.execute("create table public.hand_made (id int)")
    before = state(db)
    # The default shadow: a cluster started on the controller for this run (never the production server).
    proc = run_playbook(tmp_path, preflight_vars(db, project, tmp_path, supabase_environment="production"),
                        cli=supabase_cli)
    assert proc.returncode != 0
    found = checks(tmp_path)
    dry_run = found["dry_run"]
    assert dry_run["status"] == "fail", dry_run
    assert ("migration 20251101000100_notes.sql would fail at statement 2 of 2 (alter table public.orders drop "
            "column nope): column \"nope\" of relation \"orders\" does not exist (SQLSTATE 42703); nothing was "
            "changed on the target") in dry_run["detail"]
    assert dry_run["data"]["shadow"]["location"] == "local"
    # Linting a release that does not apply proves nothing: reported as not done, not as passed.
    assert found["db_lint"]["status"] == "skipped" and found["shadow_advisors"]["status"] == "skipped"
    schema = found["schema_drift"]
    assert schema["status"] == "fail" and "TABLE public.hand_made" in schema["detail"], schema
    assert "Preflight failed on db1:" in proc.stdout and "dry_run" in proc.stdout
    assert state(db) == before
