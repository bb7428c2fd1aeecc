"""End to end: apply_staging.yml / apply_production.yml against real local databases (issue 6's proof).

Each test runs the real ansible-playbook headless (stdin /dev/null) on a generated inventory whose hosts
are throwaway Supabase-shaped databases: a clean apply behind a headless approval, a failing migration and
a verify failure that both end in a rollback with history and data as before, and production refused
by the promotion gate while staging lacks a version.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import (NEW_VERSION, add_migration, approval_vars, approvals, baseline,
                                   copy_example, history_versions, run_playbook, table_counts, write_inventory)  # noqa: E402


def _only_line(run, needle):
    lines = [line for line in run.output.splitlines() if needle in line]
    assert lines, "%r not in output:\n%s" % (needle, run.output[-5000:])
    return lines[0]


def _failing_staging_run(tmp_path, make_db, run_module, migration=None, extra_vars=None, prepare=None):
    """Baseline a staging database, optionally add one migration (version, name, sql, down_sql) to a copy of
    the example, run ``prepare`` (SQL) on the database, run apply_staging headless with an approval; returns
    (database, run, history and row counts from before the run)."""
    project = copy_example(tmp_path)
    if migration:
        version, name, sql, down_sql = migration
        add_migration(project, version, name, sql, down_sql=down_sql)
    stg = make_db("stg")
    baseline(run_module, stg, project)
    if prepare:
        stg.execute(prepare)
    before = (history_versions(stg), table_counts(stg))
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)}, project=project)
    run = run_playbook(tmp_path, "apply_staging", inventory, dict(approval_vars(), **(extra_vars or {})))
    return stg, run, before


def _assert_failed_and_rolled_back(run, stg, before, phase, reverted):
    """The run failed in ``phase``, rolled ``reverted`` back, and history and row counts are as before.
    Returns the host's one-line failure."""
    assert run.rc != 0, run
    failure = _only_line(run, "stg1: FAILED (%s" % phase)
    assert "rolled back %s (succeeded)" % reverted in failure
    assert (history_versions(stg), table_counts(stg)) == before
    return failure


def test_headless_without_approval_fails_at_once_then_with_approval_applies_with_warnings(make_db, run_module, tmp_path):
    stg = make_db("stg")
    baseline(run_module, stg)
    before = history_versions(stg)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)})

    refused = run_playbook(tmp_path, "apply_staging", inventory)
    assert refused.rc != 0, refused
    gate = _only_line(refused, "supabase_approval_approver")
    assert "supabase_approval_ticket" in gate and "supabase_approval_at" in gate
    assert "Not waiting for response" not in refused.output
    # the apply was only planned (the digest the approval would cover), never run
    after_header = refused.output.split("TASK [hotdash.supabase.apply : Apply the pending migrations]", 1)[1]
    assert after_header.split("TASK [", 1)[0].strip("* \n").startswith("skipping: [stg1]")
    assert "hotdash.supabase.approval : Ask for or check the approval once for every host of the play" in refused.output
    assert history_versions(stg) == before
    assert approvals(stg) == []

    # 0.7 % errors for the whole watch: over the 0.5 % success criterion, under the 1 % rollback trigger. The release
    # stays, and the run says "succeeded with warnings" in its summary line, index.md, notification and feedback entry.
    watch = {"supabase_monitor_window": 3, "supabase_monitor_interval": 1, "supabase_monitor_sustain": 1,
             "supabase_monitor_rate_window": 1, "supabase_monitor_probes": ["get_inventory_summary"],
             "supabase_monitor_probe_rate": 2, "supabase_monitor_error_rate_query": "SELECT 7 AS errors, 1000 AS total"}
    applied = run_playbook(tmp_path, "apply_staging", inventory, dict(approval_vars(approver="ana", ticket="CHG-1019"), **watch))
    assert applied.rc == 0, applied
    assert history_versions(stg) == before + [NEW_VERSION]
    assert stg.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'customer_segments'"
                      " AND column_name = 'churn_pct'") == 1
    rows = approvals(stg)
    assert [(r["gate"], r["approver"], r["ticket"], r["mode"]) for r in rows] == [("apply_staging", "ana", "CHG-1019", "headless")]
    assert rows[0]["versions"] == [NEW_VERSION]

    run_dir = [d for d in applied.run_dirs() if os.path.basename(d).startswith("staging_")][-1]
    index = open(os.path.join(run_dir, "index.md")).read()
    for phase in ("preflight", "approval", "apply", "verify", "monitor"):
        assert os.path.exists(os.path.join(run_dir, "stg1", phase + ".json")), phase
        assert "stg1/%s.md" % phase in index, phase
    assert "approvals.jsonl" in index
    with open(os.path.join(run_dir, "stg1", "verify.json")) as handle:
        assert json.load(handle)["summary"]["passed"] is True
    feedback = open(str(tmp_path / "feedback" / "data" / "feedback.md")).read()
    assert NEW_VERSION in feedback and run_dir.split("/")[-1] in feedback
    assert ":%s@" % stg.password not in applied.output

    summary = _only_line(applied, "stg1: succeeded with warnings: applied 1 migration(s): %s; warnings: " % NEW_VERSION)
    assert "error rate" in summary and "0.70%" in summary
    assert "get_inventory_summary" not in summary  # a probe within its budget is no warning
    assert "migration run staging_" in _only_line(applied, "SUCCEEDED WITH WARNINGS")
    assert "0.70%" in _only_line(applied, "warning: stg1: error rate")
    assert "- **verdict**: succeeded with warnings" in index and "stg1: succeeded with warnings: applied 1 migration(s)" in index
    assert "migration succeeded with warnings" in feedback and "| stg1 | succeeded with warnings |" in feedback
    assert "- **warning**: stg1: error rate" in feedback


