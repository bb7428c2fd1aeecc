"""roles/rollback: meta/argument_specs.yml and defaults/main.yml name the same role variables."""
import os

import yaml

ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "rollback")
PREFIX = "supabase_rollback_"
EXPORTED = ("supabase_rollback_succeeded", "supabase_rollback_strategy", "supabase_rollback_reverted",
            "supabase_rollback_log_path", "supabase_rollback_report")


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
        assert spec.get("type") and spec.get("description"), name
        assert "default" not in spec, name
        if not name.startswith(PREFIX):
            assert spec.get("required") is True, name


def test_exports_are_set_by_the_tasks_and_listed_in_the_readme():
    tasks = _load("tasks/main.yml")
    set_names = set()
    for task in tasks:
        set_names.update((task.get("ansible.builtin.set_fact") or {}).keys())
    with open(os.path.join(ROLE, "README.md")) as handle:
        readme = handle.read()
    exported_section = readme.split("## Variables exported by the role", 1)[1]
    for name in EXPORTED:
        assert name in set_names and "`%s`" % name in exported_section, name


def test_every_task_is_named_and_uses_fqcn():
    for task in _load("tasks/main.yml"):
        assert task.get("name"), task
        modules = [k for k in task if "." in k]
        assert modules and all(k.startswith(("ansible.builtin.", "hotdash.supabase.")) for k in modules), task
