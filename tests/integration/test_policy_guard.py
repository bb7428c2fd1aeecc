"""The guard on real PostgreSQL: approvals bound to the plan of THIS database, refusals recorded, the release's
run key as the only evidence for an automatic rollback, SSH-signed approvals verified with ssh-keygen."""
import datetime
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from policy_evidence import approve, label  # noqa: E402
from ssh_signers import Signers  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import (  # noqa: E402
    approval_evidence, plan_digest, policy_audit, policy_guard)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect  # noqa: E402

ANA, BOB = "ana@hotdash.example", "bob@hotdash.example"
STEPS = [plan_digest.step("20251019090000", plan_digest.statements_checksum(["alter table t add b int"]))]


def check(db, change, check_mode=False, operator="maria"):
    conn = connect(db.settings())
    try:
        return policy_guard.check(conn, change, check_mode=check_mode, operator=operator)
    finally:
        conn.close()


def apply_change(**kwargs):
    return policy_guard.Change("apply", "migration_apply", "production", steps=STEPS, run_id="r1", host="prod", **kwargs)


def test_an_approval_binds_to_this_databases_plan_and_the_refusal_is_recorded(make_db):
    db, other = make_db("prod"), make_db("other")
    label(db)
    label(other)
    planned = check(db, apply_change(), check_mode=True)
    assert planned["refusal"].startswith("migration_apply refused by the production policy #1 of this database: "
                                         "no apply_production approval covers plan %s" % planned["plan_digest"][:19])
    assert planned["plan"]["database"].endswith("/" + db.name)
    assert db.scalar("SELECT count(*) FROM hotdash_audit.refusals") == 0   # check mode records nothing

    # the same migration approved for the other database (same cluster: same system identifier, other name)
    other_digest = check(other, apply_change(), check_mode=True)["plan_digest"]
    assert other_digest != planned["plan_digest"]
    approve(db, other_digest)
    with pytest.raises(policy_guard.PolicyRefused) as err:
        check(db, apply_change())
    assert "the newest apply_production approval (#1 by ana) is for plan %s" % other_digest[:19] in str(err.value)
    assert db.query("SELECT action, missing, plan_digest, versions, operator, host FROM hotdash_audit.refusals") == [
        ("migration_apply", ["approval"], planned["plan_digest"], ["20251019090000"], "maria", "prod")]

    approval_id = approve(db, planned["plan_digest"])
    passed = check(db, apply_change())
    assert passed["approval_id"] == approval_id and passed["approver"] == "ana"
    release = passed["release"]
    assert len(release["run_key"]) == 64
    rows = db.query("SELECT id, approval_id, versions, run_key_sha256 FROM hotdash_audit.release_runs")
    assert rows == [(release["id"], approval_id, ["20251019090000"], policy_audit.key_digest(release["run_key"]))]
    assert release["run_key"] not in str(db.query("SELECT * FROM hotdash_audit.release_runs"))


def test_a_database_held_read_only_still_records_the_refusal(make_db):
    db = make_db("prod")
    label(db)
    db.execute('ALTER DATABASE "%s" SET default_transaction_read_only = on' % db.name)
    with pytest.raises(policy_guard.PolicyRefused):
        check(db, apply_change())
    assert db.scalar("SELECT count(*) FROM hotdash_audit.refusals") == 1


def test_only_the_releasing_run_can_roll_its_release_back_without_an_approval(make_db):
    db = make_db("prod")
    label(db)
    digest = check(db, apply_change(), check_mode=True)["plan_digest"]
    approve(db, digest)
    run_key = check(db, apply_change())["release"]["run_key"]
    trigger = {"reason": "verify failed: rls enabled", "evidence": {"failed_checks": ["rls enabled"]}}

    def rollback(**kwargs):
        return policy_guard.Change("rollback", "migration_rollback:down_scripts", "production", steps=STEPS,
                                   run_id="r1", host="prod", **kwargs)

    for kwargs, message in [
        (dict(trigger=trigger), "a trigger without the run key"),
        (dict(trigger=trigger, run_key="0" * 64), "the run key matches no release run"),
        (dict(trigger="manual -e supabase_rollback_trigger=x", run_key="guessed"), "matches no release run"),
        (dict(run_key=run_key), "no production_rollback approval covers plan"),
    ]:
        with pytest.raises(policy_guard.PolicyRefused) as err:
            check(db, rollback(**kwargs))
        assert message in str(err.value)
    assert db.scalar("SELECT count(*) FROM hotdash_audit.rollback_triggers") == 0
    assert db.scalar("SELECT count(*) FROM hotdash_audit.refusals WHERE action LIKE 'migration_rollback%'") == 4

    accepted = check(db, rollback(trigger=trigger, run_key=run_key))
    assert accepted["approval_id"] is None and accepted["trigger_id"]
    assert db.query("SELECT release_run_id, reason, evidence, versions FROM hotdash_audit.rollback_triggers") == [
        (accepted["release_run_id"], "verify failed: rls enabled", {"failed_checks": ["rls enabled"]},
         ["20251019090000"])]
    # the read-only switch of the same automatic rollback is accepted with the same key
    read_only = policy_guard.Change("read_only", "db_read_only", "production", trigger=trigger, run_key=run_key)
    assert check(db, read_only)["approval_id"] is None


