"""The guard's decision from the facts a database holds (no database: the facts are built here)."""
import collections
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence, plan_digest, policy, policy_guard
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError

NOW = datetime.datetime(2026, 11, 30, 2, 30, tzinfo=datetime.timezone.utc)
IDENTITY = {"system_identifier": "7301234567890123456", "database": "hotdash"}
STAGING = {"system_identifier": "7301234567890123456", "database": "hotdash_staging"}
STEPS = [plan_digest.step("20251019090000", plan_digest.statements_checksum(["alter table a add b int"]))]
SIGNERS = "ana@hotdash.example ssh-ed25519 AAAA\n"


def production(**overrides):
    settings = dict(environment="production", promotion_source=STAGING, windows=[], backup_max_age=0,
                    require_promotion=False)
    settings.update(overrides)
    stored = policy.normalize(settings)
    stored["id"] = 3
    return stored


def change(kind="apply", environment="production", steps=None, **kwargs):
    actions = {"apply": "migration_apply", "rollback": "migration_rollback:down_scripts", "read_only": "db_read_only",
               "repair": "migration_repair:reverted"}
    if steps is None:
        steps = STEPS if kind != "read_only" else ()
    return policy_guard.Change(kind, actions[kind], environment, steps=steps, **kwargs)


def approval(row_id=12, hours_ago=1, **overrides):
    row = {"id": row_id, "gate": "apply_production", "environment": "production", "approver": "ana@hotdash.example",
           "ticket": "CHG-1042", "approved_at": NOW - datetime.timedelta(hours=hours_ago), "mode": "headless",
           "proof": "typed", "evidence": {}, "operator": "maria", "window_override": None, "plan_digest": None}
    row.update(overrides)
    return row


def facts_for(the_change, stored, approvals=(), gate_approvals=(), backup=None, release=None, now=NOW):
    merged, source, tightened = policy_guard._effective(stored, the_change)
    gate = policy_guard.gate_for(the_change, merged)
    digest = policy_guard.digest_for(the_change, IDENTITY, merged, stored)
    bound = [dict(row, plan_digest=row["plan_digest"] or digest) for row in approvals]
    return {"identity": IDENTITY, "now": now, "stored": stored, "policy": merged, "source": source,
            "tightened": tightened, "gate": gate, "digest": digest, "approvals": bound,
            "gate_approvals": list(gate_approvals), "backup": backup, "release": release}


Decision = collections.namedtuple("Decision", "problems covering facts")


def decide(the_change, stored, verify=None, operator="maria", **facts):
    facts = facts_for(the_change, stored, **facts)
    problems, covering = policy_guard.evaluate(the_change, facts, operator, verify or (lambda *a: "Good"))
    return Decision(problems, covering, facts)


def codes(problems):
    return [problem[0] for problem in problems]


def test_no_approval_for_the_plan_is_refused_naming_the_plan():
    problems, covering, facts = decide(change(), production())
    assert covering is None and codes(problems) == ["approval"]
    message = policy_guard.refusal_message(change(), facts, problems)
    assert message.startswith("migration_apply refused by the production policy #3 of this database: no "
                              "apply_production approval covers plan %s (1 version(s): 20251019090000)"
                              % plan_digest.short(facts["digest"]))


def test_an_approval_for_another_plan_is_named():
    other = approval(plan_digest="sha256:" + "f" * 64)
    problems = decide(change(), production(), gate_approvals=[other]).problems
    assert "the newest apply_production approval (#12 by ana@hotdash.example) is for plan sha256:ffffffffffff" \
        in problems[0][1]


def test_a_covering_typed_approval_passes():
    problems, covering = decide(change(), production(), approvals=[approval()])[:2]
    assert problems == [] and covering["id"] == 12


def test_the_policy_age_holds_whatever_the_run_asks():
    stale = approval(hours_ago=25)
    requested = {"approval_max_age": 100000 * 3600}
    problems = decide(change(requested=requested), production(), approvals=[stale]).problems
    assert codes(problems) == ["approval_age"]
    assert "25.0 h old; the policy accepts at most 24.0 h" in problems[0][1]
    # asking for less is honoured
    decision = decide(change(requested={"approval_max_age": 1800}), production(), approvals=[approval()])
    problems, facts = decision.problems, decision.facts
    assert codes(problems) == ["approval_age"] and facts["tightened"] == ["approval_max_age"]


