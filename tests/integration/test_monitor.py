"""monitor_sample against real PostgreSQL, with a workload the test generates while the module samples."""
import json
import os
import sys
import threading
import time

import psycopg2
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_supavisor import FakeSupavisor  # noqa: E402

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "examples", "hotdash")


@pytest.fixture
def app_db(db, run_module, tmp_path):
    """A database with the example project applied (observability_logs exists)."""
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=EXAMPLE,
                                                log_path=str(tmp_path / "apply.log")))
    assert not result.get("failed"), result.get("msg")
    return db


class Workload(threading.Thread):
    """Inserts log rows from its own connection: INFO all the time, ERROR while ``errors`` is set.

    With ``burst_after_first_sample`` the ERROR rows start only once the module has written its first sample,
    and stop after ``burst_seconds``: a crossing that is certainly inside the window and certainly brief.
    """

    def __init__(self, db, samples_path, errors_from_start=False, burst_seconds=None):
        super(Workload, self).__init__(daemon=True)
        self.db = db
        self.samples_path = samples_path
        self.errors = threading.Event()
        if errors_from_start:
            self.errors.set()
        self.burst_seconds = burst_seconds
        self.stop = threading.Event()
        self.inserted = {"ERROR": 0, "INFO": 0}

    def _first_sample_written(self):
        try:
            with open(self.samples_path) as handle:
                return bool(handle.readline().strip())
        except IOError:
            return False

    def run(self):
        conn = self.db.connect(autocommit=True)
        burst_started = None
        try:
            with conn.cursor() as cur:
                while not self.stop.is_set():
                    if self.burst_seconds is not None:
                        if burst_started is None and self._first_sample_written():
                            burst_started = time.monotonic()
                            self.errors.set()
                        elif burst_started is not None and time.monotonic() - burst_started > self.burst_seconds:
                            self.errors.clear()
                    levels = ["INFO", "ERROR"] if self.errors.is_set() else ["INFO"]
                    for level in levels:
                        cur.execute("INSERT INTO public.observability_logs (level, message) VALUES (%s, %s)",
                                    (level, "workload"))
                        self.inserted[level] += 1
                    time.sleep(0.05)
        finally:
            conn.close()


def watch(run_module, db, out_dir, **options):
    args = dict(db.connection_args(), output_dir=str(out_dir), statements_min_calls=1, chart=False)
    args.update(options)
    return run_module("monitor_sample", args)


# Scaled-down watches (seconds, not minutes): rate window 1 s, samples every 0.5 s.
SCALED = dict(interval=0.5, rate_window=1, chart=False)


def test_a_brief_error_spike_crosses_the_trigger_but_does_not_breach(app_db, run_module, tmp_path):
    out = tmp_path / "db1"
    workload = Workload(app_db, str(out / "monitor.jsonl"), burst_seconds=0.3)
    workload.start()
    try:
        result = watch(run_module, app_db, out, window=4, sustain=2.5, **SCALED)
    finally:
        workload.stop.set()
        workload.join()
    assert not result.get("failed"), result.get("msg")
    assert workload.inserted["ERROR"] > 0
    trailing = [s["trigger"]["rate"] for s in result["samples"] if s["trigger"]["rate"] is not None]
    assert max(trailing) > 0.01, "the workload's burst never crossed the trigger: %r" % trailing
    assert result["breached"] is False and result["reasons"] == [] and result["triggers"] == []
    assert result["trigger"]["fired_at_s"] is None and result["trigger"]["state"] == "inactive"
    check = [c for c in result["checks"] if c["name"] == "error rate trigger"][0]
    assert check["status"] == "warn" and "then back below" in check["detail"]


