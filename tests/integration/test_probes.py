"""Probes against real PostgreSQL: fixed rate, every latency kept, read-only, as the application role, timeouts."""
import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import probes

SETUP = """
CREATE TABLE public.probe_log (id serial PRIMARY KEY, at timestamptz DEFAULT now());
CREATE TABLE public.probe_secret (id int);
CREATE FUNCTION public.probe_sleep(ms int) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN PERFORM pg_sleep(ms / 1000.0); RETURN ms; END $$;
CREATE FUNCTION public.probe_write() RETURNS void LANGUAGE sql VOLATILE AS $$ INSERT INTO public.probe_log DEFAULT VALUES $$;
GRANT EXECUTE ON FUNCTION public.probe_sleep(int), public.probe_write() TO authenticated;
GRANT SELECT, INSERT ON public.probe_log TO authenticated;
GRANT USAGE ON SEQUENCE public.probe_log_id_seq TO authenticated;
REVOKE ALL ON public.probe_secret FROM PUBLIC, anon, authenticated;
"""


def accept(query, what):
    return query


@pytest.fixture
def probe_db(db):
    db.execute(SETUP)
    return db


def run(db, specs, seconds, **options):
    runner = probes.ProbeRunner(probes.parse_probes(specs, accept), db.settings(), probes.ProbeOptions(**options))
    with runner:
        time.sleep(seconds)
    return runner.collect()


def test_calls_at_a_fixed_rate_keep_every_latency(probe_db):
    calls = run(probe_db, [{"name": "sleepy", "function": "probe_sleep", "args": [20]}], 1.0, rate=10)["sleepy"]
    assert len(calls) >= 5 and all(c["status"] == "ok" for c in calls), calls
    # Due times sit on the fixed schedule (every 1/rate seconds), not wherever the previous call ended.
    assert [round(c["due"] * 10) / 10.0 for c in calls] == [c["due"] for c in calls]
    assert calls[0]["due"] == 0.0 and len(set(c["due"] for c in calls)) == len(calls)
    summary = probes.summarize_calls(calls)
    assert len(summary["latencies_ms"]) == len(calls) and min(summary["latencies_ms"]) >= 20.0
    assert summary["p95_ms"] == round(probes.percentile([c["latency_ms"] for c in calls], 95), 3)


def test_a_call_due_while_the_previous_one_runs_is_skipped_not_queued(probe_db):
    calls = run(probe_db, [{"name": "slow", "function": "probe_sleep", "args": [150]}], 1.0, rate=20)["slow"]
    summary = probes.summarize_calls(calls)
    assert summary["skipped"] >= len(calls) and min(summary["latencies_ms"]) >= 150.0
    assert max(summary["latencies_ms"]) < 1000.0  # each latency is one call, never a backlog


def test_probes_run_as_the_application_role(probe_db):
    calls = run(probe_db, [
        {"name": "who", "query": "SELECT 1 / (current_user = 'authenticated')::int"},
        {"name": "secret", "query": "SELECT count(*) FROM public.probe_secret"},
        {"name": "claims", "query": "SELECT 1 / ((current_setting('request.jwt.claims')::jsonb ->> 'sub') = 'u1')::int"},
    ], 0.3, jwt_claims={"sub": "u1", "role": "authenticated"})
    assert [c["status"] for c in calls["who"]][:1] == ["ok"]
    assert [c["status"] for c in calls["claims"]][:1] == ["ok"]
    assert calls["secret"][0]["status"] == "error" and "permission denied" in calls["secret"][0]["error"]


def test_a_probe_cannot_write(probe_db):
    before = probe_db.scalar("SELECT count(*) FROM public.probe_log")
    calls = run(probe_db, ["probe_write",
                           {"name": "query", "query": "INSERT INTO public.probe_log DEFAULT VALUES"}], 0.3)
    for name in ("probe_write", "query"):
        assert calls[name][0]["status"] == "error"
        assert "read-only transaction" in calls[name][0]["error"]
    assert probe_db.scalar("SELECT count(*) FROM public.probe_log") == before


def test_a_call_over_its_timeout_is_cancelled_and_counted_with_its_latency(probe_db):
    started = time.monotonic()
    calls = run(probe_db, [{"name": "stuck", "function": "probe_sleep", "args": [5000]}], 0.2, timeout=0.4)["stuck"]
    assert time.monotonic() - started < 4.5  # the 5 s call did not run to its end
    assert calls and calls[0]["status"] == "timeout" and calls[0]["error"] == "timed out after 0.4 s"
    assert 400.0 <= calls[0]["latency_ms"] < 5000.0
    assert not probe_db.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%%probe_sleep%%' "
                               "AND pid <> pg_backend_pid() AND state = 'active'")
