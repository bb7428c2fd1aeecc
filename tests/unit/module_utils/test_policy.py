"""The policy model: defaults, validation, and a run that can only make it stricter (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import policy
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

STAGING = {"system_identifier": "7301234567890123456", "database": "hotdash_staging"}
SIGNERS = "ana@hotdash.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n"


def production(**overrides):
    settings = dict(environment="production", promotion_source=STAGING)
    settings.update(overrides)
    return policy.normalize(settings)


def test_production_defaults_are_the_runbooks():
    prod = production()
    assert prod["require_approval"] is True
    assert prod["approval_max_age"] == 86400
    assert prod["allowed_waivers"] == []
    assert prod["windows"] == ["02:00-04:00"]
    assert prod["backup_max_age"] == 43200
    assert prod["require_promotion"] is True
    assert policy.describe(prod) == ("production (approval within 24.0 h, windows 02:00-04:00, backup < 12.0 h, "
                                     "staging first)")
    staging = policy.normalize({"environment": "staging"})
    assert staging["require_approval"] is False and staging["backup_max_age"] == 0


@pytest.mark.parametrize("settings, message", [
    (dict(require_approval=False), "always requires approval"),
    (dict(allowed_waivers=["apply_production"]), "cannot allow waivers at apply_production"),
    (dict(promotion_source=None, require_promotion=True, environment="staging"), "require_promotion needs"),
    (dict(require_verified_approval=True), "needs allowed_signers"),
    (dict(require_distinct_approver=True, allowed_signers=SIGNERS), "needs require_verified_approval"),
    (dict(approval_max_age=8 * 86400), "at most 604800"),
    (dict(approval_max_age=0), "positive number"),
    (dict(approval_max_age="soon"), "number of seconds"),
    (dict(windows=["2-4"]), "not a HH:MM time"),
    (dict(awx_url="awx.example.com"), "http(s)://"),
    (dict(color="red"), "unknown policy field(s) color"),
    (dict(require_approval="yes"), "true or false"),
    (dict(environment="prod"), "one of local, staging, production"),
])
def test_a_policy_weaker_than_its_environment_or_malformed_is_refused(settings, message):
    base = dict(environment="production", promotion_source=STAGING)
    base.update(settings)
    with pytest.raises(InvalidInput) as err:
        policy.normalize(base)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_policy_change_is_never_waived():
    with pytest.raises(InvalidInput) as err:
        policy.normalize({"environment": "staging", "allowed_waivers": ["policy_change"]})
    assert "never waived" in str(err.value)


def test_a_run_can_make_the_policy_stricter_never_weaker():
    prod = production()
    merged, tightened = policy.stricter(prod, {"approval_max_age": 100000, "require_approval": False,
                                               "require_verified_approval": False})
    assert merged == prod and tightened == []
    merged, tightened = policy.stricter(prod, {"approval_max_age": 3600, "require_verified_approval": True})
    assert merged["approval_max_age"] == 3600 and merged["require_verified_approval"] is True
    assert sorted(tightened) == ["approval_max_age", "require_verified_approval"]
    with pytest.raises(InvalidInput) as err:
        policy.stricter(prod, {"windows": []})
    assert "cannot set policy field windows" in str(err.value)


def test_effective_policy_comes_from_the_database_before_the_run():
    prod = production()
    merged, source, tightened = policy.effective(prod, "staging", {"approval_max_age": 100000})
    assert source == "database" and merged["environment"] == "production" and merged["approval_max_age"] == 86400
    assert tightened == []
    unlabelled, source = policy.effective(None, "production")[:2]
    assert source == "run" and unlabelled["require_approval"] and unlabelled["windows"] == []
    assert unlabelled["backup_max_age"] == 0 and not unlabelled["require_promotion"]
    staging, source = policy.effective(None, "staging")[:2]
    assert source == "none" and not staging["require_approval"]


def test_policy_change_digest_binds_the_new_policy_and_what_it_replaces():
    identity = {"system_identifier": "1", "database": "hotdash"}
    new = production()
    first = policy.change_digest(identity, None, new)
    assert first != policy.change_digest(identity, None, production(approval_max_age=3600))
    assert first != policy.change_digest(identity, {"id": 4}, new)
    assert policy.differences(None, new) == list(policy.FIELDS)
    assert policy.differences(new, production(approval_max_age=3600)) == ["approval_max_age"]
