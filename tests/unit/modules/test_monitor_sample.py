"""monitor_sample and db_inspect without a database: documented options equal the argument spec; input checks."""
import importlib

import pytest
import yaml


def spec_of(name, monkeypatch):
    module = importlib.import_module("ansible_collections.hotdash.supabase.plugins.modules.%s" % name)
    captured = {}

    class Stop(Exception):
        pass

    def fake_new_module(argument_spec, **kwargs):
        captured.update(argument_spec)
        raise Stop()

    monkeypatch.setattr(module, "new_module", fake_new_module)
    with pytest.raises(Stop):
        module.main()
    return module, captured


@pytest.mark.parametrize("name", ["monitor_sample", "db_inspect"])
def test_documentation_matches_the_argument_spec(name, monkeypatch):
    module, spec = spec_of(name, monkeypatch)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(spec)
    for option, entry in spec.items():
        documented = doc["options"][option]
        assert documented["type"] == entry["type"], option
        assert documented.get("default") == entry.get("default"), option
        assert documented.get("choices") == entry.get("choices"), option
        assert documented.get("elements") == entry.get("elements"), option
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


@pytest.mark.parametrize("basename", ["../x", ".hidden", ""])
def test_bad_basename_fails_before_connecting(basename, run_module, tmp_path):
    # Port 1 is never listening: reaching the database would fail with "cannot connect" instead.
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               basename=basename))
    assert result["failed"] and "basename must be a plain file name" in result["msg"]
    assert "\n" not in result["msg"]


def test_bad_threshold_fails_before_connecting(run_module, tmp_path):
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               error_rate_warn=0.2, error_rate_rollback=0.1))
    assert result["failed"] and result["msg"] == "error_rate_warn (0.2) must not exceed error_rate_rollback (0.1)"


def test_unknown_report_is_refused_by_the_spec(run_module):
    result = run_module("db_inspect", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", reports=["cache-hits"]))
    assert result["failed"] and "cache-hits" in result["msg"]
