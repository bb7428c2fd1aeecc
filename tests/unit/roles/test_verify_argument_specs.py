"""The verify role: what is required, its standalone default, and an example configuration of documented keys.

What every role must satisfy (spec and defaults agree, types, README exports, task names) is in
test_argument_specs.py.
"""
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "verify")


def load(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle) or {}


def spec_options():
    return load(ROLE, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_every_step_is_configured_through_role_variables():
    assert len([k for k in spec_options() if k.startswith("supabase_verify_")]) > 20


def test_only_the_db_url_and_the_environment_are_required():
    assert [k for k, v in spec_options().items() if v.get("required")] == ["supabase_db_url", "supabase_environment"]


def test_fail_on_failed_defaults_to_true_for_standalone_runs():
    assert load(ROLE, "defaults", "main.yml")["supabase_verify_fail_on_failed"] is True


def test_example_configuration_uses_documented_variables():
    example = load(ROOT, "examples", "hotdash", "verify.yml")
    assert example, "examples/hotdash/verify.yml is empty"
    undocumented = sorted(set(example) - set(spec_options()))
    assert not undocumented
    assert example["supabase_verify_rls_allow_without_policy"] == ["observability_logs"]
    assert example["supabase_verify_rpc_budget"] == 0.5
