#!/usr/bin/env python
"""The apply playbook over a fleet of databases, and where its time goes.

  .venv/bin/python benchmarks/fleet.py                  # make bench-fleet: 32 databases, forks 1 and 16, demo split
  .venv/bin/python benchmarks/fleet.py --hosts 8 --forks 4

Starts its own throwaway cluster (tools/throwaway_pg.py) and a template database where "production has been
running" (examples/hotdash up to 20251015090000 and its seed), then:

1. Fleet: ``playbooks/apply_staging.yml`` (preflight, approval, apply, verify, monitor; default canary batches
   [1, 10 %, 100 %]) over N databases copied from the template (one inventory host each, as in inventories/),
   once per ``forks`` value, each on fresh copies. Prints wall time, time per host and the speed-up of the
   larger ``forks`` against the smallest, measured in this run.
2. Demo split: the same playbook on one database of the demo project, its wall time split into Ansible outside
   tasks (start-up, inventory, scheduling), controller-side tasks (set_fact, debug, assert, includes), module
   tasks, and within those the database's own work (server execution time of every top-level statement in
   that database, from pg_stat_statements).

Per-task times come from benchmarks/callback_plugins/task_timer.py. The settings are the end-to-end tests'
fast ones (one monitor sample, no rollback exercise, no advisors; tests/integration/test_playbook_support.py),
so the figures are the playbook's machinery and database work, not deliberate waiting. Not part of the tests.
"""
import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import throwaway_pg  # noqa: E402
from module_process import ModuleProcess  # noqa: E402
from test_playbook_support import (BASELINE_VERSION, EXAMPLE, approval_vars, run_playbook,  # noqa: E402
                                   write_inventory)

TEMPLATE = "fleet_template"
CALLBACKS = os.path.join(ROOT, "benchmarks", "callback_plugins")
# Actions that run in the controller only (no module process, no database).
CONTROLLER_ACTIONS = frozenset("ansible.builtin.%s" % name for name in (
    "set_fact", "debug", "assert", "fail", "meta", "include_tasks", "import_tasks", "include_role", "import_role",
    "include_vars", "add_host", "group_by", "set_stats", "pause", "validate_argument_spec"))


class Database(object):
    """What test_playbook_support.write_inventory needs of a database: its URL."""

    def __init__(self, cluster, name):
        self.name = name
        self.url = "postgresql://%s:%s@%s:%d/%s?sslmode=disable" % (
            cluster["user"], cluster["password"], cluster["host"], cluster["port"], name)


class Fleet(object):
    def __init__(self, base):
        self.base = base
        self.cluster = None

    def start(self):
        self.cluster = throwaway_pg.start(os.path.join(self.base, "pg"))
        throwaway_pg.wait_ready(self.cluster)
        throwaway_pg.psql(self.cluster, "postgres", "create extension if not exists pg_stat_statements")
        throwaway_pg.shape(self.cluster, TEMPLATE)
        template = Database(self.cluster, TEMPLATE)
        result = ModuleProcess.start("migration_apply", dict(
            db_url=template.url, project_dir=EXAMPLE, target_version=BASELINE_VERSION, environment="local",
            log_path=os.devnull), os.path.join(self.base, "baseline")).wait()
        if result.get("failed") or result.get("no_result"):
            raise SystemExit("baseline apply failed: %s" % (result.get("msg") or result.get("stderr")))
        throwaway_pg.psql(self.cluster, TEMPLATE, file=os.path.join(EXAMPLE, "supabase", "seed.sql"))

    def stop(self):
        throwaway_pg.stop(os.path.join(self.base, "pg"))

    def databases(self, prefix, count):
        made = []
        for number in range(1, count + 1):
            name = "%s%02d" % (prefix, number)
            throwaway_pg.psql(self.cluster, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
            throwaway_pg.psql(self.cluster, "postgres", 'CREATE DATABASE "%s" TEMPLATE "%s"' % (name, TEMPLATE))
            throwaway_pg.psql(self.cluster, "postgres",
                              'ALTER DATABASE "%s" SET search_path TO "$user", public, extensions' % name)
            made.append(Database(self.cluster, name))
        return made

    def server_time_ms(self, databases):
        """Server time (planning + execution) of top-level statements in these databases since the last reset."""
        import psycopg2
        conn = psycopg2.connect(Database(self.cluster, "postgres").url)
        try:
            with conn.cursor() as cur:
                cur.execute("select coalesce(sum(s.total_exec_time + s.total_plan_time), 0)::float8, "
                            "coalesce(sum(s.calls), 0)::bigint from pg_stat_statements s "
                            "join pg_database d on d.oid = s.dbid where s.toplevel and d.datname = any(%s)",
                            ([db.name for db in databases],))
                milliseconds, calls = cur.fetchone()
        finally:
            conn.close()
        return milliseconds, calls

    def reset_statements(self):
        throwaway_pg.psql(self.cluster, "postgres", "select pg_stat_statements_reset()")

    def run(self, label, databases, forks):
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="run-%s-" % label, dir=self.base))
        hosts = dict(("tenant%02d" % i, ("staging", db)) for i, db in enumerate(databases, 1))
        inventory = write_inventory(workdir, hosts)
        times = str(workdir / "task_times.jsonl")
        env = dict(ANSIBLE_FORKS=str(forks), ANSIBLE_CALLBACK_PLUGINS=CALLBACKS, ANSIBLE_CALLBACKS_ENABLED="task_timer",
                   HOTDASH_TASK_TIMES=times)
        self.reset_statements()
        started = time.perf_counter()
        run = run_playbook(workdir, "apply_staging", inventory, approval_vars(), timeout=3600, env_extra=env)
        wall = time.perf_counter() - started
        if run.rc != 0:
            raise SystemExit("apply_staging failed on %s (rc %d): %s" % (label, run.rc, " | ".join(run.errors())[-2000:]))
        server_ms, calls = self.server_time_ms(databases)
        with open(times) as handle:
            tasks = [json.loads(line) for line in handle if line.strip()]
        return dict(label=label, hosts=len(databases), forks=forks, wall_s=wall, server_ms=server_ms, statements=calls,
                    tasks=tasks)


