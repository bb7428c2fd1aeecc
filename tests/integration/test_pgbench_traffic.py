"""The pgbench traffic generator the live-workload tests drive the monitor with: the dashboard's RPCs at a fixed
rate, each logging one row, every Nth an ERROR (exactly), optionally only while a condition holds."""
import time

import pgbench_traffic


def test_pgbench_plays_the_dashboard_with_an_exact_error_rate(hotdash):
    traffic = pgbench_traffic.Traffic(hotdash.url, seconds=30, rate=200, clients=2, error_every=50)
    argv, env, dbname = pgbench_traffic.connection(hotdash.url)
    assert env["PGPASSWORD"] == hotdash.password and "@" not in " ".join(argv) and dbname == hotdash.name
    with traffic:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (hotdash.scalar(
                "SELECT count(*) FROM public.observability_logs WHERE source = 'pgbench'") or 0) < 150:
            time.sleep(0.1)
    assert traffic.output.startswith("pgbench"), traffic.output
    rows = dict(hotdash.query("SELECT level, count(*) FROM public.observability_logs WHERE source = 'pgbench' GROUP BY 1"))
    total = sum(rows.values())
    assert total >= 150 and rows.get("ERROR", 0) == total // 50  # 2 %, not about 2 %


def test_errors_start_only_when_the_condition_holds(hotdash):
    with pgbench_traffic.Traffic(hotdash.url, seconds=30, rate=200, clients=1, error_every=2,
                                 error_when="to_regclass('public.release_marker') IS NOT NULL") as traffic:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (hotdash.scalar(
                "SELECT count(*) FROM public.observability_logs WHERE source = 'pgbench'") or 0) < 40:
            time.sleep(0.1)
        before = hotdash.scalar("SELECT count(*) FROM public.observability_logs WHERE level = 'ERROR' AND source = 'pgbench'")
        hotdash.execute("CREATE TABLE public.release_marker ()")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not hotdash.scalar(
                "SELECT count(*) FROM public.observability_logs WHERE level = 'ERROR' AND source = 'pgbench'"):
            time.sleep(0.1)
    assert traffic.proc is None and before == 0
    assert hotdash.scalar("SELECT count(*) FROM public.observability_logs WHERE level = 'ERROR' AND source = 'pgbench'") > 0
