"""The verify role documents exactly what it defaults, and the example configuration uses only documented keys."""
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "verify")


def load(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle) or {}


def spec_options():
    return load(ROLE, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_spec_and_defaults_name_the_same_role_keys():
    spec = set(k for k in spec_options() if k.startswith("supabase_verify_"))
    defaults = set(k for k in load(ROLE, "defaults", "main.yml") if k.startswith("supabase_verify_"))
    assert spec == defaults
    assert len(spec) > 20


def test_only_the_db_url_is_required_and_nothing_has_a_spec_default():
    options = spec_options()
    assert [k for k, v in options.items() if v.get("required")] == ["supabase_db_url"]
    assert not [k for k, v in options.items() if "default" in v]


def test_fail_on_error_defaults_to_true_for_standalone_runs():
    assert load(ROLE, "defaults", "main.yml")["supabase_verify_fail_on_error"] is True


def test_example_configuration_uses_documented_variables():
    example = load(ROOT, "examples", "hotdash", "verify.yml")
    assert example, "examples/hotdash/verify.yml is empty"
    undocumented = sorted(set(example) - set(spec_options()))
    assert not undocumented
    assert example["supabase_verify_rls_allow_without_policy"] == ["observability_logs"]
    assert example["supabase_verify_rpc_budget_ms"] == 500
