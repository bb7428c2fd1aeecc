"""status.yml, resolve_drift.yml and rollback.yml against real local databases."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import (BASELINE_VERSION, NEW_VERSION, approval_vars, approvals, baseline,  # noqa: E402
                                   history_versions, run_playbook, table_counts, write_inventory)

REMOTE_ONLY = "20251003090000"


def test_status_is_read_only_and_reports_every_database(make_db, run_module, tmp_path):
    stg, prod = make_db("stg"), make_db("prod")
    baseline(run_module, stg, version=NEW_VERSION)
    baseline(run_module, prod)
    fingerprints = (stg.schema_fingerprint(), prod.schema_fingerprint(), stg.history(), prod.history())
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg), "prod1": ("production", prod)})

    run = run_playbook(tmp_path, "status", inventory, collection_name=True)

    assert run.rc == 0, run
    assert (stg.schema_fingerprint(), prod.schema_fingerprint(), stg.history(), prod.history()) == fingerprints
    run_dir = run.run_dirs()[-1]
    assert os.path.basename(run_dir).startswith("status_")
    with open(os.path.join(run_dir, "prod1", "status.json")) as handle:
        pending = dict((c["name"], c) for c in json.load(handle)["checks"])["pending"]
    assert pending["status"] == "warn" and NEW_VERSION in pending["detail"]
    with open(os.path.join(run_dir, "stg1", "status.json")) as handle:
        assert dict((c["name"], c) for c in json.load(handle)["checks"])["pending"]["status"] == "ok"
    index = open(os.path.join(run_dir, "index.md")).read()
    assert "prod1/status.md" in index and "stg1/status.md" in index


def test_status_names_the_missing_connection(tmp_path, make_db):
    database = make_db("stg")
    inventory = write_inventory(tmp_path, {"stg1": ("staging", database)})
    os.unlink(os.path.join(inventory, "host_vars", "stg1.yml"))

    run = run_playbook(tmp_path, "status", inventory, {"supabase_db_url_source": "the STAGING_DB_URL environment variable"})

    assert run.rc != 0, run
    assert "no connection for stg1: set supabase_db_url (the STAGING_DB_URL environment variable)" in run.output


def _add_remote_only(database):
    database.execute("INSERT INTO supabase_migrations.schema_migrations (version, name, statements)"
                     " VALUES (%s, 'hotfix_from_dashboard', ARRAY['select 1'])", (REMOTE_ONLY,))


def test_resolve_drift_needs_a_strategy_then_repairs_with_approval(make_db, run_module, tmp_path):
    stg = make_db("stg")
    baseline(run_module, stg)
    _add_remote_only(stg)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)})

    refused = run_playbook(tmp_path, "resolve_drift", inventory, approval_vars())
    assert refused.rc != 0, refused
    assert "set supabase_drift_strategy to A (fetch the remote-only migrations), B (repair" in refused.output
    assert REMOTE_ONLY in history_versions(stg)

    repaired = run_playbook(tmp_path, "resolve_drift", inventory,
                            dict(approval_vars(approver="manager", ticket="P0-DRIFT"), supabase_drift_strategy="B"))
    assert repaired.rc == 0, repaired
    assert REMOTE_ONLY not in history_versions(stg)
    rows = approvals(stg, gate="drift_resolution")
    assert len(rows) == 1 and rows[0]["approver"] == "manager" and rows[0]["versions"] == [REMOTE_ONLY]
    with open(os.path.join(repaired.run_dirs()[-1], "stg1", "drift_resolution.json")) as handle:
        report = json.load(handle)
    checks = dict((c["name"], c) for c in report["checks"])
    assert [c["name"] for c in report["checks"]][:2] == ["repair", "remote-only versions"]
    assert checks["remote-only versions"]["status"] == "ok" and checks["remote-only versions"]["detail"] == "before 1, after 0"
    assert checks["drift"]["status"] == "ok" and report["summary"]["passed"]
    assert report["meta"]["strategy"] == "B (reverted)" and json.loads(report["meta"]["approval"])["approver"] == "manager"


def test_rollback_playbook_reverts_the_versions_asked(make_db, run_module, tmp_path):
    stg = make_db("stg")
    baseline(run_module, stg, version=NEW_VERSION)
    counts = table_counts(stg)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)})

    refused = run_playbook(tmp_path, "rollback", inventory)
    assert refused.rc != 0 and "say what to roll back" in refused.output, refused
    assert NEW_VERSION in history_versions(stg)

    run = run_playbook(tmp_path, "rollback", inventory, {"supabase_rollback_target_version": BASELINE_VERSION})
    assert run.rc == 0, run
    assert history_versions(stg)[-1] == BASELINE_VERSION
    assert table_counts(stg) == counts
    assert stg.scalar("SELECT count(*) FROM hotdash_audit.rollback_exercises WHERE succeeded") == 1
