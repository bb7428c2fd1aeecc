"""migration_apply / cli_info module wiring without a database: docs agree with the argument spec."""
import importlib

import pytest
import yaml

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connection_argument_spec

SPECS = {}


def spec_of(name, monkeypatch):
    """The argument spec a module passes to new_module (captured, nothing runs)."""
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


@pytest.mark.parametrize("name", ["migration_apply", "cli_info"])
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


def test_invalid_engine_fails_in_one_line(run_module, tmp_path):
    result = run_module("migration_apply", {"project_dir": str(tmp_path), "engine": "flyway",
                                            "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "engine" in result["msg"] and "\n" not in result["msg"]


def test_missing_directory_fails_before_connecting(run_module, tmp_path):
    # Port 1 is closed: reaching the directory check first proves nothing touched the network.
    result = run_module("migration_apply", {"project_dir": str(tmp_path / "nope"),
                                            "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and result["msg"].startswith("migrations directory not found")
