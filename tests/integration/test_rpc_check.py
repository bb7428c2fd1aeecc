"""rpc_check against real PostgreSQL: the runbook's functions, one that raises, one over budget, one missing."""
import pytest

RUNBOOK = [
    {"name": "get_revenue_metrics", "args": [{"sql": "now() - interval '7 days'"}, {"sql": "now()"}],
     "expect_columns": ["segments", "customers", "revenue"], "expect": "segments == 3 and customers == 485"},
    {"name": "get_inventory_summary", "role": "authenticated", "expect": "not null"},
    {"name": "public.get_approvals_pending_count", "role": "authenticated", "expect": "value == 2"},
]


def rpc(hotdash, run_module, functions, **extra):
    # Budgets in the passing tests are generous: they test the mechanism, not the machine's speed.
    args = dict(hotdash.connection_args(), functions=functions, budget=10)
    args.update(extra)
    return run_module("rpc_check", args)


def test_runbook_functions_pass(hotdash, run_module, by_name):
    result = rpc(hotdash, run_module, RUNBOOK)
    assert result["passed"] is True and result["changed"] is False, result["checks"]
    check = by_name(result)["rpc: get_revenue_metrics"]
    assert check["data"]["columns"] == ["segments", "customers", "revenue"]
    assert len(check["data"]["timings_ms"]) == 3
    assert "segments=3, customers=485" in check["detail"]


def test_wrong_value_or_shape_fails(hotdash, run_module, by_name):
    result = by_name(rpc(hotdash, run_module, [
        {"name": "get_approvals_pending_count", "expect": "value == 5"},
        {"name": "get_revenue_metrics", "args": ["2025-01-01T00:00:00Z", "2100-01-01T00:00:00Z"],
         "expect_columns": ["segments", "churn"]}]))
    assert result["rpc: get_approvals_pending_count"]["detail"].startswith("value=2 (expected value == 5)")
    assert result["rpc: get_revenue_metrics"]["detail"].startswith("missing column(s) churn")
    assert result["rpc: get_approvals_pending_count"]["data"]["failing"] == ["expect"]
    assert result["rpc: get_revenue_metrics"]["data"]["failing"] == ["columns"]


def test_function_that_raises_fails(hotdash, run_module, by_name):
    hotdash.execute("create function public.get_broken() returns int language plpgsql as "
                    "$$ begin raise exception 'tile source unavailable'; end $$")
    result = rpc(hotdash, run_module, ["get_broken"])
    check = by_name(result)["rpc: get_broken"]
    assert result["passed"] is False
    assert check["detail"] == "raised: tile source unavailable (SQLSTATE P0001)"
    assert check["data"] == {"failing": ["SQLSTATE P0001"]}


def test_function_over_budget_warns_unless_made_to_fail(hotdash, run_module, by_name):
    # The runbook's 500 ms is a target: an overrun warns; an inventory can make it fail (and so a trigger).
    hotdash.execute("create function public.get_slow() returns int language sql as 'select 1 from pg_sleep(0.2)'")
    result = rpc(hotdash, run_module, [{"name": "get_slow", "budget": 0.05, "calls": 1}])
    check = by_name(result)["rpc: get_slow"]
    assert result["passed"] is True and check["status"] == "warn" and check["detail"].startswith("over budget: ")
    assert check["data"]["median_ms"] >= 200 and check["data"]["over_budget"] is True
    failed = rpc(hotdash, run_module, [{"name": "get_slow", "budget": 0.05, "calls": 1}], budget_status="fail")
    assert failed["passed"] is False and failed["checks"][0]["status"] == "fail"
    own = rpc(hotdash, run_module, [{"name": "get_slow", "budget": 0.05, "calls": 1, "budget_status": "warn"}],
              budget_status="fail")
    assert own["passed"] is True and own["checks"][0]["status"] == "warn"


def test_missing_function_and_writing_function_fail(hotdash, run_module, by_name):
    hotdash.execute("create function public.bump() returns void language sql as "
                    "'update public.customer_segments set customers = customers + 1'")
    result = by_name(rpc(hotdash, run_module, ["get_nothing", "bump"]))
    assert result["rpc: get_nothing"]["detail"].startswith("function get_nothing() does not exist (SQLSTATE 42883)")
    assert result["rpc: get_nothing"]["data"]["failing"] == ["SQLSTATE 42883"]
    assert "read-only transaction" in result["rpc: bump"]["detail"]
    assert hotdash.scalar("select sum(customers) from public.customer_segments") == 485


@pytest.mark.parametrize("functions,message", [
    ([{"name": "x; drop table public.agents"}], "must be 'name' or 'schema.name'"),
    ([{"name": "f", "args": [{"sql": "1); drop table public.agents; select (1"}]}],
     "function 'f' argument 1: PostgreSQL reads 3 statements here (SELECT, DROP TABLE, SELECT)"),
    ([{"args": []}], "every function needs a name"),
])
def test_bad_input_fails_cleanly(hotdash, run_module, functions, message):
    before = hotdash.schema_fingerprint()
    result = rpc(hotdash, run_module, functions)
    assert result["failed"] is True and message in result["msg"] and "\n" not in result["msg"]
    assert hotdash.schema_fingerprint() == before