def test_a_sustained_error_rate_breaches_with_a_reason(app_db, run_module, tmp_path):
    out = tmp_path / "db1"
    workload = Workload(app_db, str(out / "monitor.jsonl"), errors_from_start=True)
    workload.start()
    time.sleep(0.3)  # rows in the first sample's interval too
    try:
        result = watch(run_module, app_db, out, window=4, sustain=1.5, interval=0.5, rate_window=1, chart=True)
    finally:
        workload.stop.set()
        workload.join()
    assert not result.get("failed"), result.get("msg")
    assert result["breached"] is True and result["verdict"] == "rollback"
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("error rate above 1.00% over the trailing 1 s for ")
    assert [t["kind"] for t in result["triggers"]] == ["error_rate"]
    assert result["trigger"]["fired_at_s"] is not None and result["trigger"]["state"] == "firing"
    assert result["peaks"]["error_rate"] > 0.3  # every other row is an ERROR
    assert [c["status"] for c in result["checks"] if c["name"] == "error rate trigger"] == ["fail"]
    # Files: one JSON line per sample with the trigger's state as it was evaluated, the chart, the summary.
    lines = [json.loads(line) for line in (out / "monitor.jsonl").read_text().splitlines()]
    assert [line["seq"] for line in lines] == [s["seq"] for s in result["samples"]] and len(lines) >= 8
    assert lines[-1]["trigger"]["state"] == "firing" and lines[0]["trigger"]["state"] in ("pending", "firing")
    assert (out / "monitor.png").read_bytes()[:4] == b"\x89PNG"
    summary = (out / "monitor_summary.md").read_text()
    assert "- **verdict**: rollback triggered" in summary and "error rate above 1.00%" in summary
    assert result["errors_per_minute"] and sum(r["errors"] for r in result["errors_per_minute"]) >= workload.inserted["ERROR"] // 2
    assert app_db.password not in (out / "monitor.jsonl").read_text() + summary


def test_fail_on_failed_fails_on_a_breach_with_one_line_and_keeps_the_files(app_db, run_module, tmp_path):
    app_db.execute("INSERT INTO public.observability_logs (level, message) SELECT 'ERROR', 'x' FROM generate_series(1, 5)")
    result = watch(run_module, app_db, tmp_path, window=0, interval=60, sustain=0, fail_on_failed=True, chart=False)
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("monitor window breached: error rate above 1.00% over the trailing 60 s")
    assert (tmp_path / "monitor.jsonl").exists() and (tmp_path / "monitor_summary.md").exists()


SLOW_RPC = """
CREATE FUNCTION public.slow_tiles() RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN PERFORM pg_sleep(0.06); RETURN 1; END $$;
GRANT EXECUTE ON FUNCTION public.slow_tiles() TO authenticated;
"""


def test_probes_measure_real_percentiles_and_a_slow_rpc_misses_its_budget(app_db, run_module, tmp_path):
    app_db.execute(SLOW_RPC)
    probes = ["get_inventory_summary", {"name": "slow tiles", "function": "slow_tiles", "budget": 0.05},
              {"name": "tiles view", "query": "SELECT * FROM public.dashboard_tiles"}]
    result = watch(run_module, app_db, tmp_path, window=1.5, interval=0.5, probes=probes, probe_rate=10,
                   statements_min_calls=1)
    assert not result.get("failed"), result.get("msg")
    slow = result["probes"]["slow tiles"]
    assert slow["calls"] >= 5 and slow["errors"] == 0 and slow["p95_ms"] >= 60.0
    assert result["probes"]["get_inventory_summary"]["p95_ms"] < 50.0 and result["probes"]["tiles view"]["ok"] > 0
    # Every latency is in the samples; the window's P95 is computed from them, exactly.
    kept = [v for s in result["samples"] for v in s["probes"].get("slow tiles", {}).get("latencies_ms", [])]
    assert len(kept) == slow["count"] and sorted(kept)[-1] == slow["max_ms"]
    assert result["breached"] is False and result["verdict"] == "succeeded_with_warnings"
    missed = [w for w in result["run_warnings"] if w["kind"] == "success_criterion"]
    assert [w["reason"].split(" missed")[0] for w in missed] == ["probe slow tiles P95 < 50 ms"]
    statements = " ".join(s["query"] for s in result["statements"]["by_mean"])
    assert "slow_tiles" in statements and "p95_estimate_ms" in result["statements"]["by_mean"][0]
    assert result["statements"]["by_total"]
    assert "observability_logs" in [t["table"] for t in result["tables"]]
    assert result["history_tail"][0]["version"] == "20251019090000"
    assert result["degraded"] == [] and result["changed"] is False
    as_trigger = watch(run_module, app_db, tmp_path, window=1.5, interval=0.5, probes=probes[1:2], probe_rate=10,
                       breach_on=["error_rate", "p95"], p95_budget=0.05, sustain=0.4)
    assert as_trigger["breached"] is True and [t["kind"] for t in as_trigger["triggers"]] == ["rpc_budget"]


