"""supabase inspect db output as data: report names, JSON shapes, failure classes, checks."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import inspect as db_inspect
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import CliResult, parse_json_output
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput


def test_reports_are_validated_and_deduplicated():
    assert db_inspect.validate_reports(["locks", "blocking", "locks"]) == ["locks", "blocking"]
    with pytest.raises(InvalidInput) as info:
        db_inspect.validate_reports(["locks", "cache-hits"])
    assert "unknown inspect report(s) cache-hits" in str(info.value)
    with pytest.raises(InvalidInput):
        db_inspect.validate_reports([])


def test_rows_come_from_the_cli_json_document():
    stdout = '{"rows":[{"pid":1,"relname":"null"}],"message":"inspect db locks"}'
    assert db_inspect.parse_report(parse_json_output(stdout), stdout) == [{"pid": 1, "relname": "null"}]
    with pytest.raises(CliError) as info:
        db_inspect.parse_report(None, "Connecting to remote database...\nsome table")
    assert "printed no JSON rows" in str(info.value) and "\n" not in str(info.value)


def _failure(message, code="DbExecError"):
    stdout = '{"_tag":"Error","error":{"code":"%s","message":%s}}' % (code, __import__("json").dumps(message))
    return CliResult(1, stdout, "Connecting to remote database...\n", parse_json_output(stdout))


def test_failures_are_classified():
    kind, reason = db_inspect.classify_failure(
        _failure('ERROR: relation "extensions.pg_stat_statements" does not exist (SQLSTATE 42P01)'))
    assert kind == "missing" and "pg_stat_statements" in reason
    kind, reason = db_inspect.classify_failure(
        _failure("failed to connect to postgres: password authentication failed (SQLSTATE 28P01)", "DbConnectError"))
    assert kind == "connection"
    assert db_inspect.classify_failure(
        _failure("ERROR: canceling statement due to statement timeout (SQLSTATE 57014)"))[0] == "timeout"
    assert db_inspect.classify_failure(_failure("ERROR: division by zero (SQLSTATE 22012)"))[0] == "other"


def test_statement_timeout_goes_to_libpq_options_of_a_copy():
    from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
    settings = ConnectionSettings.from_url("postgresql://u:p@h:5432/d?options=-c%20search_path%3Dx")
    limited = db_inspect.with_statement_timeout(settings, 2.5)
    assert limited.options["options"] == "-c search_path=x -c statement_timeout=2500"
    assert settings.options["options"] == "-c search_path=x"
    assert "options" not in db_inspect.with_statement_timeout(ConnectionSettings(), 0).options


def test_statement_texts_are_one_line_bounded_and_redacted():
    rows = db_inspect.shorten_rows([{"query": "SELECT\n  1 -- pw-xyz\n" + "x" * 400, "pid": 3}], secrets=["pw-xyz"])
    assert "\n" not in rows[0]["query"] and "pw-xyz" not in rows[0]["query"]
    assert len(rows[0]["query"]) == 200 and rows[0]["pid"] == 3


def test_checks_warn_on_blocking_and_long_running_and_skip_missing():
    checks = db_inspect.inspect_checks(
        {"blocking": [{"blocked_pid": 2}], "long-running-queries": [], "outliers": None,
         "db-stats": [{"database_size": "8 MB", "index_hit_rate": "0.99", "table_hit_rate": "0.98"}]},
        ["outliers: not available here (relation missing)"])
    by_name = dict((c["name"], c) for c in checks)
    assert by_name["inspect blocking"]["status"] == "warn" and by_name["inspect blocking"]["remedy"]
    assert by_name["inspect long-running-queries"]["status"] == "ok"
    assert by_name["inspect outliers"]["status"] == "skipped"
    assert "relation missing" in by_name["inspect outliers"]["detail"]
    assert "8 MB" in by_name["inspect db-stats"]["detail"]


def test_statement_text_that_mentions_a_password_is_hidden_whole():
    rows = db_inspect.shorten_rows([{"query": "ALTER ROLE app PASSWORD E'hunter2'", "calls": 3},
                                    {"stmt": "select 1"}])
    assert rows[0]["query"] == "[statement text hidden: it mentions a password or secret]" and rows[0]["calls"] == 3
    assert rows[1]["stmt"] == "select 1"