def test_a_waiver_or_another_environment_does_not_open_a_production_gate():
    problems = decide(change(), production(), approvals=[approval(mode="waiver")]).problems
    assert "is a waiver; the policy allows no waiver at gate apply_production" in problems[0][1]
    problems = decide(change(), production(), approvals=[approval(environment="staging")]).problems
    assert "is for environment staging, not production" in problems[0][1]


def test_a_run_that_names_another_environment_is_refused():
    decision = decide(change(environment="staging"), production(), approvals=[approval()])
    problems, facts = decision.problems, decision.facts
    assert codes(problems) == ["environment"]
    assert "labelled production by its policy #3; this run says staging" in problems[0][1]
    # the gate and digest follow the database's label, not the run's
    assert facts["gate"] == "apply_production"


@pytest.mark.parametrize("field, value", [("approver", "['x']"), ("approver", "\u200b"), ("ticket", " "),
                                          ("ticket", None)])
def test_a_recorded_approval_with_bad_text_does_not_count(field, value):
    problems = decide(change(), production(), approvals=[approval(**{field: value})]).problems
    assert codes(problems) == ["approval"]


def test_a_verified_approval_is_required_when_the_policy_says_so():
    stored = production(require_verified_approval=True, allowed_signers=SIGNERS)
    problems = decide(change(), stored, approvals=[approval()]).problems
    assert codes(problems) == ["verified_approval"] and "is typed by ana@hotdash.example" in problems[0][1]


def signed(facts_digest, **overrides):
    statement = approval_evidence.build_statement(
        "apply_production", "production", "ana@hotdash.example", "CHG-1042", NOW - datetime.timedelta(hours=1),
        [{"digest": facts_digest, "database": "x", "versions": ["20251019090000"]}])
    row = approval(proof="ssh_signature", evidence={"statement": statement, "signature": "SIG"})
    row.update(overrides)
    return row


def test_a_signed_approval_is_verified_against_the_policys_signers():
    stored = production(require_verified_approval=True, allowed_signers=SIGNERS)
    digest = facts_for(change(), stored)["digest"]
    calls = []

    def verify(message, signature, principal, signers):
        calls.append((principal, signers))
        return "Good"
    problems, covering = decide(change(), stored, approvals=[signed(digest)], verify=verify)[:2]
    assert problems == [] and covering["proof"] == "ssh_signature"
    assert calls == [("ana@hotdash.example", SIGNERS)]

    def forged(*args):
        raise SupabaseError("the approval signature does not verify for ana@hotdash.example")
    problems = decide(change(), stored, approvals=[signed(digest)], verify=forged).problems
    assert codes(problems) == ["verified_approval"] and "does not verify" in problems[0][1]
    # the record says one ticket, the signed statement another
    problems = decide(change(), stored, approvals=[signed(digest, ticket="CHG-9")]).problems
    assert "the signed statement says ticket CHG-1042, the record CHG-9" in problems[0][1]
    # signed for another plan
    problems = decide(change(), stored, approvals=[signed("sha256:" + "0" * 64, plan_digest=digest)]).problems
    assert "does not name plan" in problems[0][1]


def test_the_approver_must_differ_from_the_operator_when_required():
    stored = production(require_verified_approval=True, require_distinct_approver=True, allowed_signers=SIGNERS)
    digest = facts_for(change(), stored)["digest"]
    problems = decide(change(), stored, approvals=[signed(digest)], operator="ana").problems
    assert codes(problems) == ["distinct_approver"]
    assert decide(change(), stored, approvals=[signed(digest)], operator="maria").problems == []


def test_an_awx_approval_counts_only_from_the_policys_awx():
    stored = production(require_verified_approval=True, require_distinct_approver=True,
                        awx_url="https://awx.example.com")
    evidence = {"awx_url": "https://awx.example.com", "launched_by": "maria", "workflow_job_id": 5}
    row = approval(proof="awx_workflow", evidence=evidence, approver="ana", operator="runner")
    assert decide(change(), stored, approvals=[row]).problems == []
    row = approval(proof="awx_workflow", evidence=dict(evidence, awx_url="http://127.0.0.1:9"), approver="ana")
    assert "not the policy's https://awx.example.com" in decide(change(), stored, approvals=[row]).problems[0][1]
    row = approval(proof="awx_workflow", evidence=dict(evidence, launched_by="Ana"), approver="ana")
    assert codes(decide(change(), stored, approvals=[row]).problems) == ["distinct_approver"]