def test_missing_logs_table_and_pg_stat_statements_degrade_to_warnings(db, run_module, tmp_path):
    db.execute("DROP EXTENSION pg_stat_statements")
    before = db.schema_fingerprint()
    result = watch(run_module, db, tmp_path, window=1, interval=1)
    assert not result.get("failed"), result.get("msg")
    assert result["breached"] is False and result["verdict"] == "succeeded_with_warnings"
    joined = " | ".join(result["degraded"])
    assert "observability_logs" in joined and "does not exist" in joined
    assert "pg_stat_statements is not installed" in joined
    assert result["errors_per_minute"] is None
    statuses = dict((c["name"], c["status"]) for c in result["checks"])
    assert statuses["error rate trigger"] == "warn" and statuses["error rate"] == "warn"
    assert statuses["database connections (of max_connections)"] == "ok"
    assert db.schema_fingerprint() == before


def test_pg_stat_statements_is_found_in_another_schema(db, run_module, tmp_path):
    db.execute("DROP EXTENSION pg_stat_statements; CREATE SCHEMA monitoring; "
               "CREATE EXTENSION pg_stat_statements WITH SCHEMA monitoring")
    result = watch(run_module, db, tmp_path, window=0.6, interval=0.3, statements_min_calls=1, probe_rate=10,
                   probes=[{"name": "one", "query": "SELECT 1 AS probe_marker"}], probe_role="")
    assert not [w for w in result["degraded"] if w.startswith("statements")]
    assert "probe_marker" in " ".join(s["query"] for s in result["statements"]["by_mean"])


def test_custom_error_rate_query(app_db, run_module, tmp_path):
    app_db.execute("CREATE TABLE public.requests (status int, at timestamptz DEFAULT now()); "
                   "INSERT INTO public.requests (status) SELECT CASE WHEN g <= 3 THEN 500 ELSE 200 END "
                   "FROM generate_series(1, 10) g")
    query = ("SELECT count(*) FILTER (WHERE status >= 500), count(*) FROM public.requests "
             "WHERE at > %(since)s AND at <= %(until)s")
    result = watch(run_module, app_db, tmp_path, window=0, interval=30, error_rate_query=query)
    assert result["samples"][0]["error_rate"] == {"errors": 3, "total": 10, "rate": 0.3}


@pytest.mark.parametrize("options, fragment", [
    (dict(error_rate_query="SELEC count(*) FROM x"), "error_rate_query: PostgreSQL's parser cannot read it: syntax error"),
    (dict(error_rate_query="SELECT 1 / 0, 1 WHERE %(since)s < %(until)s"), "error_rate_query failed: division by zero"),
    (dict(error_rate_query="SELECT 1"), "error_rate_query must return one row (errors, total)"),
    (dict(error_rate_query="SELECT 1, 2 WHERE 'a' LIKE '%a'"), "cannot take the %(since)s/%(until)s parameters"),
    (dict(interval=0), "interval must be > 0"),
    (dict(error_rate_rollback=5), "error_rate_rollback must be a fraction between 0 and 1"),
    (dict(basename="../evil"), "basename must be a simple name"),
])
def test_bad_input_is_a_one_line_error_and_changes_nothing(db, run_module, tmp_path, options, fragment):
    before = db.schema_fingerprint()
    result = watch(run_module, db, tmp_path, window=0, interval=options.pop("interval", 1), **options)
    assert result.get("failed"), result
    assert fragment in result["msg"] and "\n" not in result["msg"]
    assert "Traceback" not in result["msg"] and db.password not in result["msg"].replace("postgres@", "")
    assert db.schema_fingerprint() == before


def test_unreachable_database_is_a_one_line_error(run_module, tmp_path):
    result = run_module("monitor_sample", dict(db_url="postgresql://postgres:sekr3t-pw@127.0.0.1:1/app?sslmode=disable",
                                               output_dir=str(tmp_path), window=0, connect_timeout=2))
    assert result["failed"] and result["msg"].startswith("cannot connect to postgres@127.0.0.1:1/app")
    assert "sekr3t-pw" not in json.dumps(result) and "\n" not in result["msg"]


