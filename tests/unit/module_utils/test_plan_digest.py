"""The plan digest changes with anything an approval must not carry over to (no database)."""
from ansible_collections.hotdash.supabase.plugins.module_utils import plan_digest

IDENTITY = {"system_identifier": "7301234567890123456", "database": "hotdash"}
STEPS = [plan_digest.step("20251015090000", plan_digest.statements_checksum(["create table a (id int)"])),
         plan_digest.step("20251019090000", plan_digest.statements_checksum(["alter table a add b int"]))]


def digest(identity=None, gate="apply_production", environment="production", action="migration_apply",
           steps=None, extra=None):
    return plan_digest.plan_digest(identity or IDENTITY, gate, environment, action, STEPS if steps is None else steps,
                                   extra)


def test_the_same_plan_has_the_same_digest():
    first = digest()
    assert plan_digest.is_digest(first)
    assert first == digest(steps=[dict(s) for s in STEPS])
    assert plan_digest.short(first) == first[:19]


def test_anything_that_changes_the_plan_changes_the_digest():
    changed_statement = [STEPS[0], plan_digest.step("20251019090000",
                                                    plan_digest.statements_checksum(["alter table a add c int"]))]
    variants = [
        digest(steps=changed_statement),                      # a migration file changed after the approval
        digest(steps=list(reversed(STEPS))),                  # the order changed
        digest(steps=STEPS[:1]),                              # a version left out
        digest(identity=dict(IDENTITY, database="hotdash_staging")),          # another database, same cluster
        digest(identity=dict(IDENTITY, system_identifier="7301234567890123457")),  # another cluster, same name
        digest(gate="apply_staging"),
        digest(environment="staging"),
        digest(action="migration_repair:applied"),
        digest(extra={"strategy": "down_scripts"}),
    ]
    assert len(set(variants + [digest()])) == len(variants) + 1


def test_statement_checksums_see_every_byte():
    assert plan_digest.statements_checksum(["select 1"]) != plan_digest.statements_checksum(["select 1 "])
    assert plan_digest.statements_checksum(["a", "b"]) != plan_digest.statements_checksum(["ab"])


def test_summary_names_what_a_person_approves():
    summary = plan_digest.plan_summary(IDENTITY, "apply_production", "production", "migration_apply", STEPS, digest())
    assert summary["database"] == "7301234567890123456/hotdash"
    assert summary["versions"] == ["20251015090000", "20251019090000"]
    assert not plan_digest.is_digest("sha256:xyz") and not plan_digest.is_digest(["sha256:" + "0" * 64])
