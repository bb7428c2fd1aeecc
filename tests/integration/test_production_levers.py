"""The production gates hold against the variables of a run (issue 10's levers), end to end.

A throwaway database is labelled production with the db_policy playbook (its own policy_change approval), then
every lever a run could pull is tried through the real ``ansible-playbook`` headless (stdin /dev/null), as AWX or
cron would: each is refused with one clear line, the refusal is recorded in ``hotdash_audit.refusals`` of the
database, and history, schema, data and the read-only setting are exactly as before. Levers that can be pulled
together are pulled in one run (playbook runs are slow); its refusal must name every gate they tried to open.
"""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from policy_evidence import label  # noqa: E402
from test_playbook_support import (BASELINE_VERSION, NEW_VERSION, approval_vars, baseline, history_versions,  # noqa: E402
                                   run_playbook, table_counts, write_inventory)

ZERO_WIDTH_SPACE = u"\u200b"
# Preflight checks no policy stands in for (the CLI's version, squawk's lint): skipped to keep the runs short.
NOT_GATES = ["cli", "lint"]


def _only_line(run, needle):
    lines = [line for line in run.output.splitlines() if needle in line]
    assert lines, "%r not in output:\n%s" % (needle, run.output[-6000:])
    return lines[0]


def _state(db):
    """What a refused run must leave exactly as it was (the audit schema aside: refusals are written there)."""
    schema = [row for row in db.schema_fingerprint() if row[0] != "hotdash_audit"]
    read_only = db.scalar("SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
                          "WHERE d.datname = current_database() AND 'default_transaction_read_only=on' = ANY(s.setconfig)")
    return history_versions(db), schema, table_counts(db), read_only


def _refusals(db):
    return db.query("SELECT action, gate, missing, host FROM hotdash_audit.refusals ORDER BY id")


def _refused(tmp_path, inventory, db, before, playbook, extra, failure, action, gate, missing):
    """Run ``playbook`` with the lever's ``extra`` vars: refused, the host's one failure line starting with
    ``failure``, the refusal recorded, the database as ``before``. Returns that line."""
    run = run_playbook(tmp_path, playbook, inventory, extra)
    assert run.rc != 0, run
    line = _only_line(run, failure)
    assert _refusals(db)[-1] == (action, gate, missing, "prod1"), line
    assert _state(db) == before
    return line