def test_a_saturated_pgbouncer_misses_the_pool_criterion_and_its_queued_probes_time_out(
        db, make_pgbouncer, run_module, tmp_path):
    bouncer = make_pgbouncer(pool_size=1)
    holder = psycopg2.connect(bouncer.url(db))
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1")  # holds the pool's only server connection in an open transaction
        result = watch(run_module, db, tmp_path, window=2, interval=0.5, probe_timeout=0.4, probe_rate=2,
                       probe_db_url=bouncer.url(db), probes=[{"name": "ping", "query": "SELECT 1"}],
                       pooler={"kind": "pgbouncer", "admin_url": bouncer.admin_url, "database": db.name})
    finally:
        holder.close()
    assert not result.get("failed"), result.get("msg")
    assert result["breached"] is False and result["verdict"] == "succeeded_with_warnings"
    pools = [s["pool"] for s in result["samples"]]
    assert all(p["source"] == "pgbouncer" and p["pool_size"] == 1 for p in pools)
    assert max(p["usage"] for p in pools) == 1.0 and max(p["clients_waiting"] for p in pools) >= 1
    criterion = [c for c in result["criteria"] if c["name"] == "pool usage (pgbouncer)"][0]
    assert criterion["met"] is False and "waited for a server connection" in criterion["detail"]
    ping = result["probes"]["ping"]
    assert ping["timeouts"] >= 1 and ping["ok"] == 0 and ping["p95_ms"] >= 400.0
    assert bouncer.info["admin_password"] not in json.dumps(result)


def test_a_pgbouncer_pool_in_use_is_read_every_sample_next_to_database_connections(
        db, make_pgbouncer, run_module, tmp_path):
    # Two of four server connections busy (clients in open transactions): the pool is half used, nobody waits.
    bouncer = make_pgbouncer(pool_size=4)
    holders = [psycopg2.connect(bouncer.url(db)) for unused in range(2)]
    try:
        for holder in holders:
            with holder.cursor() as cur:
                cur.execute("SELECT 1")
        result = watch(run_module, db, tmp_path, window=1, interval=0.5,
                       pooler={"kind": "pgbouncer", "admin_url": bouncer.admin_url, "database": db.name})
    finally:
        for holder in holders:
            holder.close()
    assert not result.get("failed"), result.get("msg")
    pools = [s["pool"] for s in result["samples"]]
    assert len(pools) >= 2 and all(p["source"] == "pgbouncer" and p["pool_size"] == 4 for p in pools)
    assert [(p["servers_active"], p["clients_active"], p["clients_waiting"], p["usage"]) for p in pools] == [(2, 2, 0, 0.5)] * len(pools)
    # Database connections stay, under their own name and denominator (max_connections), not as the pool.
    assert all(0 < s["database_connections"]["usage"] < 0.5 for s in result["samples"]), result["samples"][0]
    criterion = [c for c in result["criteria"] if c["name"] == "pool usage (pgbouncer)"][0]
    assert criterion["met"] is True and criterion["measured"] == 0.5
    assert result["peaks"]["pool_usage"] == 0.5 and result["peaks"]["clients_waiting"] == 0


def test_supavisor_metrics_are_read_every_sample(db, run_module, tmp_path):
    with FakeSupavisor(token="metrics-jwt-secret") as fake:
        result = watch(run_module, db, tmp_path, window=0.5, interval=0.5, pooler={
            "kind": "supavisor", "metrics_url": fake.url + "/metrics/hotdashprod",
            "metrics_token": "metrics-jwt-secret", "tenant": "hotdashprod", "max_clients": 200})
    assert not result.get("failed"), result.get("msg")
    pools = [s["pool"] for s in result["samples"]]
    assert pools and all(p["source"] == "supavisor" and p["clients_active"] == 48 and p["usage"] == 0.24 for p in pools)
    criterion = [c for c in result["criteria"] if c["name"] == "pool usage (supavisor)"][0]
    assert criterion["met"] is True and criterion["measured"] == 0.24
    assert "metrics-jwt-secret" not in json.dumps(result)
