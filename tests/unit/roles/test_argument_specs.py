"""Every role documents exactly the variables it defaults (prometheus-community/ansible keeps the same rule).

meta/argument_specs.yml must not supply defaults (defaults/main.yml does), every public default must be
documented with its type, every documented optional input must have a default, so `ansible-doc -t role` is the
manual. The README lists what the role exports, and every task is named and calls a module by FQCN.
"""
import glob
import os
import re

import pytest
import yaml
from ansible.template import Templar, trust_as_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))
TYPES = {"str": str, "path": str, "bool": bool, "int": int, "float": (int, float), "list": list, "dict": dict}
# What each role hands to later roles and playbooks: one set_fact, supabase_<role>_result, never an input name;
# the README must list the same variable and every key of it.
EXPORTS = {
    "apply": ["supabase_apply_result"],
    "approval": ["supabase_approval_result"],
    "drift": ["supabase_drift_result"],
    "monitor": ["supabase_monitor_result"],
    "notify": ["supabase_notify_result"],
    "preflight": ["supabase_preflight_result"],
    "rollback": ["supabase_rollback_result"],
    "verify": ["supabase_verify_result"],
}
# Roles whose defaults/main.yml holds only their own prefixed variables: every shared variable they read
# (supabase_db_url, supabase_report_dir, ...) is required. The others default some shared variables.
WITHOUT_SHARED_DEFAULTS = ("approval", "drift", "notify", "rollback")
# Roles whose tasks hide the connection URL with no_log: true. preflight and verify show their check modules'
# results on failure; those modules declare db_url no_log themselves, so the URL is masked in what they return.
DSN_TASKS_NO_LOG = ("apply", "approval", "monitor", "notify", "rollback")


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def role_file(role, *parts):
    return os.path.join(ROOT, "roles", role, *parts)


def spec_of(role):
    return load(role_file(role, "meta", "argument_specs.yml"))["argument_specs"]


def defaults_of(role):
    path = role_file(role, "defaults", "main.yml")
    return load(path) if os.path.exists(path) else {}


def tasks_of(role):
    """Every task of the role's task files, blocks included."""
    def walk(tasks):
        for task in tasks or []:
            yield task
            for key in ("block", "rescue", "always"):
                yield from walk(task.get(key))
    out = []
    for path in sorted(glob.glob(role_file(role, "tasks", "*.yml"))):
        out.extend(walk(load(path)))
    return out


def rendered(value, defaults):
    """A templated default as Ansible renders it (for a production run), so its type and choice can be checked."""
    if not (isinstance(value, str) and "{{" in value):
        return value
    variables = dict(defaults, supabase_environment="production", playbook_dir="/srv/hotdash/playbooks",
                     inventory_hostname="db1")
    return Templar(variables=variables).template(trust_as_template(value))


def test_every_role_has_an_argument_spec():
    roles = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")) if os.path.isdir(p))
    assert roles, "no roles found"
    assert roles == ROLES
    assert sorted(EXPORTS) == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_spec_and_defaults_name_the_same_keys(role):
    spec = spec_of(role)
    defaults = defaults_of(role)
    options = spec["main"].get("options", {})
    documented_elsewhere = set()
    for entry, entry_spec in spec.items():
        documented_elsewhere.update((entry_spec or {}).get("options", {}))
    undocumented = sorted(k for k in defaults if not k.startswith("__") and k not in documented_elsewhere)
    assert not undocumented, "%s: defaults without argument spec: %s" % (role, undocumented)
    for name, option in options.items():
        assert "default" not in option, "%s: %s has a default in the spec; put it in defaults/main.yml" % (role, name)
        assert option.get("description"), "%s: %s is not described" % (role, name)
        assert option.get("type"), "%s: %s has no type" % (role, name)
        if not option.get("required"):
            assert name in defaults, "%s: optional %s has no default in defaults/main.yml" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_defaults_match_the_documented_types(role):
    options = spec_of(role)["main"]["options"]
    defaults = defaults_of(role)
    for name, value in defaults.items():
        if name.startswith("__") or options[name]["type"] == "raw":
            continue
        if options[name]["type"] not in ("str", "path") or "choices" in options[name]:
            value = rendered(value, defaults)
        expected = TYPES[options[name]["type"]]
        assert isinstance(value, expected), "%s: %s default %r is not a %s" % (role, name, value, options[name]["type"])
        if "choices" in options[name]:
            values = value if isinstance(value, list) else [value]
            assert set(values) <= set(options[name]["choices"]), "%s: %s" % (role, name)
    required = sorted(n for n, o in options.items() if o.get("required"))
    assert required and not set(required) & set(defaults), role


