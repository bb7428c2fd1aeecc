"""What approval_record may write into a labelled database: checked against the database's policy first
(real PostgreSQL; SSH signatures with ssh-keygen; AWX approvals from the local AWX stand-in)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_awx_api import FakeAwx  # noqa: E402
from policy_evidence import label, minutes_ago  # noqa: E402
from ssh_signers import Signers  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence, policy_guard  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect  # noqa: E402

DIGEST = "sha256:" + "ab" * 32
ANA = "ana@hotdash.example"


def record(**fields):
    base = {"gate": "apply_production", "environment": "production", "approver": "maria", "ticket": "CHG-1",
            "approved_at": minutes_ago(2), "mode": "headless", "plan_digest": DIGEST}
    base.update(fields)
    return base


def check(db, the_record, **kwargs):
    conn = connect(db.settings())
    try:
        return policy_guard.check_record(conn, the_record, host="prod", run_id="r1", operator="maria", **kwargs)
    finally:
        conn.close()


def refusals(db):
    return db.query("SELECT action, missing FROM hotdash_audit.refusals ORDER BY id")


@pytest.mark.parametrize("fields, message, missing", [
    (dict(gate="apply_staging", environment="staging", mode="waiver", reason="x"),
     "the approval is for staging; this database is labelled production", ["environment", "gate", "waiver"]),
    (dict(mode="waiver", reason="x"), "a waiver at gate apply_production is not allowed", ["waiver"]),
    (dict(approver=["x"]), "approver must be text, got a list", ["approval"]),
    (dict(approver={"name": "x"}), "approver must be text, got a dict", ["approval"]),
    (dict(ticket="\u200b"), "U+200B", ["approval"]),
    (dict(plan_digest=None), "names no plan digest", ["plan"]),
])
def test_a_production_database_refuses_to_record_what_its_policy_would_not_accept(make_db, fields, message, missing):
    db = make_db("prod")
    label(db)
    with pytest.raises(policy_guard.PolicyRefused) as err:
        check(db, record(**fields))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("approval for gate")
    assert refusals(db) == [("approval_record", missing)]
    assert db.scalar("SELECT count(*) FROM hotdash_audit.approvals") == 0


def test_an_unlabelled_staging_database_records_as_before(make_db):
    db = make_db("stg")
    stored = check(db, record(gate="apply_staging", environment="staging", plan_digest=None))
    assert stored["approver"] == "maria" and stored["proof"] == "typed" and stored["operator"] == "maria"
    with pytest.raises(policy_guard.PolicyRefused):   # bad text is refused everywhere
        check(db, record(gate="apply_staging", environment="staging", approver=["maria"]))


def test_a_signed_approval_is_verified_against_the_signers_the_policy_pins(make_db, tmp_path):
    db = make_db("prod")
    signers = Signers(tmp_path, [ANA, "bob@hotdash.example"], allowed=[ANA])
    with open(signers.allowed_signers_path) as handle:
        label(db, require_verified_approval=True, allowed_signers=handle.read())
    statement = approval_evidence.build_statement("apply_production", "production", ANA, "CHG-1", minutes_ago(2),
                                                  [{"digest": DIGEST, "database": db.name, "versions": []}])
    parsed = approval_evidence.parse_statement(statement)
    signed = record(approver=ANA, approved_at=parsed["approved_at"], proof="ssh_signature",
                    evidence={"statement": statement, "signature": signers.sign(ANA, statement)})
    assert check(db, signed)["approver"] == ANA
    forged = dict(signed, evidence={"statement": statement, "signature": signers.sign("bob@hotdash.example", statement)})
    with pytest.raises(policy_guard.PolicyRefused) as err:
        check(db, forged)
    assert "does not verify for ana@hotdash.example" in str(err.value)
    # the inventory's own allowed_signers does not replace the policy's
    sneaky = dict(forged, evidence=dict(forged["evidence"], allowed_signers=signers.allowed_signers(
        ["bob@hotdash.example"])))
    with pytest.raises(policy_guard.PolicyRefused):
        check(db, sneaky)


def test_an_awx_approval_takes_who_and_when_from_awx(make_db):
    db = make_db("prod")
    with FakeAwx(token="awx-token") as awx:
        label(db, require_verified_approval=True, require_distinct_approver=True, awx_url=awx.url)
        ids = awx.workflow(approver="ana", launcher="maria", approved_ago=300)
        environ = {"JOB_ID": str(ids["job_id"]), "CONTROLLER_OAUTH_TOKEN": "awx-token"}
        typed = record(approver="somebody", ticket=None, proof="awx_workflow")
        stored = check(db, typed, environ=environ)
        assert stored["approver"] == "ana" and stored["evidence"]["launched_by"] == "maria"
        assert stored["evidence"]["awx_url"] == awx.url
        assert stored["ticket"] == "AWX workflow job %d, approval %d" % (ids["workflow_job_id"], ids["approval_id"])
        pending = awx.workflow(approval_status="pending")
        with pytest.raises(policy_guard.PolicyRefused) as err:
            check(db, typed, environ=dict(environ, JOB_ID=str(pending["job_id"])))
        assert "is pending, not approved by a person" in str(err.value)
        with pytest.raises(policy_guard.PolicyRefused) as err:
            check(db, typed, environ={"JOB_ID": str(ids["job_id"])})
        assert "no AWX credentials" in str(err.value) or "CONTROLLER_OAUTH_TOKEN" in str(err.value)