def _window_excluding_now():
    """A 30-minute maintenance window six hours away, and a moment inside it (what supabase_preflight_now fakes)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    hour = (now.hour + 6) % 24
    inside = now.replace(hour=hour, minute=10, second=0, microsecond=0)
    return "%02d:00-%02d:30" % (hour, hour), inside.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_no_variable_opens_a_production_gate(make_db, run_module, tmp_path):
    prod, stg = make_db("prod"), make_db("stg")
    baseline(run_module, prod)
    baseline(run_module, stg)               # staging lacks the release: promotion is not proven
    window, inside_window = _window_excluding_now()
    inventory = write_inventory(tmp_path, {"prod1": ("production", prod)}, group_vars={
        "supabase_staging_db_url": stg.url,
        # what the team's production inventory asks of a run; the database's policy asks the same below
        "supabase_preflight_windows": [window],
        "supabase_preflight_require_rollback_exercise": False,
        "supabase_db_policy": {"windows": [window], "backup_max_age": 3600, "require_promotion": True},
    })

    # The team labels the database, once, with an approval of exactly that policy.
    labelled = run_playbook(tmp_path, "db_policy", inventory, approval_vars(approver="db-manager", ticket="CHG-1"))
    assert labelled.rc == 0, labelled
    assert "prod1: policy #1 set: production" in labelled.output
    assert prod.query("SELECT environment, settings->'windows', settings->>'require_promotion' FROM hotdash_audit.policy"
                      ) == [("production", [window], "true")]
    assert prod.query("SELECT gate, approver FROM hotdash_audit.approvals") == [("policy_change", "db-manager")]
    before = _state(prod)
    assert before[0][-1] == BASELINE_VERSION

    # 1. No approval asked for, and every preflight gate skipped or faked: the database's policy still decides.
    run = run_playbook(tmp_path, "apply_production", inventory, {
        "supabase_playbook_require_approval": False,
        "supabase_preflight_skip": ["backup"] + NOT_GATES,
        "supabase_preflight_now": inside_window,
        "supabase_preflight_promotion_gate": False,
    })
    assert run.rc != 0, run
    line = _only_line(run, "prod1: FAILED (apply failed")
    assert "migration_apply refused by the production policy #1 of this database: no apply_production approval " \
           "covers plan sha256:" in line
    assert "is outside the maintenance window(s) %s" % window in line    # the database's clock, not preflight_now
    assert "no backup recorded in hotdash_audit.backups" in line
    assert "%s not applied on staging %s" % (NEW_VERSION, stg.name) in line
    assert "nothing applied" in line
    assert _refusals(prod) == [("migration_apply", "apply_production", ["approval", "window", "backup", "promotion"],
                                "prod1")]
    assert _state(prod) == before

    # From here the policy asks for an approval only, so each refusal below is the lever's alone.
    label(prod)

    # 2. A 25-hour-old approval with the run's own maximum age raised: the policy's 24 h counts.
    apply_fails, approval_fails = "prod1: FAILED (apply failed", "prod1: FAILED (approval failed"
    preflight = ["window", "readiness"] + NOT_GATES
    line = _refused(tmp_path, inventory, prod, before, "apply_production", dict(
        approval_vars(minutes_ago=25 * 60), supabase_approval_max_age_hours=100000, supabase_preflight_skip=preflight),
        apply_fails, "migration_apply", "apply_production", ["approval_age"])
    assert "migration_apply refused by the production policy #2 of this database: approval #2 given at " in line
    assert " is 25.0 h old; the policy accepts at most 24.0 h" in line

    # 3. A staging gate's waiver, recorded as if it approved production.
    line = _refused(tmp_path, inventory, prod, before, "apply_production", dict(
        supabase_approval_gate="apply_staging", supabase_approval_environment="staging", supabase_approval_mode="waiver",
        supabase_approval_waiver_reason="x", supabase_preflight_skip=preflight),
        approval_fails, "approval_record", "apply_staging", ["environment", "gate", "waiver"])
    assert "approval for gate apply_staging refused by the production policy #2 of this database: the approval is " \
           "for staging" in line
    assert "gate apply_staging does not guard a production database" in line
    assert prod.scalar("SELECT count(*) FROM hotdash_audit.approvals WHERE gate = 'apply_staging'") == 0

    # 4. An approver given as a list and a ticket of one zero-width space.
    line = _refused(tmp_path, inventory, prod, before, "apply_production", dict(
        approval_vars(), supabase_approval_approver=["db-manager"], supabase_approval_ticket=ZERO_WIDTH_SPACE,
        supabase_preflight_skip=preflight), approval_fails, "approval_gate", "apply_production", ["approval"])
    assert "supabase_approval_approver must be text, got a list" in line
    assert "supabase_approval_ticket contains the invisible or control character U+200B" in line

    # 5. rollback.yml with a trigger typed on the command line: no run key of a release, so no automatic rollback.
    line = _refused(tmp_path, inventory, prod, before, "rollback", dict(
        supabase_rollback_versions=[BASELINE_VERSION],
        supabase_rollback_trigger={"reason": "error rate", "evidence": {"typed": True}}),
        "prod1: ROLLBACK FAILED", "db_read_only:on", "production_rollback", ["automatic_rollback"])
    assert "db_read_only:on refused by the production policy #2 of this database: automatic rollback refused: a " \
           "trigger without the run key" in line
    assert len(_refusals(prod)) == 5