def test_a_signed_approval_verifies_and_a_forged_one_is_refused(make_db, tmp_path):
    db = make_db("prod")
    signers = Signers(tmp_path, [ANA, BOB], allowed=[ANA])
    with open(signers.allowed_signers_path) as handle:
        label(db, require_verified_approval=True, require_distinct_approver=True, allowed_signers=handle.read())
    planned = check(db, apply_change(), check_mode=True)
    plan = dict(planned["plan"], host="prod")

    def signed_approval(approver, signer, edit=None):
        statement = approval_evidence.build_statement(
            "apply_production", "production", approver, "CHG-1", datetime.datetime.now(datetime.timezone.utc)
            - datetime.timedelta(minutes=2), [plan])
        signature = signers.sign(signer, statement)
        if edit:
            statement = edit(statement)
        parsed = approval_evidence.parse_statement(statement)
        return approve(db, planned["plan_digest"], approver=parsed["approver"], ticket=parsed["ticket"],
                       approved_at=parsed["approved_at"], proof="ssh_signature",
                       evidence={"statement": statement, "signature": signature})

    signed_approval(ANA, BOB)                                                    # bob's key, ana's name
    signed_approval(ANA, ANA, edit=lambda text: text.replace("CHG-1", "CHG-2"))  # edited after signing
    with pytest.raises(policy_guard.PolicyRefused) as err:
        check(db, apply_change())
    assert "approval #2: the approval signature does not verify for ana@hotdash.example" in str(err.value)

    good = signed_approval(ANA, ANA)
    with pytest.raises(policy_guard.PolicyRefused) as err:          # ana cannot approve her own change
        check(db, apply_change(), operator="ana")
    assert "is by ana@hotdash.example, who also runs the change" in str(err.value)
    assert check(db, apply_change(), operator="maria")["approval_id"] == good


def test_the_run_cannot_loosen_the_age_but_can_tighten_it(make_db):
    db = make_db("prod")
    label(db, approval_max_age=3600)
    digest = check(db, apply_change(), check_mode=True)["plan_digest"]
    approve(db, digest, age_minutes=90)
    with pytest.raises(policy_guard.PolicyRefused) as err:
        check(db, apply_change(requested={"approval_max_age": 360000}))
    assert "is 1.5 h old; the policy accepts at most 1.0 h" in str(err.value)
    approve(db, digest, age_minutes=20)
    assert check(db, apply_change())["approval_id"] == 2
    with pytest.raises(policy_guard.PolicyRefused):
        check(db, apply_change(requested={"approval_max_age": 600}))


def test_promotion_is_proven_by_the_pinned_staging_database_only(make_db, project, tmp_path):
    from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
    staging, impostor = make_db("stg"), make_db("impostor")
    migration = project / "supabase" / "migrations" / "20251019090000_add_b.sql"
    migration.write_text("create table t (id int);\n")
    pending = load_directory(str(project)).migrations
    conn = connect(staging.settings())
    with conn, conn.cursor() as cur:
        source = plan_digest.database_identity(cur)
    conn.close()
    assert "not applied on staging" in policy_guard.promotion_check(staging.settings(), pending)(source)
    staging.execute("CREATE SCHEMA IF NOT EXISTS supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations"
                    " (version text PRIMARY KEY, statements text[], name text)")
    staging.execute("INSERT INTO supabase_migrations.schema_migrations VALUES ('20251019090000', %s, 'add_b')",
                    (["create table t (id int)"],))
    assert policy_guard.promotion_check(staging.settings(), pending)(source) is None
    wrong = policy_guard.promotion_check(impostor.settings(), pending)(source)
    assert wrong.startswith("promotion_db_url leads to") and "not the staging database" in wrong
    migration.write_text("create table t (id bigint);\n")
    changed = load_directory(str(project)).migrations
    assert "different statements" in policy_guard.promotion_check(staging.settings(), changed)(source)
    assert "gave no staging connection" in policy_guard.promotion_check(None, pending)(source)


def test_the_append_only_function_has_a_fixed_search_path_also_in_an_older_audit_schema(make_db):
    # db advisors reports a function without one (function_search_path_mutable) as a finding of every release.
    db = make_db("prod")
    label(db)
    pinned = "SELECT proconfig FROM pg_proc WHERE oid = 'hotdash_audit.append_only()'::regprocedure"
    assert db.scalar(pinned) == ["search_path=pg_catalog"]
    db.execute("ALTER FUNCTION hotdash_audit.append_only() RESET ALL")   # as an earlier version created it
    conn = connect(db.settings())
    try:
        with conn.cursor() as cur:
            assert policy_audit.ensure_schema(cur) is not False
        conn.commit()
    finally:
        conn.close()
    assert db.scalar(pinned) == ["search_path=pg_catalog"]
