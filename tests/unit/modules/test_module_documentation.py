"""Module wiring without a database: the documented options equal the argument spec each module builds.

`spec_of` captures what a module hands to `new_module` (nothing runs); one test checks every module listed.
"""
import importlib

import pytest
import yaml

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connection_argument_spec

# Modules whose options are all in their own DOCUMENTATION (no doc fragment adds options besides the connection).
SELF_DOCUMENTED = ["migration_apply", "migration_repair", "cli_info", "monitor_sample", "db_inspect", "db_policy"]


def spec_of(name, monkeypatch):
    """(module, {"spec": argument spec, "with_connection": bool}) as the module passes them to new_module."""
    module = importlib.import_module("ansible_collections.hotdash.supabase.plugins.modules.%s" % name)
    captured = {}

    class Stop(Exception):
        pass

    def fake_new_module(spec, with_connection=True, **kwargs):
        captured["spec"] = dict(spec)
        captured["with_connection"] = with_connection
        raise Stop()

    monkeypatch.setattr(module, "new_module", fake_new_module)
    with pytest.raises(Stop):
        module.main()
    return module, captured


@pytest.mark.parametrize("name", SELF_DOCUMENTED)
def test_documentation_matches_argument_spec(name, monkeypatch):
    module, captured = spec_of(name, monkeypatch)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["version_added"] == "0.1.0"
    options = doc["options"]
    assert set(options) == set(captured["spec"])
    for key, spec in captured["spec"].items():
        assert options[key]["type"] == spec["type"], key
        assert options[key].get("default") == spec.get("default"), key
        assert options[key].get("choices") == spec.get("choices"), key
        assert options[key].get("elements") == spec.get("elements"), key
        assert options[key].get("aliases") == spec.get("aliases"), key
        assert bool(options[key].get("required")) == bool(spec.get("required")), key
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


def test_apply_uses_the_shared_connection_spec(monkeypatch):
    _module, captured = spec_of("migration_apply", monkeypatch)
    assert captured["with_connection"] is True
    assert not set(captured["spec"]) & set(connection_argument_spec())
