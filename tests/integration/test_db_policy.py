"""db_policy against real PostgreSQL: labelling a database needs an approval bound to the new policy, the
trail is append-only, and a weaker policy needs an approval the policy in force accepts."""
import os
import sys

import psycopg2
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from policy_evidence import approve, minutes_ago  # noqa: E402
from ssh_signers import Signers  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence  # noqa: E402

ANA = "ana@hotdash.example"


def record_approval(db, digest, **fields):
    return approve(db, digest, gate="policy_change", **fields)


def policy_args(db, staging, **extra):
    args = dict(db.connection_args(), environment="production", promotion_db_url=staging.url,
                inventory_host="prod", run_id="r1")
    args.update(extra)
    return args


def test_labelling_a_database_needs_an_approval_of_that_exact_policy(make_db, run_module):
    db, staging = make_db("prod"), make_db("staging")
    plan = run_module("db_policy", policy_args(db, staging), check_mode=True)
    assert plan["changed"] is True and plan["policy_id"] is None
    assert plan["policy"]["promotion_source"]["database"] == staging.name
    digest = plan["policy_check"]["plan_digest"]
    assert plan["policy_check"]["gate"] == "policy_change"
    assert "no policy_change approval covers plan %s" % digest[:19] in plan["policy_check"]["refusal"]
    assert not db.table_exists("hotdash_audit.policy")          # check mode writes nothing

    refused = run_module("db_policy", policy_args(db, staging))
    assert refused["failed"] and "\n" not in refused["msg"]
    assert refused["msg"].startswith("db_policy refused by the policy change rules: no policy_change approval")
    assert staging.password not in str(refused)
    assert db.scalar("SELECT count(*) FROM hotdash_audit.policy") == 0
    assert db.query("SELECT action, missing, plan_digest FROM hotdash_audit.refusals") == [
        ("db_policy", ["approval"], digest)]

    # an approval of another policy (a different window) does not cover this one
    other = run_module("db_policy", policy_args(db, staging, windows=["01:00-02:00"]), check_mode=True)
    record_approval(db, other["policy_check"]["plan_digest"])
    assert run_module("db_policy", policy_args(db, staging))["failed"]

    approval_id = record_approval(db, digest)
    done = run_module("db_policy", policy_args(db, staging), diff=True)
    assert done["changed"] is True and done["policy_check"]["approval_id"] == approval_id
    assert done["summary"].startswith("policy #%d set: production (approval within 24.0 h" % done["policy_id"])
    assert done["diff"]["before"] == {} and done["diff"]["after"]["environment"] == "production"
    row = db.query("SELECT environment, approval_id, plan_digest, settings->>'backup_max_age' FROM hotdash_audit.policy")
    assert row == [("production", approval_id, digest, "43200")]

    again = run_module("db_policy", policy_args(db, staging))
    assert again["changed"] is False and again["policy_id"] == done["policy_id"]
    assert db.scalar("SELECT count(*) FROM hotdash_audit.policy") == 1


def test_the_policy_in_force_decides_how_it_may_be_weakened(make_db, run_module, tmp_path):
    db, staging = make_db("prod"), make_db("staging")
    signers = Signers(tmp_path, [ANA])
    strict = policy_args(db, staging, require_verified_approval=True, allowed_signers_file=signers.allowed_signers_path)
    digest = run_module("db_policy", strict, check_mode=True)["policy_check"]["plan_digest"]
    statement = approval_evidence.build_statement("policy_change", "production", ANA, "CHG-8", minutes_ago(5),
                                                  [{"digest": digest, "database": db.name, "versions": []}])
    record_approval(db, digest, approver=ANA, ticket="CHG-8", approved_at=approval_evidence.parse_statement(
        statement)["approved_at"], proof="ssh_signature",
        evidence={"statement": statement, "signature": signers.sign(ANA, statement)})
    assert run_module("db_policy", strict)["changed"] is True

    # going back to typed approvals: a typed approval no longer counts for the change
    weaker = policy_args(db, staging)
    weak_digest = run_module("db_policy", weaker, check_mode=True)["policy_check"]["plan_digest"]
    record_approval(db, weak_digest)
    refused = run_module("db_policy", weaker)
    assert refused["failed"] and "the policy requires an SSH-signed or AWX workflow approval" in refused["msg"]
    assert refused["msg"].startswith("db_policy refused by the production policy #")
    assert db.scalar("SELECT count(*) FROM hotdash_audit.policy") == 1


def test_the_audit_trail_cannot_be_rewritten(make_db, run_module):
    db, staging = make_db("prod"), make_db("staging")
    digest = run_module("db_policy", policy_args(db, staging), check_mode=True)["policy_check"]["plan_digest"]
    record_approval(db, digest)
    assert run_module("db_policy", policy_args(db, staging))["changed"]
    for statement in ("UPDATE hotdash_audit.policy SET environment = 'staging'",
                      "DELETE FROM hotdash_audit.policy",
                      "TRUNCATE hotdash_audit.policy",
                      "UPDATE hotdash_audit.approvals SET gate = 'apply_production'",
                      "DELETE FROM hotdash_audit.refusals"):
        with pytest.raises(psycopg2.Error) as err:
            db.execute(statement)
        assert "is append-only" in str(err.value)
    assert db.scalar("SELECT environment FROM hotdash_audit.policy") == "production"


@pytest.mark.parametrize("extra, message", [
    (dict(require_approval=False), "a production policy always requires approval"),
    (dict(allowed_waivers=["production_rollback"]), "cannot allow waivers at production_rollback"),
    (dict(approval_max_age=30 * 86400), "approval_max_age is 2592000 s; at most 604800 s"),
    (dict(windows=["25:00-26:00"]), "is not a HH:MM time"),
    (dict(allowed_signers_file="/nonexistent/allowed_signers"), "cannot read allowed_signers_file"),
])
def test_bad_policy_input_is_one_line_and_writes_nothing(make_db, run_module, extra, message):
    db, staging = make_db("prod"), make_db("staging")
    result = run_module("db_policy", policy_args(db, staging, **extra))
    assert result["failed"] and message in result["msg"] and "\n" not in result["msg"]
    assert not db.table_exists("hotdash_audit.refusals")
