#!/usr/bin/env python
"""Benchmarks of the migration engine against its floor and the Supabase CLI, from one run.

  .venv/bin/python benchmarks/run.py            # 500 migrations, 10,000 + 10,000 versions (make bench)
  .venv/bin/python benchmarks/run.py --quick    # a small smoke run (50 migrations, 1,000 versions)

Starts its own throwaway PostgreSQL cluster (tools/throwaway_pg.py) and measures:

- apply N generated migrations to a fresh database with the native engine (what migration_apply runs),
  vs the floor (``psql -X -1 -f`` per file: one process and one transaction per file, no history),
  vs the real ``supabase db push``;
- migration status over M local files + M applied versions: the engine behind migration_info
  (load the directory, read the history, split every file, classify) vs ``supabase migration list``.

Targets: native <= 1.15 x floor, native no slower than the CLI, status <= 1 s. Not part of the test suite.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
if not os.path.isdir(os.path.join(COLLECTIONS, "ansible_collections", "hotdash", "supabase")):
    os.makedirs(os.path.join(COLLECTIONS, "ansible_collections", "hotdash"), exist_ok=True)
    os.symlink(ROOT, os.path.join(COLLECTIONS, "ansible_collections", "hotdash", "supabase"))
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import throwaway_pg  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, run_apply  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings, connect  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import read_state  # noqa: E402

CLI = os.environ.get("SUPABASE_CLI") or os.path.join(ROOT, "tools", "supabase-cli", "node_modules", ".bin", "supabase")


def migration_sql(i):
    return ("-- generated migration %d\n"
            "create table bench_%d (id bigint generated always as identity primary key, name text not null default '',"
            " created_at timestamptz not null default now());\n"
            "create index bench_%d_name on bench_%d (name);\n"
            "insert into bench_%d (name) values ('a'), ('b');\n"
            "comment on table bench_%d is 'migration %d';\n" % (i, i, i, i, i, i, i))


def make_project(base, count, start=20240101000000):
    project = os.path.join(base, "project_%d" % count)
    migrations = os.path.join(project, "supabase", "migrations")
    os.makedirs(migrations)
    versions = []
    for i in range(count):
        version = str(start + i)
        versions.append(version)
        with open(os.path.join(migrations, "%s_bench_%d.sql" % (version, i)), "w") as handle:
            handle.write(migration_sql(i))
    return project, versions


def fresh_db(cluster, name):
    return throwaway_pg.shape(cluster, name)["url"]


def timed(func):
    started = time.perf_counter()
    value = func()
    return time.perf_counter() - started, value


def cli_env(password):
    return dict(os.environ, PGPASSWORD=password, SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")


def bench_apply(cluster, project, count):
    out = {}
    migrations = sorted(os.listdir(os.path.join(project, "supabase", "migrations")))
    # Floor: psql -1 -f per file.
    url = fresh_db(cluster, "bench_floor")
    settings = ConnectionSettings.from_url(url)
    env = dict(os.environ, PGPASSWORD=cluster["password"], PGSSLMODE="disable")

    def floor():
        for name in migrations:
            subprocess.run(["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1"] + settings.libpq_args()
                           + ["-f", os.path.join(project, "supabase", "migrations", name)],
                           check=True, env=env, stdout=subprocess.DEVNULL)
    out["floor_s"], _result = timed(floor)
    # Native engine.
    url = fresh_db(cluster, "bench_native")
    settings = ConnectionSettings.from_url(url)
    options = ApplyOptions(log_path=os.path.join(project, "native.log"))
    out["native_s"], result = timed(lambda: run_apply(settings, project, options))
    assert len(result["applied"]) == count, result["summary"]
    # Supabase CLI.
    url = fresh_db(cluster, "bench_cli")
    settings = ConnectionSettings.from_url(url)
    argv = [CLI, "db", "push", "--yes", "--db-url", settings.url(with_password=False), "--output-format", "json"]
    out["cli_s"], proc = timed(lambda: subprocess.run(argv, cwd=project, env=cli_env(cluster["password"]),
                                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                      stderr=subprocess.PIPE, text=True, check=False))
    if proc.returncode != 0:
        raise SystemExit("supabase db push failed: %s" % proc.stdout[-500:])
    return out


def bench_status(cluster, base, count):
    project, versions = make_project(base, count, start=20200101000000)
    url = fresh_db(cluster, "bench_status")
    settings = ConnectionSettings.from_url(url)
    conn = connect(settings, autocommit=True)
    from ansible_collections.hotdash.supabase.plugins.module_utils.history import ensure_history_table
    from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements
    rows = [(v, "bench_%d" % i, split_statements(migration_sql(i))) for i, v in enumerate(versions)]
    with conn.cursor() as cur:
        ensure_history_table(cur)
        from psycopg2.extras import execute_values
        execute_values(cur, "INSERT INTO supabase_migrations.schema_migrations (version, name, statements) VALUES %s",
                       rows, page_size=1000)
    out = {}

    def status():
        _local, _rows, report = read_state(conn, project)
        return report
    status()  # warm the OS file cache once; both tools then read from memory
    out["status_s"], report = timed(status)
    assert report.in_sync and report.counts["applied"] == count, report.counts
    conn.close()
    argv = [CLI, "migration", "list", "--db-url", settings.url(with_password=False), "--output-format", "json"]
    out["cli_list_s"], proc = timed(lambda: subprocess.run(argv, cwd=project, env=cli_env(cluster["password"]),
                                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                           stderr=subprocess.PIPE, text=True, check=False))
    if proc.returncode != 0:
        raise SystemExit("supabase migration list failed: %s" % proc.stdout[-500:])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (50 migrations, 1,000 versions)")
    parser.add_argument("--migrations", type=int, help="migrations to apply (default 500, quick 50)")
    parser.add_argument("--versions", type=int, help="local files = applied versions for status (default 10000)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    n_apply = args.migrations or (50 if args.quick else 500)
    n_status = args.versions or (1000 if args.quick else 10000)
    base = tempfile.mkdtemp(prefix="hotdash-bench-")
    cluster = None
    try:
        cluster = throwaway_pg.start(os.path.join(base, "pg"))
        throwaway_pg.wait_ready(cluster)
        project, _versions = make_project(base, n_apply)
        figures = dict(migrations=n_apply, versions=n_status)
        figures.update(bench_apply(cluster, project, n_apply))
        figures.update(bench_status(cluster, base, n_status))
    finally:
        throwaway_pg.stop(os.path.join(base, "pg"))
        shutil.rmtree(base, ignore_errors=True)
    ratio_floor = figures["native_s"] / figures["floor_s"]
    ratio_cli = figures["native_s"] / figures["cli_s"]
    checks = [
        ("native <= 1.15 x psql floor", ratio_floor <= 1.15),
        ("native no slower than supabase db push", ratio_cli <= 1.0),
        ("status <= 1 s", figures["status_s"] <= 1.0),
    ]
    figures.update(ratio_native_floor=round(ratio_floor, 3), ratio_native_cli=round(ratio_cli, 3),
                   ratio_status_cli=round(figures["status_s"] / figures["cli_list_s"], 3),
                   targets=dict(checks))
    print("apply %d migrations:  native %.2f s | psql -1 -f floor %.2f s | supabase db push %.2f s"
          % (n_apply, figures["native_s"], figures["floor_s"], figures["cli_s"]))
    print("  native / floor = %.2f   native / cli = %.2f" % (ratio_floor, ratio_cli))
    print("status %d local + %d applied:  migration_info engine %.3f s | supabase migration list %.2f s "
          "(ratio %.2f)" % (n_status, n_status, figures["status_s"], figures["cli_list_s"],
                            figures["status_s"] / figures["cli_list_s"]))
    for name, ok in checks:
        print("  [%s] %s" % ("PASS" if ok else "MISS", name))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
