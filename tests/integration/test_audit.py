from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect


def test_audit_rows_live_in_their_own_schema_and_cover_versions(db):
    conn = connect(db.settings())
    with conn, conn.cursor() as cur:
        assert audit.rollback_exercises(cur) == []
        audit.record_approval(cur, gate="apply_production", environment="production", approver="maria",
                              approved_at="2026-11-26T02:05:00Z", mode="headless", ticket="CHG-1",
                              versions=["20251011000000"])
        audit.record_rollback_exercise(cur, environment="staging", strategy="down_scripts",
                                       versions=["20251011000000", "20251012000000"], succeeded=True)
        audit.record_rollback_exercise(cur, environment="staging", strategy="down_scripts",
                                       versions=["20251013000000"], succeeded=False)
        exercises = audit.rollback_exercises(cur, environment="staging")
        assert audit.covered_by_exercise(exercises, ["20251012000000"])["strategy"] == "down_scripts"
        assert audit.covered_by_exercise(exercises, ["20251013000000"]) is None
        assert audit.approvals(cur, gate="apply_production")[0]["approver"] == "maria"
    conn.close()
    assert db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    assert db.scalar("SELECT count(*) FROM hotdash_audit.approvals") == 1
