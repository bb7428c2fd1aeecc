#!/usr/bin/env python
"""Applying a migration under live traffic: what the application's latency does while it waits for its lock.

  .venv/bin/python benchmarks/live_traffic.py        # make bench-live; about 2 minutes
  .venv/bin/python benchmarks/live_traffic.py --only reader,defaults --duration 16

Starts its own throwaway cluster (tools/throwaway_pg.py) with a pgbench database, then runs one scenario per
way of applying, each on a fresh copy of that database, all in this one run:

- pgbench at a fixed rate (``-R 200 -c 4``, per-transaction log; with ``-R`` a transaction's latency counts
  from its scheduled start, so a stall also counts for the transactions that could not start: no
  coordinated omission);
- at t = 4 s a session opens a transaction that reads ``pgbench_accounts`` and holds it for 8 s (a report,
  a forgotten psql, a long export);
- at t = 5 s the migration ``alter table pgbench_accounts add column note text`` is applied by: nothing
  (reader only, the baseline), ``migration_apply`` with its defaults, ``migration_apply`` tuned (lock_timeout
  0.2 s, 30 retries, backoff 0.5 s), ``migration_apply`` as it behaved before it waited for blockers
  (lock_timeout 5 s, 3 retries, backoff 2 s), ``psql -f``, ``supabase db push``.

Prints latency percentiles per scenario with ratios to the baseline measured in the same run, whether and when
the migration applied, the target for the collection's defaults (p99 <= 2 x baseline p99, max <= 500 ms,
applied once the reader ended), and draws the latency timeline (PNG). Not part of the test suite.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import throwaway_pg  # noqa: E402
from module_process import ModuleProcess  # noqa: E402

CLI = os.environ.get("SUPABASE_CLI") or os.path.join(ROOT, "tools", "supabase-cli", "node_modules", ".bin", "supabase")
MIGRATION = "alter table pgbench_accounts add column note text"
VERSION = "20251201020000"
TEMPLATE = "live_template"

SCENARIOS = [
    ("reader", "nothing (reader only)"),
    ("defaults", "migration_apply, defaults"),
    ("old", "migration_apply, old defaults (lock_timeout 5 s, 3 retries, no blocker check)"),
    ("tuned", "migration_apply, lock_timeout 0.2 s, 30 retries, backoff 0.5 s"),
    ("psql", "psql -f"),
    ("push", "supabase db push"),
]
TUNED = dict(lock_timeout=0.2, lock_retries=30, lock_retry_backoff=0.5)
# What migration_apply did before it looked for blockers: one blocker "age" no transaction reaches turns that off.
OLD = dict(lock_timeout=5, lock_retries=3, lock_retry_backoff=2, blocker_transaction_age=86400)


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def read_pgbench_logs(prefix):
    """[(scheduled start epoch s, latency ms)] from pgbench's per-transaction logs (one file per thread).

    Columns: client_id transaction_no time script_no time_epoch time_us schedule_lag. With --rate, ``time``
    is measured from the scheduled start (it includes schedule_lag); the end is time_epoch + time_us.
    """
    rows = []
    directory, stem = os.path.split(prefix)
    for name in sorted(os.listdir(directory)):
        if not name.startswith(stem + "."):
            continue
        with open(os.path.join(directory, name)) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) < 7 or parts[2] == "skipped":
                    continue
                latency_us = float(parts[2])
                end = int(parts[4]) + int(parts[5]) / 1e6
                rows.append((end - latency_us / 1e6, latency_us / 1000.0))
    rows.sort()
    return rows


def summarize(rows):
    latencies = sorted(latency for _start, latency in rows)
    return dict(transactions=len(latencies), p50_ms=percentile(latencies, 0.50), p95_ms=percentile(latencies, 0.95),
                p99_ms=percentile(latencies, 0.99), max_ms=latencies[-1] if latencies else float("nan"))


class Bench(object):
    def __init__(self, base, args):
        self.base = base
        self.args = args
        self.cluster = None
        self.env = None

    def start(self):
        self.cluster = throwaway_pg.start(os.path.join(self.base, "pg"))
        throwaway_pg.wait_ready(self.cluster)
        self.env = dict(os.environ, PGPASSWORD=self.cluster["password"], PGSSLMODE="disable",
                        PGHOST=self.cluster["host"], PGPORT=str(self.cluster["port"]), PGUSER=self.cluster["user"])
        throwaway_pg.shape(self.cluster, TEMPLATE)
        subprocess.run(["pgbench", "-i", "-q", "-s", str(self.args.scale), "--foreign-keys", TEMPLATE],
                       env=self.env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        throwaway_pg.psql(self.cluster, TEMPLATE, "vacuum analyze")

    def stop(self):
        throwaway_pg.stop(os.path.join(self.base, "pg"))

    def url(self, dbname, password=True):
        auth = "%s:%s" % (self.cluster["user"], self.cluster["password"]) if password else self.cluster["user"]
        return "postgresql://%s@%s:%d/%s?sslmode=disable" % (auth, self.cluster["host"], self.cluster["port"], dbname)

    def project(self, key):
        project = os.path.join(self.base, "project_%s" % key)
        os.makedirs(os.path.join(project, "supabase", "migrations"))
        with open(os.path.join(project, "supabase", "migrations", "%s_add_note.sql" % VERSION), "w") as handle:
            handle.write(MIGRATION + ";\n")
        return project

    def fresh_db(self, key):
        name = "live_%s" % key
        throwaway_pg.psql(self.cluster, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        throwaway_pg.psql(self.cluster, "postgres", 'CREATE DATABASE "%s" TEMPLATE "%s"' % (name, TEMPLATE))
        return name

    def reader(self, dbname, hold, events):
        import psycopg2
        conn = psycopg2.connect(self.url(dbname), application_name="long-report")
        try:
            with conn.cursor() as cur:
                events["reader_start"] = time.time()
                cur.execute("select sum(abalance) from pgbench_accounts where aid < 1000")
                time.sleep(hold)
            conn.commit()
            events["reader_end"] = time.time()
        finally:
            conn.close()

    def apply(self, key, dbname, project, events):
        """Apply the migration the scenario's way; records start, end and how it ended."""
        started = time.time()
        events["apply_start"] = started
        workdir = os.path.join(self.base, "work_%s" % key)
        os.makedirs(workdir, exist_ok=True)
        if key in ("defaults", "old", "tuned"):
            args = dict(db_url=self.url(dbname), project_dir=project, environment="local",
                        log_path=os.path.join(workdir, "apply.log"))
            args.update(dict(old=OLD, tuned=TUNED).get(key, {}))
            result = ModuleProcess.start("migration_apply", args, workdir).wait(timeout=600)
            ok = not result.get("failed") and not result.get("no_result")
            detail = result.get("summary") or result.get("msg") or result.get("stderr", "")[-300:]
        elif key == "psql":
            proc = subprocess.run(["psql", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", dbname, "-f",
                                   os.path.join(project, "supabase", "migrations", "%s_add_note.sql" % VERSION)],
                                  env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
            ok, detail = proc.returncode == 0, proc.stdout.strip()[-300:]
        else:
            env = dict(self.env, SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")
            proc = subprocess.run([CLI, "db", "push", "--yes", "--db-url", self.url(dbname, password=False)],
                                  cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, check=False)
            ok, detail = proc.returncode == 0, (proc.stdout.strip().splitlines() or [""])[-1]
        events["apply_end"] = time.time()
        events["apply_ok"] = ok
        events["apply_detail"] = detail

    def run_scenario(self, key):
        dbname = self.fresh_db(key)
        project = self.project(key)
        prefix = os.path.join(self.base, "logs_%s" % key, "pgbench")
        os.makedirs(os.path.dirname(prefix))
        events = {}
        argv = ["pgbench", "-n", "-R", str(self.args.rate), "-c", str(self.args.clients), "-j", "2",
                "-T", str(self.args.duration), "-l", "--log-prefix", prefix, "-b", self.args.builtin, dbname]
        bench = subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t0 = time.time()
        threads = [threading.Timer(self.args.reader_at, self.reader, (dbname, self.args.reader_hold, events))]
        if key != "reader":
            threads.append(threading.Timer(self.args.apply_at, self.apply, (key, dbname, project, events)))
        for thread in threads:
            thread.start()
        output, _err = bench.communicate()
        for thread in threads:
            thread.join()
        if bench.returncode not in (0, 2):  # 2: some transactions failed (reported), still measured
            raise SystemExit("pgbench failed (%d): %s" % (bench.returncode, output[-1000:]))
        rows = read_pgbench_logs(prefix)
        figures = summarize(rows)
        figures.update(key=key, label=dict(SCENARIOS)[key], t0=t0,
                       applied=key != "reader" and self.column_exists(dbname),
                       reader_start_s=events.get("reader_start", t0) - t0, reader_end_s=events.get("reader_end", t0) - t0)
        if key != "reader":
            figures.update(apply_start_s=events["apply_start"] - t0, apply_end_s=events["apply_end"] - t0,
                           apply_ok=events["apply_ok"], apply_detail=events["apply_detail"])
        figures["series"] = [(start - t0, latency) for start, latency in rows]
        throwaway_pg.psql(self.cluster, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname)
        return figures

    def column_exists(self, dbname):
        import psycopg2
        conn = psycopg2.connect(self.url(dbname))
        try:
            with conn.cursor() as cur:
                cur.execute("select count(*) from information_schema.columns where table_schema = 'public' and "
                            "table_name = 'pgbench_accounts' and column_name = 'note'")
                return cur.fetchone()[0] == 1
        finally:
            conn.close()


def draw(results, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 2.1 * len(results) + 0.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(results), 1, sharex=True, squeeze=False)[:, 0]
    top = max(max((lat for _s, lat in r["series"]), default=1.0) for r in results)
    for ax, result in zip(axes, results):
        xs = [s for s, _lat in result["series"]]
        ys = [max(lat, 0.05) for _s, lat in result["series"]]
        ax.scatter(xs, ys, s=2, color="#2c3e50", linewidths=0)
        ax.axvspan(result["reader_start_s"], result["reader_end_s"], color="#f1c40f", alpha=0.18,
                   label="long reader")
        if "apply_start_s" in result:
            ax.axvspan(result["apply_start_s"], result["apply_end_s"], color="#c0392b", alpha=0.15,
                       label="apply running")
        ax.axhline(500, color="#c0392b", linestyle="--", linewidth=0.8, label="500 ms")
        ax.set_yscale("log")
        ax.set_ylim(0.05, max(top * 2, 1000))
        ax.set_ylabel("latency ms")
        ax.set_title("%s: p99 %.1f ms, max %.0f ms%s" % (
            result["label"], result["p99_ms"], result["max_ms"],
            "" if result["key"] == "reader" else (", applied" if result["applied"] else ", NOT applied")),
            fontsize=9, loc="left")
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize=7, frameon=False)
    axes[-1].set_xlabel("seconds since pgbench started (by scheduled start of each transaction)")
    figure.tight_layout()
    figure.savefig(path)
    return path


def report(results, args):
    base = next(r for r in results if r["key"] == "reader")
    print("pgbench -R %d -c %d -b %s (scale %d), %d s; reader holds pgbench_accounts %.0f-%.0f s; migration at %.0f s"
          % (args.rate, args.clients, args.builtin, args.scale, args.duration, args.reader_at,
             args.reader_at + args.reader_hold, args.apply_at))
    print("| applied by | p50 ms | p95 ms | p99 ms | max ms | p99 / base | max / base | applied |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        when = "-"
        if r["key"] != "reader":
            when = ("yes, at %.1f s (reader ended %.1f s)" % (r["apply_end_s"], r["reader_end_s"]) if r["applied"]
                    else "no (%s)" % str(r["apply_detail"])[:120])
        print("| %s | %.1f | %.1f | %.1f | %.0f | %.2f | %.2f | %s |" % (
            r["label"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"], r["p99_ms"] / base["p99_ms"],
            r["max_ms"] / base["max_ms"], when))
    checks = []
    defaults = next((r for r in results if r["key"] == "defaults"), None)
    if defaults:
        checks = [
            ("defaults: p99 <= 2 x reader-only p99 (%.1f <= %.1f ms)" % (defaults["p99_ms"], 2 * base["p99_ms"]),
             defaults["p99_ms"] <= 2 * base["p99_ms"]),
            ("defaults: max <= 500 ms (%.0f ms)" % defaults["max_ms"], defaults["max_ms"] <= 500),
            ("defaults: migration applied once the reader ended", bool(defaults["applied"])
             and defaults["apply_end_s"] >= defaults["reader_end_s"] - 0.5),
        ]
    for name, ok in checks:
        print("  [%s] %s" % ("PASS" if ok else "MISS", name))
    return checks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenarios (%s); reader always runs"
                        % ", ".join(k for k, _l in SCENARIOS))
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--builtin", default="tpcb-like", help="pgbench built-in script (tpcb-like, select-only)")
    parser.add_argument("--duration", type=int, default=20, help="seconds of traffic per scenario")
    parser.add_argument("--reader-at", type=float, default=4.0)
    parser.add_argument("--reader-hold", type=float, default=8.0)
    parser.add_argument("--apply-at", type=float, default=5.0)
    parser.add_argument("--out", default=os.path.join(ROOT, "artifacts", "bench"),
                        help="directory for live_traffic.png and live_traffic.json")
    args = parser.parse_args(argv)
    keys = [k for k, _l in SCENARIOS]
    if args.only:
        wanted = set(args.only.split(",")) | {"reader"}
        unknown = wanted - set(keys)
        if unknown:
            parser.error("unknown scenario(s): %s" % ", ".join(sorted(unknown)))
        keys = [k for k in keys if k in wanted]
    os.makedirs(args.out, exist_ok=True)
    base = tempfile.mkdtemp(prefix="hotdash-live-")
    bench = Bench(base, args)
    results = []
    try:
        bench.start()
        for key in keys:
            results.append(bench.run_scenario(key))
    finally:
        bench.stop()
        shutil.rmtree(base, ignore_errors=True)
    checks = report(results, args)
    png = draw(results, os.path.join(args.out, "live_traffic.png"))
    with open(os.path.join(args.out, "live_traffic.json"), "w") as handle:
        json.dump(dict(settings=vars(args), targets=dict(checks),
                       scenarios=[dict((k, v) for k, v in r.items() if k != "series") for r in results]),
                  handle, indent=2)
    print("timeline: %s" % png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
