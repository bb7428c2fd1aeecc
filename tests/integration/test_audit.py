from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect

# hotdash_audit as the first release created it: approvals without the acknowledgements column
FIRST_RELEASE_DDL = """
CREATE SCHEMA hotdash_audit;
CREATE TABLE hotdash_audit.approvals (
    id bigserial PRIMARY KEY, gate text NOT NULL, environment text NOT NULL, approver text NOT NULL,
    approved_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(), mode text NOT NULL,
    ticket text, reason text, versions text[] NOT NULL DEFAULT '{}', run_id text, host text);
CREATE TABLE hotdash_audit.rollback_exercises (
    id bigserial PRIMARY KEY, environment text NOT NULL, strategy text NOT NULL, versions text[] NOT NULL,
    succeeded boolean NOT NULL, trigger text, detail text, exercised_at timestamptz NOT NULL DEFAULT now(),
    run_id text, host text);
INSERT INTO hotdash_audit.approvals (gate, environment, approver, approved_at, mode, ticket, host, run_id)
VALUES ('apply_production', 'production', 'maria', '2025-10-19T02:05:00Z', 'headless', 'CHG-1', 'db1', 'r1');
"""


class RecordingCursor(object):
    """A cursor that remembers the statements it ran (to prove that a no-op only reads the catalog)."""

    def __init__(self, cur):
        self.cur, self.statements = cur, []

    def execute(self, statement, params=None):
        self.statements.append(statement)
        return self.cur.execute(statement, params)

    def __getattr__(self, name):
        return getattr(self.cur, name)


def test_audit_rows_live_in_their_own_schema_and_cover_versions(db):
    conn = connect(db.settings())
    with conn, conn.cursor() as cur:
        assert audit.rollback_exercises(cur) == []
        assert audit.approvals(cur) == []
        audit.record_approval(cur, gate="apply_production", environment="production", approver="maria",
                              approved_at="2026-11-26T02:05:00Z", mode="headless", ticket="CHG-1",
                              versions=["20251011000000"],
                              acknowledgements={"devops_notified_at": "2026-11-25T01:00:00Z",
                                                "rollback_criteria_defined": True})
        audit.record_rollback_exercise(cur, environment="staging", strategy="down_scripts",
                                       versions=["20251011000000", "20251012000000"], succeeded=True)
        audit.record_rollback_exercise(cur, environment="staging", strategy="down_scripts",
                                       versions=["20251013000000"], succeeded=False)
        exercises = audit.rollback_exercises(cur, environment="staging")
        assert audit.covered_by_exercise(exercises, ["20251012000000"])["strategy"] == "down_scripts"
        assert audit.covered_by_exercise(exercises, ["20251013000000"]) is None
        row = audit.approvals(cur, gate="apply_production")[0]
        assert row["approver"] == "maria"
        assert row["acknowledgements"] == {"devops_notified_at": "2026-11-25T01:00:00Z",
                                           "rollback_criteria_defined": True}
        # without acknowledgements the row holds {} (NOT NULL DEFAULT '{}')
        audit.record_approval(cur, gate="drift_resolution", environment="staging", approver="maria",
                              approved_at="2026-11-26T02:05:00Z", mode="headless")
        assert audit.approvals(cur, gate="drift_resolution")[0]["acknowledgements"] == {}
    conn.close()
    assert db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    assert db.scalar("SELECT count(*) FROM hotdash_audit.approvals") == 2


def test_ensure_audit_schema_does_nothing_when_everything_exists(db):
    conn = connect(db.settings())
    with conn, conn.cursor() as cur:
        assert audit.ensure_audit_schema(cur) is True
        recording = RecordingCursor(cur)
        assert audit.ensure_audit_schema(recording) is False
        assert len(recording.statements) == 1 and recording.statements[0].startswith("SELECT")
    conn.close()


def test_an_existing_audit_schema_gets_the_acknowledgements_column(db):
    db.execute(FIRST_RELEASE_DDL)
    old = {"gate": "apply_production", "environment": "production", "approver": "maria",
           "approved_at": "2025-10-19T02:05:00Z", "mode": "headless", "ticket": "CHG-1"}
    conn = connect(db.settings())
    with conn, conn.cursor() as cur:
        # before the upgrade: reading works, the old row acknowledges nothing and is found again
        assert audit.approvals(cur)[0]["acknowledgements"] == {}
        assert audit.find_recorded(cur, old, "db1", "r1") == 1
        assert audit.find_recorded(cur, dict(old, acknowledgements={"x": True}), "db1", "r1") is None
        # recording a new approval adds the column; the other table and the old row stay as they were
        recording = RecordingCursor(cur)
        new_id, inserted = audit.record_in_database(
            recording, dict(old, acknowledgements={"incident_commander": "Ana"}), "db1", "r2")
        assert inserted
        # (the INSERT is a composed psycopg2.sql statement, the catalog reads are SELECTs)
        ddl = [s for s in recording.statements if isinstance(s, str) and not s.startswith("SELECT")]
        assert ddl[0] == ("ALTER TABLE hotdash_audit.approvals ADD COLUMN IF NOT EXISTS acknowledgements jsonb "
                          "NOT NULL DEFAULT '{}'")
        # and the columns that bind an approval to its plan (plan digest, proof, evidence, operator, window override)
        assert [statement.split()[8] for statement in ddl[1:]] == ["plan_digest", "proof", "evidence", "operator",
                                                                   "window_override"]
        rows = dict((r["id"], r["acknowledgements"]) for r in audit.approvals(cur))
        assert rows == {1: {}, new_id: {"incident_commander": "Ana"}}
        assert audit.ensure_audit_schema(cur) is False
        # the same event again is found (with its acknowledgements), so nothing is inserted twice
        assert audit.record_in_database(cur, dict(old, acknowledgements={"incident_commander": "Ana"}),
                                        "db1", "r2") == (new_id, False)
    conn.close()
    assert db.query("SELECT is_nullable, column_default FROM information_schema.columns WHERE table_schema = "
                    "'hotdash_audit' AND table_name = 'approvals' AND column_name = 'acknowledgements'") == [
        ("NO", "'{}'::jsonb")]
