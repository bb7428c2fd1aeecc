"""Every role documents exactly the variables it defaults (prometheus-community/ansible keeps the same rule).

meta/argument_specs.yml must not supply defaults (defaults/main.yml does), every public default must be
documented, and every documented optional input must have a default, so `ansible-doc -t role` is the manual.
"""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def test_every_role_has_an_argument_spec():
    roles = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")) if os.path.isdir(p))
    assert roles, "no roles found"
    assert roles == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_spec_and_defaults_name_the_same_keys(role):
    spec = load(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    defaults_path = os.path.join(ROOT, "roles", role, "defaults", "main.yml")
    defaults = load(defaults_path) if os.path.exists(defaults_path) else {}
    options = spec["main"].get("options", {})
    documented_elsewhere = set()
    for entry, entry_spec in spec.items():
        documented_elsewhere.update((entry_spec or {}).get("options", {}))
    undocumented = sorted(k for k in defaults if not k.startswith("__") and k not in documented_elsewhere)
    assert not undocumented, "%s: defaults without argument spec: %s" % (role, undocumented)
    for name, option in options.items():
        assert "default" not in option, "%s: %s has a default in the spec; put it in defaults/main.yml" % (role, name)
        assert option.get("description"), "%s: %s is not described" % (role, name)
        if not option.get("required"):
            assert name in defaults, "%s: optional %s has no default in defaults/main.yml" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed(role):
    spec = load(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"))["argument_specs"]
    for entry_spec in spec.values():
        for name in (entry_spec or {}).get("options", {}):
            assert name.startswith("supabase_"), "%s: %s is not prefixed supabase_" % (role, name)
