"""Helpers for the end-to-end playbook tests (test_playbook_*.py, test_fleet*.py, test_demo*.py).

Each test writes its own inventory (one host = one database, as in inventories/), its own artifacts
directory and, when it needs a failing migration, its own copy of examples/hotdash, then runs the real
``ansible-playbook`` headless (stdin from /dev/null, as AWX/CI/cron do). Secrets go in a 0600 extra-vars
file, never in argv.
"""
import json
import os
import shutil
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
BASELINE_VERSION = "20251015090000"
NEW_VERSION = "20251019090000"
SUPABASE_CLI = os.environ.get("SUPABASE_CLI") or os.path.join(ROOT, "tools", "supabase-cli", "node_modules", ".bin", "supabase")

# Fast settings for tests: the real checks all run, but the watch window is one sample and the CLI's inspect
# reports (a node start per report) are left to the monitor role's own tests.
FAST_VARS = {
    "supabase_monitor_window": 0,
    "supabase_monitor_interval": 1,
    "supabase_monitor_sustain": 0,
    "supabase_monitor_inspect": False,
    "supabase_monitor_chart": False,
    "supabase_playbook_exercise_rollback": False,
    "supabase_verify_advisors_enabled": False,
}


def copy_example(dest):
    """A private copy of examples/hotdash (tests add failing migrations to it, never to the committed one)."""
    target = os.path.join(str(dest), "hotdash")
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("artifacts", ".temp"))
    return target


def add_migration(project, version, name, sql, down_sql=None):
    mig = os.path.join(project, "supabase", "migrations", "%s_%s.sql" % (version, name))
    with open(mig, "w") as handle:
        handle.write(sql)
    if down_sql is not None:
        rollbacks = os.path.join(project, "supabase", "rollbacks")
        os.makedirs(rollbacks, exist_ok=True)
        with open(os.path.join(rollbacks, "%s_%s.down.sql" % (version, name)), "w") as handle:
            handle.write(down_sql)
    return mig


def baseline(run_module, database, project=EXAMPLE, version=BASELINE_VERSION, seed=True):
    """'Production has been running': migrations up to ``version`` and the example's seed."""
    result = run_module("migration_apply", {"db_url": database.url, "project_dir": project,
                                            "target_version": version, "log_path": os.devnull})
    assert not result.get("failed"), result.get("msg")
    if seed:
        with open(os.path.join(EXAMPLE, "supabase", "seed.sql")) as handle:
            database.execute(handle.read())
    return result


def write_inventory(tmp_path, hosts, group_vars=None, project=EXAMPLE):
    """hosts: {name: (environment, database)}; returns the inventory path. Groups as in inventories/."""
    children = {}
    host_vars = {}
    for name, (environment, database) in hosts.items():
        children.setdefault(environment, {"hosts": {}})["hosts"][name] = {}
        host_vars[name] = {"supabase_db_url": database.url}
    common = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "supabase_project_dir": project,
        "supabase_verify_config_file": os.path.join(project, "verify.yml"),
        "supabase_preflight_verify_files": ["supabase/rls_tests.sql", "docs/runbooks/data_integrity_checks.sql"],
        "supabase_artifacts_dir": str(tmp_path / "artifacts" / "data"),
        "supabase_backup_dir": str(tmp_path / "artifacts" / "backups"),
        "supabase_cli_path": SUPABASE_CLI,
        # Shadows cost a cluster (and the preflight's four CLI runs): test_preflight_shadow.py and
        # test_playbook_status.py's schema drift test prove them.
        "supabase_preflight_shadow_check": False,
        "supabase_status_schema_drift": False,
        "supabase_preflight_schema_drift": False,
        "supabase_notify_feedback_file": str(tmp_path / "feedback" / "data" / "feedback.md"),
    }
    common.update(group_vars or {})
    inventory = {"all": {"vars": common, "children": {"databases": {"children": children}}}}
    for environment in children:
        children[environment]["vars"] = {"supabase_environment": environment}
    path = tmp_path / "inventory"
    (path / "host_vars").mkdir(parents=True, exist_ok=True)
    with open(str(path / "hosts.yml"), "w") as handle:
        yaml.safe_dump(inventory, handle)
    for name, values in host_vars.items():
        target = path / "host_vars" / ("%s.yml" % name)
        with open(str(target), "w") as handle:
            yaml.safe_dump(values, handle)
        os.chmod(str(target), 0o600)
    return str(path)


def approval_vars(approver="db-manager", ticket="CHG-1019", minutes_ago=1):
    import datetime
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes_ago)
    return {"supabase_approval_approver": approver, "supabase_approval_ticket": ticket,
            "supabase_approval_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


class PlaybookRun(object):
    def __init__(self, proc, tmp_path):
        self.rc = proc.returncode
        self.output = proc.stdout
        self.tmp_path = tmp_path

    def run_dirs(self):
        base = self.tmp_path / "artifacts" / "data"
        return sorted(str(p) for p in base.iterdir()) if base.is_dir() else []

    def errors(self):
        return [line for line in self.output.splitlines() if line.startswith(("fatal:", "[ERROR]", "ERROR!"))]

    def __repr__(self):
        # Errors first: pytest shortens long reprs in the middle.
        return "PlaybookRun(rc=%d) errors: %s\n%s" % (self.rc, " | ".join(self.errors())[:3000], self.output[-3000:])


def run_playbook(tmp_path, playbook, inventory, extra_vars=None, timeout=600, collection_name=False, env_extra=None):
    """Run ansible-playbook headless (stdin /dev/null). ``playbook`` is a file under playbooks/ or, with
    ``collection_name``, the collection playbook name (hotdash.supabase.<name>)."""
    merged = dict(FAST_VARS)
    merged.update(extra_vars or {})
    vars_file = tmp_path / ("extra_vars_%d.json" % len(list(tmp_path.glob("extra_vars_*.json"))))
    with open(str(vars_file), "w") as handle:
        json.dump(merged, handle)
    os.chmod(str(vars_file), 0o600)
    target = "hotdash.supabase.%s" % playbook if collection_name else os.path.join(ROOT, "playbooks", playbook + ".yml")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", SUPABASE_CLI=SUPABASE_CLI, SUPABASE_TELEMETRY_DISABLED="1",
               DO_NOT_TRACK="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.update(env_extra or {})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                           target, "-e", "@" + str(vars_file)],
                          cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=env, timeout=timeout, check=False)
    return PlaybookRun(proc, tmp_path)


def history_versions(database):
    return sorted(database.history())


def table_counts(database, tables=("agents", "agent_approvals", "product_categories", "customer_segments", "facts")):
    return dict((t, database.scalar("SELECT count(*) FROM public.%s" % t)) for t in tables)


def approvals(database, gate=None):
    if not database.table_exists("hotdash_audit.approvals"):
        return []
    rows = database.query("SELECT gate, environment, approver, ticket, mode, versions FROM hotdash_audit.approvals"
                          + (" WHERE gate = %s" if gate else "") + " ORDER BY id", (gate,) if gate else None)
    return [dict(zip(("gate", "environment", "approver", "ticket", "mode", "versions"), r)) for r in rows]