@pytest.mark.parametrize("role", ROLES)
def test_public_variables_are_prefixed(role):
    for entry_spec in spec_of(role).values():
        for name in (entry_spec or {}).get("options", {}):
            assert name.startswith("supabase_"), "%s: %s is not prefixed supabase_" % (role, name)


@pytest.mark.parametrize("role", WITHOUT_SHARED_DEFAULTS)
def test_role_defaults_only_its_own_variables(role):
    prefix = "supabase_%s_" % role
    options = spec_of(role)["main"]["options"]
    defaults = defaults_of(role)
    assert set(k for k in options if k.startswith(prefix)) == set(defaults)
    assert all(k.startswith(prefix) for k in defaults)
    for name, spec in options.items():
        if not name.startswith(prefix):
            # shared variables (supabase_db_url, supabase_report_dir...) have no role default: required
            assert spec.get("required") is True, "%s: %s" % (role, name)


def exports_of(role):
    """{variable: [keys]} of the role's set_fact tasks under its prefix."""
    prefix = "supabase_%s_" % role
    exported = {}
    for task in tasks_of(role):
        for name, value in (task.get("ansible.builtin.set_fact") or {}).items():
            if name.startswith(prefix):
                exported.setdefault(name, []).extend(sorted(value) if isinstance(value, dict) else [])
    return exported


@pytest.mark.parametrize("role", ROLES)
def test_readme_lists_every_exported_variable(role):
    prefix = "supabase_%s_" % role
    exported = exports_of(role)
    with open(role_file(role, "README.md")) as handle:
        readme = handle.read()
    assert "## Variables exported by the role" in readme, "%s: README has no exported variables section" % role
    section = readme.split("## Variables exported by the role")[1].split("\n## ")[0]
    listed = set(re.findall(r"^\| `(%s[a-z_]+)` \|" % prefix, section, re.MULTILINE))
    assert exported and set(exported) == listed == set(EXPORTS[role]), role
    keys = set(re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)) - listed
    for name, names in exported.items():
        assert names, "%s: %s is not a dict of results" % (role, name)
        assert set(names) == keys, "%s: keys of %s exported %s, documented %s" % (role, name, sorted(names), sorted(keys))


@pytest.mark.parametrize("role", ROLES)
def test_the_result_is_never_an_input(role):
    inputs = set(defaults_of(role))
    for entry_spec in spec_of(role).values():
        inputs.update((entry_spec or {}).get("options", {}))
    for name in exports_of(role):
        assert name not in inputs, "%s: the exported %s is also an input" % (role, name)
    # and no task sets any of the role's inputs: what a user passed is still what they passed after the role
    for task in tasks_of(role):
        overwritten = set(task.get("ansible.builtin.set_fact") or {}) & inputs
        assert not overwritten, "%s: task %r sets the input(s) %s" % (role, task["name"], sorted(overwritten))


@pytest.mark.parametrize("role", ROLES)
def test_the_argument_spec_names_the_result(role):
    description = " ".join(spec_of(role)["main"].get("description") or [])
    for name in EXPORTS[role]:
        assert "C(%s)" % name in description, "%s: meta/argument_specs.yml does not name %s" % (role, name)


@pytest.mark.parametrize("role", ROLES)
def test_every_task_is_named_and_uses_fqcn(role):
    for task in tasks_of(role):
        assert task.get("name"), "%s: %s" % (role, task)
        if "block" in task:  # a block runs no module itself; its tasks are walked too
            continue
        modules = [k for k in task if "." in k]
        assert modules and all(k.startswith(("ansible.builtin.", "hotdash.supabase.")) for k in modules), \
            "%s: %s" % (role, task["name"])


@pytest.mark.parametrize("role", DSN_TASKS_NO_LOG)
def test_tasks_passing_the_connection_url_are_no_log(role):
    for task in tasks_of(role):
        modules = [k for k in task if "." in k]
        if modules and "db_url" in str(task.get(modules[0])):
            assert task.get("no_log") is True, "%s: %s passes the DSN without no_log" % (role, task["name"])
