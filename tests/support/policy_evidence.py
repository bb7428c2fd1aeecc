"""Write policy evidence straight into a test database's hotdash_audit, through the engine's own functions.

``label(db, **settings)``: give the database a policy (production by default, no window/backup/promotion unless
asked) without the db_policy approval round trip, for tests of what the policy then refuses.
``approve(db, digest, **fields)``: record an approval bound to ``digest`` (typed by default), as approval_record does
(recording the same event twice returns the first row's id).
"""
import datetime

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence, audit, policy, policy_audit
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect


def minutes_ago(minutes):
    return approval_evidence.iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes))


def _write(db, writer):
    conn = connect(db.settings())
    try:
        with conn, conn.cursor() as cur:
            return writer(cur)
    finally:
        conn.close()


def label(db, **settings):
    base = dict(environment="production", windows=[], backup_max_age=0, require_promotion=False)
    base.update(settings)
    return _write(db, lambda cur: policy_audit.record_policy(cur, policy.normalize(base), "sha256:" + "0" * 64, None))


def approve(db, digest, gate="apply_production", environment="production", age_minutes=5, **fields):
    record = {"gate": gate, "environment": environment, "approver": "ana", "ticket": "CHG-1",
              "approved_at": minutes_ago(age_minutes), "mode": "headless", "plan_digest": digest}
    record.update(fields)
    return _write(db, lambda cur: audit.record_in_database(cur, record, host="prod", run_id="r1")[0])
