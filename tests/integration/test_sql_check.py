"""sql_check against real PostgreSQL: the annotated runbook file, orphan specs, missing tables, read-only."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
CHECK_FILE = os.path.join(EXAMPLE, "docs", "runbooks", "data_integrity_checks.sql")
ORPHANS = {"name": "approvals without agent",
           "orphans": {"table": "agent_approvals", "column": "agent_id", "references": "agents.id"}}


def test_runbook_checks_pass(hotdash, run_module, by_name):
    result = run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE], checks=[ORPHANS]))
    checks = by_name(result)
    assert result["passed"] is True and result["changed"] is False, result["checks"]
    assert checks["approvals without agent"]["detail"] == "value=0 (expected value == 0)"
    assert checks["error rate since the apply started"]["detail"] == "value=0.004 (expected value < 0.005)"
    # The runbook's known issue: decision_sync_event_logs does not exist.
    assert checks["decision sync events reference a decision"]["status"] == "skipped"
    assert checks["decision sync events reference a decision"]["detail"] == "table missing: decision_sync_event_logs"


def test_orphan_row_fails_with_its_key(hotdash, run_module, by_name):
    hotdash.execute("insert into public.agent_approvals (agent_id, action) "
                    "values ('00000000-0000-0000-0000-00000000dead', 'ghost')")
    result = run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE], checks=[ORPHANS]))
    checks = by_name(result)
    assert result["passed"] is False
    assert checks["approvals without agent"]["detail"] == (
        "value=1 (expected value == 0); e.g. 00000000-0000-0000-0000-00000000dead")
    assert checks["agent_approvals without agent"]["status"] == "fail"
    assert checks["agent_approvals without agent"]["remedy"].startswith("restore the missing agents")
    assert hotdash.scalar("select count(*) from public.agent_approvals") == 4


def test_missing_table_fails_when_configured(hotdash, run_module, by_name):
    hotdash.execute("drop table public.observability_logs")
    result = run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE],
                                          on_missing_table="fail"))
    check = by_name(result)["error rate since the apply started"]
    assert result["passed"] is False
    assert check["status"] == "fail" and check["detail"] == "table missing: observability_logs"


def test_error_rate_is_measured_since_the_moment_given(hotdash, run_module, by_name):
    # A day of 1 % errors before the apply, a clean stretch after it: the release's error rate is 0.
    hotdash.execute("insert into public.observability_logs (level, source, message, created_at) "
                    "select case when g % 100 = 0 then 'ERROR' else 'INFO' end, 'old', 'x', now() - interval '20 hours' "
                    "from generate_series(1, 10000) g")
    started = hotdash.scalar("select (now() - interval '1 minute')::text")
    everything = by_name(run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE])))
    check = everything["error rate since the apply started"]
    assert check["status"] == "warn" and check["detail"].startswith("value=0.0097")  # -infinity: every row
    since = by_name(run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE], since=started)))
    assert since["error rate since the apply started"]["detail"] == "value=0.004 (expected value < 0.005)"
    window = by_name(run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE], window=600)))
    assert window["error rate since the apply started"]["status"] == "ok"
    both = run_module("sql_check", dict(hotdash.connection_args(), check_files=[CHECK_FILE], since=started, window=60))
    assert both["failed"] and "mutually exclusive" in both["msg"] and "\n" not in both["msg"]


def test_a_check_names_the_rollback_trigger_it_stands_for(hotdash, run_module, by_name):
    hotdash.execute("create table public.support_tickets (id int, customer_facing bool, created_at timestamptz "
                    "default now())")
    hotdash.execute("insert into public.support_tickets values (1, true, now())")
    checks = [{"name": "customer-facing errors reported", "trigger": "customer_errors", "tables": ["support_tickets"],
               "query": "select id from public.support_tickets where customer_facing "
                        "and created_at >= current_setting('hotdash.since')::timestamptz"}]
    check = by_name(run_module("sql_check", dict(hotdash.connection_args(), checks=checks)))[
        "customer-facing errors reported"]
    assert check["status"] == "fail" and check["trigger_kind"] == "customer_errors"
    bad = run_module("sql_check", dict(hotdash.connection_args(), checks=[dict(checks[0], trigger="outage")]))
    assert bad["failed"] and bad["msg"].startswith("check 'customer-facing errors reported': trigger must be one of")


def test_warn_severity_and_value_expectations(hotdash, run_module, by_name):
    checks = [{"name": "too many errors", "query": "select count(*) from public.observability_logs where level = 'ERROR'",
               "expect": "value < 1", "severity": "warn"},
              {"name": "revenue present", "query": "select sum(revenue) as revenue from public.customer_segments",
               "expect": "revenue > 0 and not null"}]
    result = by_name(run_module("sql_check", dict(hotdash.connection_args(), checks=checks)))
    assert result["too many errors"]["status"] == "warn"
    assert result["revenue present"]["status"] == "ok"


def test_checks_run_read_only(hotdash, run_module, by_name):
    # A DELETE is refused by the guard before anything runs ...
    checks = [{"name": "sneaky", "query": "delete from public.agents returning id", "expect": "rows == 0"}]
    result = run_module("sql_check", dict(hotdash.connection_args(), checks=checks))
    assert result["failed"] and result["msg"].startswith("integrity check 'sneaky': DELETE is refused: a read-only check")
    # ... and one hidden in a function, which no parser sees, meets the read-only transaction.
    hotdash.execute("create function public.sneaky() returns bigint language sql as "
                    "$$ delete from public.agents returning 1 $$")
    checks = [{"name": "hidden", "query": "select public.sneaky()", "expect": "rows == 0"}]
    check = by_name(run_module("sql_check", dict(hotdash.connection_args(), checks=checks)))["hidden"]
    assert check["status"] == "fail"
    assert check["detail"] == "cannot execute DELETE in a read-only transaction (SQLSTATE 25006)"
    assert hotdash.scalar("select count(*) from public.agents") == 3


@pytest.mark.parametrize("extra,message", [
    ({"checks": [{"name": "x", "query": "select 1; commit; delete from public.agents"}]},
     "integrity check 'x': PostgreSQL reads 3 statements here (SELECT, COMMIT, DELETE); a check runs exactly one "
     "statement"),
    ({"checks": [{"name": "x", "orphans": {"table": "agent_approvals", "column": "agent_id", "references": "agents"}}]},
     "must be 'table.column' or 'schema.table.column'"),
    ({"check_files": ["/nonexistent/checks.sql"]}, "cannot read check file /nonexistent/checks.sql"),
    ({"checks": [{"name": "x", "query": "select 1", "severity": "fatal"}]}, "severity must be one of fail, warn"),
])
def test_bad_input_fails_cleanly_and_changes_nothing(hotdash, run_module, extra, message):
    before = hotdash.schema_fingerprint()
    result = run_module("sql_check", dict(hotdash.connection_args(), **extra))
    assert result["failed"] is True
    assert message in result["msg"] and "\n" not in result["msg"]
    assert hotdash.schema_fingerprint() == before
    assert hotdash.scalar("select count(*) from public.agents") == 3