def split(run):
    """Where one run's time went (per host, summed over its tasks)."""
    hosts = run["hosts"]
    controller = [t for t in run["tasks"] if t["action"] in CONTROLLER_ACTIONS and t["start"]]
    modules = [t for t in run["tasks"] if t["action"] not in CONTROLLER_ACTIONS and t["start"]]

    def total(tasks):
        return sum(t["end"] - t["start"] for t in tasks)
    module_s = total(modules)
    server_s = run["server_ms"] / 1000.0
    return dict(
        wall_s=run["wall_s"], per_host_s=run["wall_s"] / hosts,
        controller_s=total(controller) / hosts, controller_tasks=len(controller) / hosts,
        module_s=module_s / hosts, module_tasks=len(modules) / hosts,
        server_s=server_s / hosts, module_overhead_s=(module_s - server_s) / hosts,
        # One database and forks 1: tasks run one after another, so the rest of the wall time is Ansible's own.
        outside_s=run["wall_s"] - total(run["tasks"]) if hosts == 1 else None,
        slowest=sorted(((t["end"] - t["start"], t["action"], t["task"]) for t in modules), reverse=True)[:5])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--forks", default="1,16", help="comma-separated forks values (default 1,16)")
    parser.add_argument("--skip-fleet", action="store_true", help="only the demo split")
    parser.add_argument("--skip-demo", action="store_true", help="only the fleet runs")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    forks_values = [int(value) for value in args.forks.split(",")]
    base = tempfile.mkdtemp(prefix="hotdash-fleet-")
    fleet = Fleet(base)
    figures = dict(hosts=args.hosts, fleet=[], demo=None)
    try:
        fleet.start()
        if not args.skip_demo:
            demo = fleet.run("demo", fleet.databases("demo", 1), 1)
            figures["demo"] = dict(split(demo), server_statements=demo["statements"])
        if not args.skip_fleet:
            for forks in forks_values:
                run = fleet.run("forks%d" % forks, fleet.databases("tenant", args.hosts), forks)
                figures["fleet"].append(dict(split(run), forks=forks, hosts=args.hosts))
    finally:
        fleet.stop()
        shutil.rmtree(base, ignore_errors=True)
    if figures["demo"]:
        d = figures["demo"]
        print("demo project, 1 database, apply_staging.yml: %.1f s wall" % d["wall_s"])
        print("  Ansible outside tasks (start-up, inventory, scheduling): %5.1f s (%2.0f %%)"
              % (d["outside_s"], 100 * d["outside_s"] / d["wall_s"]))
        print("  controller-side tasks (%3d: set_fact, debug, assert, includes): %5.1f s (%2.0f %%)"
              % (d["controller_tasks"], d["controller_s"], 100 * d["controller_s"] / d["wall_s"]))
        print("  module tasks (%3d), outside the database: %5.1f s (%2.0f %%), %.2f s per module task"
              % (d["module_tasks"], d["module_overhead_s"], 100 * d["module_overhead_s"] / d["wall_s"],
                 d["module_overhead_s"] / max(d["module_tasks"], 1)))
        print("  database work (server time of %d top-level statements): %5.2f s (%2.1f %%)"
              % (d["server_statements"], d["server_s"], 100 * d["server_s"] / d["wall_s"]))
        slowest = ["%s %.1f s" % (name, seconds) for seconds, _action, name in d["slowest"]]
        print("  slowest module tasks: %s" % "; ".join(slowest))
    if figures["fleet"]:
        first = figures["fleet"][0]
        print("fleet of %d databases, apply_staging.yml (batches 1, 10 %%, 100 %%):" % args.hosts)
        print("| forks | wall s | per host s | speed-up | database work per host s | module tasks per host s |")
        print("| --- | --- | --- | --- | --- | --- |")
        for row in figures["fleet"]:
            print("| %d | %.1f | %.2f | %.2f | %.2f | %.1f |" % (
                row["forks"], row["wall_s"], row["per_host_s"], first["wall_s"] / row["wall_s"], row["server_s"],
                row["module_s"]))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
