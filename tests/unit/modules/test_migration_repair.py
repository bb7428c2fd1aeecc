"""migration_repair module wiring without a database."""
import importlib

import pytest
import yaml


def test_documentation_matches_argument_spec(monkeypatch):
    module = importlib.import_module("ansible_collections.hotdash.supabase.plugins.modules.migration_repair")
    captured = {}

    class Stop(Exception):
        pass

    def fake_new_module(spec, **kwargs):
        captured.update(spec)
        raise Stop()

    monkeypatch.setattr(module, "new_module", fake_new_module)
    with pytest.raises(Stop):
        module.main()
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc["options"]) == set(captured)
    for key, spec in captured.items():
        opt = doc["options"][key]
        assert (opt["type"], opt.get("default"), opt.get("choices"), opt.get("elements"), opt.get("aliases")) == \
            (spec["type"], spec.get("default"), spec.get("choices"), spec.get("elements"), spec.get("aliases")), key


def test_state_is_required_and_validated(run_module, tmp_path):
    result = run_module("migration_repair", {"project_dir": str(tmp_path), "state": "down",
                                             "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "state" in result["msg"]


def test_bad_versions_fail_before_connecting(run_module, tmp_path):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    result = run_module("migration_repair", {"project_dir": str(tmp_path), "state": "reverted",
                                             "versions": ["latest"], "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "digits only" in result["msg"] and "\n" not in result["msg"]
