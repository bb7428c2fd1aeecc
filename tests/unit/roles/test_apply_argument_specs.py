"""roles/apply: the spec documents every default with a matching type, and the README lists what the role exports."""
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLE = os.path.join(ROOT, "roles", "apply")
TYPES = {"str": str, "bool": bool, "int": int, "float": (int, float), "list": list, "dict": dict}


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def test_defaults_match_the_documented_types():
    options = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults", "main.yml")
    for name, value in defaults.items():
        assert name in options, "%s is not documented" % name
        expected = TYPES[options[name]["type"]]
        assert isinstance(value, expected), "%s: default %r is not a %s" % (name, value, options[name]["type"])
        if "choices" in options[name]:
            values = value if isinstance(value, list) else [value]
            assert set(values) <= set(options[name]["choices"]), name
    required = sorted(n for n, o in options.items() if o.get("required"))
    assert required and not set(required) & set(defaults)


def test_readme_lists_every_exported_variable():
    tasks = open(os.path.join(ROLE, "tasks", "main.yml")).read()
    exported = set()
    for task in yaml.safe_load(tasks):
        facts = task.get("ansible.builtin.set_fact") or {}
        exported.update(k for k in facts if k.startswith("supabase_apply_"))
    readme = open(os.path.join(ROLE, "README.md")).read()
    section = readme.split("## Variables exported by the role")[1].split("\n## ")[0]
    listed = set(re.findall(r"\| `(supabase_apply_[a-z_]+)` \|", section))
    assert exported and exported == listed


def test_every_task_is_named_and_uses_fqcn():
    for task in load("tasks", "main.yml"):
        assert task.get("name"), task
        module = [k for k in task if "." in k]
        assert module and module[0].split(".")[0] in ("ansible", "hotdash"), task["name"]
        if "db_url" in str(task.get(module[0])):
            assert task.get("no_log") is True, "%s passes the DSN without no_log" % task["name"]
