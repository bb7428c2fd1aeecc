"""The monitor proved on a live workload, through the real apply_staging.yml.

pgbench plays the dashboard (the runbook's three RPCs, each request logging one row to observability_logs) while
the playbook runs. The release drops the index an RPC's query uses, and from the moment it is gone every 50th
request logs an ERROR (2 %). In the same run the probes see the RPC's P95 over its budget, the error-rate trigger
(the alert rule, on a scaled watch) breaches, and the playbook rolls the release back: the index is there again.
"""
import json
import os
import sys

import pgbench_traffic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import (NEW_VERSION, add_migration, approval_vars, baseline, copy_example,  # noqa: E402
                                   history_versions, run_playbook, table_counts, write_inventory)

RELEASE = "20251020090000"
INDEX = "public.tile_events_tile_id_idx"
# A dashboard RPC whose lookup an expression index serves: with it a few rows are read, without it every row's
# md5 is computed (hundreds of milliseconds), so the budget sits far from both.
TILE_EVENTS = """
CREATE TABLE public.tile_events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tile_id int NOT NULL);
INSERT INTO public.tile_events (tile_id) SELECT g % 5000 FROM generate_series(1, 500000) g;
CREATE INDEX tile_events_tile_id_idx ON public.tile_events (md5(tile_id::text));
ANALYZE public.tile_events;
CREATE FUNCTION public.get_tile_event_count(p_tile int) RETURNS bigint LANGUAGE sql STABLE
  SET max_parallel_workers_per_gather = 0
  AS $$ SELECT count(*) FROM public.tile_events WHERE md5(tile_id::text) = md5(p_tile::text) $$;
ALTER TABLE public.tile_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tile_events_read ON public.tile_events FOR SELECT TO authenticated USING (true);
GRANT SELECT ON public.tile_events TO authenticated;
GRANT EXECUTE ON FUNCTION public.get_tile_event_count(int) TO authenticated;
"""
BUDGET_MS = 100.0
PROBES = [{"name": "tile events", "function": "get_tile_event_count", "args": [7], "budget": BUDGET_MS / 1000.0},
          "get_inventory_summary"]
PROBE_CHECK = "probe tile events P95"


def _monitor_report(run):
    run_dir = [d for d in run.run_dirs() if os.path.basename(d).startswith("staging_")][-1]
    with open(os.path.join(run_dir, "stg1", "monitor.json")) as handle:
        return dict((c["name"], c) for c in json.load(handle)["checks"])


def test_a_release_that_slows_an_rpc_and_errors_at_two_percent_is_seen_and_rolled_back(make_db, run_module, tmp_path):
    project = copy_example(tmp_path)
    add_migration(project, RELEASE, "drop_tile_events_index", "drop index %s;\n" % INDEX,
                  down_sql="create index if not exists tile_events_tile_id_idx on public.tile_events (md5(tile_id::text));\n")
    stg = make_db("stg")
    baseline(run_module, stg, project)
    stg.execute(TILE_EVENTS)
    before = (history_versions(stg), table_counts(stg))
    # Before the release the same probe is within its budget.
    healthy = run_module("monitor_sample", {"db_url": stg.url, "output_dir": str(tmp_path / "before"), "window": 1,
                                            "interval": 0.5, "probes": PROBES, "probe_rate": 5, "chart": False})
    assert healthy["probes"]["tile events"]["p95_ms"] < BUDGET_MS, healthy["probes"]
    assert PROBE_CHECK not in [w["reason"].split(" < ")[0] for w in healthy["run_warnings"]]

    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)}, project=project)
    watch = {"supabase_monitor_window": 12, "supabase_monitor_interval": 1, "supabase_monitor_rate_window": 3,
             "supabase_monitor_sustain": 3, "supabase_monitor_probes": PROBES, "supabase_monitor_probe_rate": 4}
    with pgbench_traffic.Traffic(stg.url, seconds=400, rate=100, clients=2, error_every=50,
                                 error_when="to_regclass('%s') IS NULL" % INDEX) as traffic:
        run = run_playbook(tmp_path, "apply_staging", inventory, dict(approval_vars(), **watch))
    assert traffic.output.startswith("pgbench"), traffic.output

    assert run.rc != 0, run
    failure = [line for line in run.output.splitlines() if "stg1: FAILED (monitor" in line]
    assert failure, run
    assert "error rate above 1.00% over the trailing 3 s" in failure[0]
    assert "rolled back %s, %s (succeeded)" % (RELEASE, NEW_VERSION) in failure[0]
    peak = float(failure[0].split("peak ")[1].split("%")[0])
    assert 1.5 <= peak <= 3.0, failure[0]  # pgbench's 2 %, measured
    checks = _monitor_report(run)
    assert checks["error rate trigger"]["status"] == "fail"
    # The same run's probes saw the slow RPC: P95 over its budget (a warning; the trigger is the error rate).
    assert checks[PROBE_CHECK]["status"] == "warn", checks[PROBE_CHECK]
    assert float(checks[PROBE_CHECK]["detail"].split("P95 ")[1].split(" ms")[0]) >= BUDGET_MS
    assert checks["probe get_inventory_summary P95"]["status"] == "ok"
    assert (history_versions(stg), table_counts(stg)) == before
    assert stg.scalar("SELECT to_regclass(%s) IS NOT NULL", (INDEX,))
    errors = stg.scalar("SELECT count(*) FROM public.observability_logs WHERE level = 'ERROR' AND source = 'pgbench'")
    assert errors > 0
