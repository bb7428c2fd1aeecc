"""Exact percentiles and probe definitions (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import monitor, probes
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def accept(query, what):
    return query


def test_nearest_rank_percentiles_are_measured_values():
    values = list(range(1, 101))  # 1..100 ms
    assert [probes.percentile(values, q) for q in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert probes.percentile([7.0], 95) == 7.0 and probes.percentile([], 95) is None
    assert probes.percentile([3, 1, 2], 50) == 2  # order of arrival does not matter


@pytest.mark.parametrize("distribution, true_p95", [
    ([10.0] * 99 + [5000.0], 10.0),        # a mean+1.645 sd estimate says 877 ms
    ([10.0] * 90 + [600.0] * 10, 600.0),   # a mean+1.645 sd estimate says 360 ms
])
def test_p95_of_skewed_latencies_is_exact_where_the_normal_estimate_is_not(distribution, true_p95):
    assert probes.latency_summary(distribution)["p95_ms"] == true_p95


def test_latency_summary_of_nothing_is_null_not_zero():
    assert probes.latency_summary([]) == {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None,
                                          "min_ms": None, "max_ms": None, "mean_ms": None}


def test_summarize_calls_keeps_every_latency_and_leaves_failed_calls_out_of_the_percentiles():
    calls = ([{"due": i, "latency_ms": 10.0 + i, "status": "ok", "error": None} for i in range(18)]
             + [{"due": 18, "latency_ms": 300.0, "status": "timeout", "error": "timed out after 0.3 s"},
                {"due": 19, "latency_ms": 1.0, "status": "error", "error": "permission denied", "skipped": 2}])
    out = probes.summarize_calls(calls)
    assert out["calls"] == 20 and out["ok"] == 18 and out["timeouts"] == 1 and out["errors"] == 1
    assert out["skipped"] == 2 and out["count"] == 19 and len(out["latencies_ms"]) == 19
    assert out["p50_ms"] == 19.0 and out["p95_ms"] == 300.0  # the timeout is a (slow) latency; the error is not
    assert out["error_lines"] == ["timed out after 0.3 s", "permission denied"]


def test_probes_take_the_verify_roles_rpc_functions_and_queries():
    parsed = probes.parse_probes([
        "get_inventory_summary",
        {"name": "revenue", "function": "public.get_revenue_metrics",
         "args": [{"sql": "now() - interval '7 days'"}, {"sql": "now()"}], "budget": 0.3, "calls": 3},
        {"name": "count", "function": "api.count_for", "args": [3, "x"], "role": "anon", "claims": {"sub": "u1"}},
        {"name": "tiles", "query": "SELECT count(*) FROM public.dashboard_tiles;", "role": "service_role"},
    ], monitor.guard_query, default_budget=0.5)
    assert [p["name"] for p in parsed] == ["get_inventory_summary", "revenue", "count", "tiles"]
    assert [p["kind"] for p in parsed] == ["rpc", "rpc", "rpc", "query"]
    assert [p["budget_ms"] for p in parsed] == [500.0, 300.0, 500.0, 500.0]
    assert parsed[1]["call"] == "public.get_revenue_metrics(now() - interval '7 days', now())"
    assert parsed[2]["params"] == [3, "x"] and parsed[2]["role"] == "anon" and parsed[2]["claims"] == {"sub": "u1"}
    assert parsed[3]["query"] == "SELECT count(*) FROM public.dashboard_tiles" and parsed[3]["params"] is None


def test_every_query_goes_through_the_guard():
    seen = []

    def refuse(query, what):
        seen.append((query, what))
        raise InvalidInput("%s is not read-only" % what)

    with pytest.raises(InvalidInput, match="probe 'wipe' is not read-only"):
        probes.parse_probes(["f", {"name": "wipe", "query": "DELETE FROM t"}], refuse)
    assert seen == [("DELETE FROM t", "probe 'wipe'")]


@pytest.mark.parametrize("specs, fragment", [
    ([7], "probes[0] must be a function name or a dict"),
    ([{"query": "SELECT 1", "timeout": 3}], "probes[0] has unknown key(s) timeout"),
    ([{"function": "f"}], "every function needs a name"),
    ([{"name": "f", "args": "x"}], "args must be a list"),
    ([{"name": "f", "function": "a.b.c"}], "must be 'name' or 'schema.name'"),
    (["f", {"name": "f", "function": "public.g"}], "probe name 'f' is used twice"),
    # A query probe's settings are a check's: none may switch the role or the read-only mode.
    ([{"name": "q", "query": "SELECT 1", "settings": {"role": "postgres"}}], "probe 'q': setting 'role' is refused"),
    ([{"name": "q", "query": "SELECT 1", "settings": {"Transaction_Read_Only": "off"}}],
     "probe 'q': setting 'Transaction_Read_Only' is refused"),
    ([{"name": "q", "query": "SELECT 1", "role": ["anon"]}], "probe 'q': role must be a role name"),
    ([{"name": "q", "query": "SELECT 1", "claims": "sub=1"}], "probe 'q': claims must be a dict"),
])
def test_bad_probe_definitions_are_one_line_errors(specs, fragment):
    with pytest.raises(InvalidInput) as err:
        probes.parse_probes(specs, accept)
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(rate=0), "probe_rate must be between 0 and 50"),
    (dict(timeout=0), "probe_timeout must be > 0"),
    (dict(jwt_claims="sub=1"), "probe_jwt_claims must be a dict"),
])
def test_bad_probe_options(kwargs, fragment):
    with pytest.raises(InvalidInput, match=fragment.replace("(", r"\(")):
        probes.ProbeOptions(**kwargs)
