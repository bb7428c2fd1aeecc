"""Every role has a Molecule scenario, and every scenario runs on the shared platform.

The shared create/destroy (extensions/molecule/shared/) is what puts a scenario's PostgreSQL in a podman container
where podman can run one and on a throwaway cluster elsewhere; a scenario with its own create.yml would silently
stay on one platform.
"""
import glob
import os

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
MOLECULE = os.path.join(ROOT, "extensions", "molecule")
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")) if os.path.isdir(p))
SCENARIOS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(MOLECULE, "*", "molecule.yml")))


def test_every_role_has_a_scenario():
    assert ROLES and [role for role in ROLES if role not in SCENARIOS] == []


@pytest.mark.parametrize("role", ROLES)
def test_a_roles_scenario_converges_that_role(role):
    with open(os.path.join(MOLECULE, role, "converge.yml")) as handle:
        text = handle.read()
    assert "hotdash.supabase.%s" % role in text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_uses_the_shared_platform(scenario):
    with open(os.path.join(MOLECULE, scenario, "molecule.yml")) as handle:
        config = yaml.safe_load(handle)
    playbooks = config["provisioner"]["playbooks"]
    assert playbooks["create"] == "../shared/create.yml" and playbooks["destroy"] == "../shared/destroy.yml"
    assert config["driver"]["name"] == "default"
    # A killed run leaves its container behind: every scenario starts by destroying it.
    assert config["scenario"]["test_sequence"][0] == "destroy"