def test_failing_migration_rolls_back_history_and_data(make_db, run_module, tmp_path):
    stg, run, before = _failing_staging_run(tmp_path, make_db, run_module, migration=(
        "20251020090000", "broken_backfill",
        "alter table public.customer_segments add column lifetime_value numeric;\n"
        "update public.customer_segments set lifetime_value = revenue / 0;\n",
        "alter table public.customer_segments drop column if exists lifetime_value;\n"))

    failure = _assert_failed_and_rolled_back(run, stg, before, "apply failed", NEW_VERSION)
    assert "20251020090000_broken_backfill.sql" in failure and "division by zero" in failure
    assert stg.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'customer_segments'"
                      " AND column_name IN ('churn_pct', 'lifetime_value')") == 0
    exercises = stg.query("SELECT strategy, versions, succeeded, trigger FROM hotdash_audit.rollback_exercises")
    assert len(exercises) == 1 and exercises[0][1] == [NEW_VERSION] and exercises[0][2] is True
    assert "division by zero" in exercises[0][3]


def test_verify_failure_rolls_back(make_db, run_module, tmp_path):
    # Applies cleanly but switches row level security off and breaks a data-integrity check; the database already
    # failed another integrity check before the run. The two regressions are the rollback triggers (RLS tests
    # failing, data integrity failures); the pre-existing failure is named as such and triggers nothing.
    stg, run, before = _failing_staging_run(tmp_path, make_db, run_module, migration=(
        "20251020090000", "facts_bulk_load",
        "alter table public.facts disable row level security;\n"
        "update public.product_categories set margin_pct = 150 where shopify_product_id = 1003;\n",
        "update public.product_categories set margin_pct = 44.00 where shopify_product_id = 1003;\n"
        "alter table public.facts enable row level security;\n"),
        prepare="update public.customer_segments set revenue = -1 where segment = 'vip'")

    failure = _assert_failed_and_rolled_back(run, stg, before, "verify failed", "20251020090000, %s" % NEW_VERSION)
    assert "rls enabled: public" in failure and "product_categories margin within 0..100" in failure
    assert "customer_segments without negative totals" not in failure
    assert stg.scalar("SELECT relrowsecurity FROM pg_class WHERE oid = 'public.facts'::regclass") is True
    assert stg.scalar("SELECT margin_pct FROM public.product_categories WHERE shopify_product_id = 1003") == 44
    assert "rollback" in open(str(tmp_path / "feedback" / "data" / "feedback.md")).read().lower()
    run_dir = [d for d in run.run_dirs() if os.path.basename(d).startswith("staging_")][-1]
    with open(os.path.join(run_dir, "stg1", "verify.json")) as handle:
        checks = dict((c["name"], c) for c in json.load(handle)["checks"])
    assert checks["customer_segments without negative totals"]["baseline"] == "pre_existing"
    assert checks["customer_segments without negative totals"]["status"] == "warn"
    assert checks["product_categories margin within 0..100"]["baseline"] == "regression"
    # The trigger handed to the rollback: what verify measured, by kind.
    log = [f for f in os.listdir(os.path.join(run_dir, "stg1")) if "_rollback_" in f and f.endswith(".log")]
    triggered = [line for line in open(os.path.join(run_dir, "stg1", log[0])) if "triggered automatically" in line]
    kinds = sorted(set(t["kind"] for t in json.loads(triggered[0].split("triggered automatically: ", 1)[1])["evidence"]["triggers"]))
    assert kinds == ["integrity_failure", "rls_failure"], triggered


