"""roles/notify: meta/argument_specs.yml and defaults/main.yml name the same role variables."""
import os

import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "notify")
PREFIX = "supabase_notify_"


def _load(rel):
    with open(os.path.join(ROLE, rel)) as handle:
        return yaml.safe_load(handle)


def test_spec_and_defaults_name_the_same_role_variables():
    options = _load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = _load("defaults/main.yml")
    assert set(k for k in options if k.startswith(PREFIX)) == set(defaults)
    assert all(k.startswith(PREFIX) for k in defaults)


def test_every_option_is_typed_and_described_without_a_default():
    options = _load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    for name, spec in options.items():
        assert spec.get("type"), name
        assert spec.get("description"), name
        assert "default" not in spec, name
        if not name.startswith(PREFIX):
            # shared variables (supabase_db_url, supabase_report_dir...) have no role default: required
            assert spec.get("required") is True, name
