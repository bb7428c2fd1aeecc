"""monitor_sample against real PostgreSQL, with a workload the test generates while the module samples."""
import json
import os
import threading
import time

import pytest

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


def test_a_brief_error_spike_crosses_the_trigger_but_does_not_breach(app_db, run_module, tmp_path):
    out = tmp_path / "db1"
    workload = Workload(app_db, str(out / "monitor.jsonl"), burst_seconds=0.3)
    workload.start()
    try:
        result = watch(run_module, app_db, out, window=4, interval=1, sustain=3)
    finally:
        workload.stop.set()
        workload.join()
    assert not result.get("failed"), result.get("msg")
    assert workload.inserted["ERROR"] > 0
    rates = [s["error_rate"]["rate"] for s in result["samples"] if s["error_rate"]["rate"] is not None]
    assert max(rates) > 0.01, "the workload's burst never crossed the trigger: %r" % rates
    assert rates[-1] == 0.0
    assert result["breached"] is False and result["reasons"] == []
    check = [c for c in result["checks"] if c["name"] == "error rate"][0]
    assert check["status"] == "warn" and "crossed 1.00% briefly" in check["detail"]


def test_a_sustained_error_rate_breaches_with_a_reason(app_db, run_module, tmp_path):
    out = tmp_path / "db1"
    workload = Workload(app_db, str(out / "monitor.jsonl"), errors_from_start=True)
    workload.start()
    time.sleep(0.3)  # rows in the first sample's interval too
    try:
        result = watch(run_module, app_db, out, window=4, interval=1, sustain=2, chart=True)
    finally:
        workload.stop.set()
        workload.join()
    assert not result.get("failed"), result.get("msg")
    assert result["breached"] is True
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("error rate above 1.00% for ")
    assert result["peaks"]["error_rate"] > 0.3  # every other row is an ERROR
    assert [c["status"] for c in result["checks"] if c["name"] == "error rate"] == ["fail"]
    # Files: one JSON line per sample, the chart, the summary naming the breach.
    lines = (out / "monitor.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [s["seq"] for s in result["samples"]]
    assert len(lines) >= 4
    assert (out / "monitor.png").read_bytes()[:4] == b"\x89PNG"
    summary = (out / "monitor_summary.md").read_text()
    assert "BREACHED" in summary and "error rate above 1.00%" in summary
    assert app_db.password not in (out / "monitor.jsonl").read_text() + summary


def test_fail_on_breach_fails_with_one_line_and_keeps_the_files(app_db, run_module, tmp_path):
    app_db.execute("INSERT INTO public.observability_logs (level, message) SELECT 'ERROR', 'x' FROM generate_series(1, 5)")
    result = watch(run_module, app_db, tmp_path, window=0, interval=60, sustain=0, fail_on_breach=True)
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("monitor window breached: error rate above 1.00% for 60 s")
    assert (tmp_path / "monitor.jsonl").exists() and (tmp_path / "monitor_summary.md").exists()


def test_one_sample_reads_connections_statements_tables_and_history(app_db, run_module, tmp_path):
    for attempt in range(3):
        app_db.execute("SELECT pg_sleep(%s)", (0.06 + attempt / 1000.0,))
    result = watch(run_module, app_db, tmp_path, window=0, interval=5, p95_budget_ms=50, breach_on=["p95"], sustain=0)
    assert not result.get("failed"), result.get("msg")
    assert len(result["samples"]) == 1
    sample = result["samples"][0]
    assert sample["connections"]["max_connections"] > 0 and sample["connections"]["total"] >= 1
    assert 0 < sample["connections"]["usage"] < 1
    slow = [s for s in result["slow_statements"] if "pg_sleep" in s["query"]]
    assert slow and slow[0]["p95_ms"] >= 50 and slow[0]["calls"] == 3
    assert result["breached"] is True and "slowest statement P95 above 50.0 ms" in result["reasons"][0]
    assert "observability_logs" in [t["table"] for t in result["tables"]]
    assert result["history_tail"][0]["version"] == "20251019090000"
    assert result["degraded"] == []
    assert result["changed"] is False


def test_missing_logs_table_and_pg_stat_statements_degrade_to_warnings(db, run_module, tmp_path):
    db.execute("DROP EXTENSION pg_stat_statements")
    before = db.schema_fingerprint()
    result = watch(run_module, db, tmp_path, window=1, interval=1)
    assert not result.get("failed"), result.get("msg")
    assert result["breached"] is False
    joined = " | ".join(result["degraded"])
    assert "observability_logs" in joined and "does not exist" in joined
    assert "pg_stat_statements is not installed" in joined
    statuses = dict((c["name"], c["status"]) for c in result["checks"])
    assert statuses["error rate"] == "warn" and statuses["slowest statement P95"] == "warn"
    assert statuses["connection usage"] == "ok"
    assert db.schema_fingerprint() == before


def test_pg_stat_statements_is_found_in_another_schema(db, run_module, tmp_path):
    db.execute("DROP EXTENSION pg_stat_statements; CREATE SCHEMA monitoring; "
               "CREATE EXTENSION pg_stat_statements WITH SCHEMA monitoring")
    db.execute("SELECT 1")
    result = watch(run_module, db, tmp_path, window=0, interval=1)
    assert not [w for w in result["degraded"] if w.startswith("p95")]
    assert result["samples"][0]["statements"]


def test_custom_error_rate_query(app_db, run_module, tmp_path):
    app_db.execute("CREATE TABLE public.requests (status int, at timestamptz DEFAULT now()); "
                   "INSERT INTO public.requests (status) SELECT CASE WHEN g <= 3 THEN 500 ELSE 200 END "
                   "FROM generate_series(1, 10) g")
    query = ("SELECT count(*) FILTER (WHERE status >= 500), count(*) FROM public.requests "
             "WHERE at > %(since)s AND at <= %(until)s")
    result = watch(run_module, app_db, tmp_path, window=0, interval=30, error_rate_query=query)
    assert result["samples"][0]["error_rate"] == {"errors": 3, "total": 10, "rate": 0.3}


@pytest.mark.parametrize("options, fragment", [
    (dict(error_rate_query="SELEC count(*) FROM x"), "error_rate_query failed: syntax error"),
    (dict(error_rate_query="SELECT 1"), "error_rate_query must return one row (errors, total)"),
    (dict(error_rate_query="SELECT 1, 2 WHERE 'a' LIKE '%a'"), "cannot take the %(since)s/%(until)s parameters"),
    (dict(interval=0), "interval must be > 0"),
    (dict(error_rate_rollback=5), "error_rate_rollback must be a fraction between 0 and 1"),
    (dict(basename="../evil"), "basename must be a plain file name"),
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
