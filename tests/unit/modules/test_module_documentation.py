"""Module wiring without a database: the documented options equal the argument spec each module builds.

`spec_of` captures what a module hands to `new_module` (nothing runs); `documented_options` merges the
module's own options with those of its doc fragments as ansible-doc does (the module's own win). One test
checks every module of the collection.
"""
import importlib
import os

import pytest
import yaml

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connection_argument_spec

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "plugins", "modules")
# Every module that builds an AnsibleModule (approval_gate is documentation for its action plugin).
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR)
                 if name.endswith(".py") and name != "approval_gate.py" and not name.startswith("_"))
# The connection options are added by new_module itself (with_connection), not by the module's spec.
CONNECTION_FRAGMENT = "hotdash.supabase.connection"


def documented_options(doc):
    """The module's options merged with those of its hotdash.supabase doc fragments (its own taking precedence)."""
    options = {}
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment == CONNECTION_FRAGMENT or not fragment.startswith("hotdash.supabase."):
            continue
        parts = fragment.split(".")[2:]
        source = importlib.import_module("ansible_collections.hotdash.supabase.plugins.doc_fragments.%s" % parts[0])
        text = getattr(source.ModuleDocFragment, parts[1] if len(parts) > 1 else "DOCUMENTATION")
        options.update(yaml.safe_load(text).get("options") or {})
    options.update(doc.get("options") or {})
    return options


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


def test_every_module_is_checked():
    assert len(MODULES) == 27 and "migration_apply" in MODULES and "check_report" in MODULES and "db_policy" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name, monkeypatch):
    module, captured = spec_of(name, monkeypatch)
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert doc["version_added"] == "0.1.0"
    options = documented_options(doc)
    assert set(options) == set(captured["spec"])
    assert (CONNECTION_FRAGMENT in doc.get("extends_documentation_fragment", [])) == captured["with_connection"]
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