def test_window_backup_and_promotion_are_judged_from_the_database():
    stored = production(windows=["03:00-04:00"], backup_max_age=3600, require_promotion=True)
    backup = {"provider": "pg_dump", "taken_at": NOW - datetime.timedelta(hours=2)}
    the_change = change(promotion=lambda source: "20251019090000 is not applied on %s" % source["database"])
    problems = decide(the_change, stored, approvals=[approval()], backup=backup).problems
    assert codes(problems) == ["window", "backup", "promotion"]
    assert "outside the maintenance window(s) 03:00-04:00 UTC" in problems[0][1]
    assert "is 2.0 h old; the policy accepts at most 1.0 h" in problems[1][1]
    assert problems[2][1] == "20251019090000 is not applied on hotdash_staging"
    problems = decide(change(), stored, approvals=[approval()], backup=None).problems
    assert "no backup recorded" in dict(problems)["backup"]
    assert "no staging connection" in dict(problems)["promotion"]
    # an approved override opens the window when the policy allows it
    stored = production(windows=["03:00-04:00"], allow_window_override=True)
    assert decide(change(), stored, approvals=[approval(window_override="hotfix for incident 77")]).problems == []


def release(hours_ago=0.5, versions=("20251019090000",), environment="production"):
    return {"id": 41, "started_at": NOW - datetime.timedelta(hours=hours_ago), "environment": environment,
            "versions": list(versions)}


def test_an_automatic_rollback_needs_the_key_of_its_own_recent_release():
    trigger = {"reason": "verify failed: rls", "evidence": {"failed_checks": ["rls"]}}
    base = change("rollback", trigger=trigger, run_key="k")
    assert decide(base, production(), release=release()).problems == []
    cases = [
        (change("rollback", trigger=trigger), None, "without the run key"),
        (base, None, "matches no release run"),
        (base, release(hours_ago=3), "beyond the automatic rollback window of 2.0 h"),
        (base, release(versions=["20251015090000"]), "did not apply 20251019090000"),
        (base, release(environment="staging"), "was a staging release"),
        (change("rollback", trigger={"reason": " "}, run_key="k"), release(), "names no reason"),
    ]
    for the_change, found, message in cases:
        problems = decide(the_change, production(), release=found).problems
        assert codes(problems) == ["automatic_rollback"], message
        assert message in problems[0][1]
        assert "and no production_rollback approval covers plan" in problems[0][1]
    # without a trigger the release key alone proves nothing: a person must approve
    problems = decide(change("rollback", run_key="k"), production(), release=release()).problems
    assert codes(problems) == ["approval"]


def test_read_only_accepts_a_recent_rollback_approval_of_this_database():
    row = approval(gate="production_rollback", plan_digest="sha256:" + "1" * 64)
    assert decide(change("read_only"), production(), approvals=[row]).problems == []
    problems = decide(change("read_only"), production()).problems
    assert "no production_rollback approval of this database within 24.0 h" in problems[0][1]


def test_nothing_to_change_needs_no_approval_and_staging_needs_none():
    assert decide(change(steps=()), production()).problems == []
    assert decide(change(environment="staging"), None).problems == []
    unlabelled = decide(change(), None)
    assert codes(unlabelled.problems) == ["approval"]
    assert "(the database has no policy)" in policy_guard.refusal_message(change(), unlabelled.facts, unlabelled.problems)


def test_a_policy_change_is_held_to_the_stricter_of_both_policies():
    current = production(require_verified_approval=True, allowed_signers=SIGNERS)
    weaker = policy.normalize(dict(environment="production", promotion_source=STAGING))
    the_change = policy_guard.Change("policy", "db_policy", "production", new_policy=weaker)
    decision = decide(the_change, current, approvals=[approval(gate="policy_change")])
    problems, facts = decision.problems, decision.facts
    assert facts["gate"] == "policy_change" and codes(problems) == ["verified_approval"]
    # labelling a database for the first time needs an approval too
    decision = decide(the_change, None)
    problems, facts = decision.problems, decision.facts
    assert facts["source"] == "change" and codes(problems) == ["approval"]