def test_production_refused_while_staging_lacks_a_version(make_db, run_module, tmp_path):
    stg, prod = make_db("stg"), make_db("prod")
    baseline(run_module, stg)
    baseline(run_module, prod)
    prod_before = history_versions(prod)
    inventory = write_inventory(tmp_path, {"prod1": ("production", prod)})
    extra = approval_vars()
    extra.update({"supabase_staging_db_url": stg.url,
                  "supabase_preflight_window_override_reason": "test run outside 02:00-04:00 UTC"})

    run = run_playbook(tmp_path, "apply_production", inventory, extra)

    assert run.rc != 0, run
    failure = _only_line(run, "prod1: FAILED (preflight failed")
    assert "promotion" in failure and "nothing applied" in failure
    run_dir = [d for d in run.run_dirs() if os.path.basename(d).startswith("production_")][-1]
    with open(os.path.join(run_dir, "prod1", "preflight.json")) as handle:
        checks = dict((c["name"], c) for c in json.load(handle)["checks"])
    assert checks["promotion"]["status"] == "fail" and NEW_VERSION in checks["promotion"]["detail"]
    assert checks["maintenance_window"]["status"] in ("ok", "waived")
    assert history_versions(prod) == prod_before
    assert approvals(prod) == []
    assert ":%s@" % stg.password not in run.output


def test_sustained_monitor_breach_rolls_back(make_db, run_module, tmp_path):
    # The application's error rate stays at 5 % for the whole watch window (the runbook's trigger: > 1 % for
    # longer than the sustain time): the monitor phase breaches and the rescue rolls the release back.
    stg, run, before = _failing_staging_run(tmp_path, make_db, run_module, extra_vars={
        "supabase_monitor_window": 3, "supabase_monitor_interval": 1,
        "supabase_monitor_sustain": 1,
        "supabase_monitor_error_rate_query": "SELECT 5 AS errors, 100 AS total"})

    failure = _assert_failed_and_rolled_back(run, stg, before, "monitor", NEW_VERSION)
    assert "error rate" in failure
    assert stg.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'customer_segments'"
                      " AND column_name = 'churn_pct'") == 0


def test_log_disk_full_after_two_commits_rolls_back_what_committed(make_db, run_module, tmp_path):
    """The apply log's disk fills after two migrations committed: the outcome names the log and the two that
    committed (never "nothing applied"), and the rollback reverts them."""
    project = copy_example(tmp_path)
    add_migration(project, "20251020090000", "notes", "create table public.release_notes (id int);\n",
                  down_sql="drop table if exists public.release_notes;\n")
    add_migration(project, "20251021090000", "tags_with_a_long_name_so_its_first_log_line_is_long",
                  "create table public.release_tags (id int);\n", down_sql="drop table if exists public.release_tags;\n")
    trial, stg = make_db("stg"), make_db("stg")
    for database in (trial, stg):
        baseline(run_module, database, project)
    before = (history_versions(stg), table_counts(stg))
    # Where the log stands after the second commit, from a trial run; then the disk is full just after it.
    trial_log = tmp_path / "trial.log"
    assert not run_module("migration_apply", {"db_url": trial.url, "project_dir": project, "environment": "staging",
                                              "log_path": str(trial_log)}).get("failed")
    text = trial_log.read_text()
    after_two = text.index("\n", text.index("applied 20251020090000_notes.sql")) + 1
    log = tmp_path / "apply.log"
    log.write_bytes(b"#" * 4000000 + b"\n")  # a log far longer than any file another module writes
    limit = 4000001 + after_two + 20
    interpreter = tmp_path / "python-on-a-full-disk"
    interpreter.write_text("#!%s\nimport os, resource, sys\nif any('migration_apply' in arg for arg in sys.argv[1:]):\n"
                           "    resource.setrlimit(resource.RLIMIT_FSIZE, (%d, %d))\nos.execv(%r, [%r] + sys.argv[1:])\n"
                           % (sys.executable, limit, limit, sys.executable, sys.executable))
    interpreter.chmod(0o755)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)}, project=project,
                                group_vars={"ansible_python_interpreter": str(interpreter)})
    run = run_playbook(tmp_path, "apply_staging", inventory, dict(approval_vars(), supabase_apply_log_path=str(log)))
    failure = _assert_failed_and_rolled_back(run, stg, before, "apply failed", "20251020090000, %s" % NEW_VERSION)
    assert "cannot write the log %s" % log in failure and "nothing applied" not in failure
    assert "applied by this run (re-read from the history after the failure): %s_" % NEW_VERSION in failure
    assert not stg.table_exists("public.release_tags")
    # The run's index.md (what a reader opens first) says the same: the log, and what had committed.
    index = open(os.path.join(run.run_dirs()[-1], "index.md")).read()
    assert "cannot write the log %s" % log in index, index
    assert "applied by this run (re-read from the history after the failure): %s_" % NEW_VERSION in index, index
