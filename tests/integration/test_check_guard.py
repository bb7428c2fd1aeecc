"""Checks that promise read-only cannot write: every bypass class of the guard, against the real modules.

Each test gives a module SQL that the CLI-compatible splitter (the old guard) took for one harmless statement,
or that slipped past it in another way, and asserts what a user relies on: the victim table keeps its rows,
no table appears, no sequence moves, no file is written on the server, and the refusal is one line that names
the check and the statement kind.
"""
import os
import uuid

import pytest

# What the CLI-compatible splitter reads as ONE statement while PostgreSQL runs three.
HIDDEN_COMMIT = {
    "comment depth": "select 1 as x /* /* */* */; commit; insert into public.victim (note) values ('kept'); -- */",
    "comment and parenthesis": "select 1 as x /*/ ( */; commit; insert into public.victim (note) values ('kept')",
    "begin atomic": "with begin as (select 1 as x) select * from begin atomic; commit; "
                    "insert into public.victim (note) values ('kept')",
}


@pytest.fixture
def victim(db):
    """``db`` with public.victim (two rows) that anon may read but not write, and a function that writes to it."""
    db.execute("create table public.victim (id serial primary key, note text not null);"
               "insert into public.victim (note) values ('a'), ('b');"
               "grant select on public.victim to anon, authenticated;"
               "create function public.echo(x int) returns int language sql as 'select x';"
               "create function public.sneaky_write() returns bigint language sql as "
               "$$ insert into public.victim (note) values ('function') returning id $$;")
    return db


def state(db):
    """What must not change: the victim's rows, the sequence behind it, the tables and the extensions."""
    return (db.query("select id, note from public.victim order by id"),
            db.scalar("select last_value from public.victim_id_seq"),
            db.schema_fingerprint(),
            db.query("select extname from pg_extension order by 1"))


def refused(result, message):
    assert result.get("failed") is True, result
    assert message in result["msg"], result["msg"]
    assert "\n" not in result["msg"] and "Traceback" not in result["msg"]


@pytest.mark.parametrize("trick", sorted(HIDDEN_COMMIT))
def test_integrity_query_cannot_hide_a_commit(victim, run_module, trick):
    before = state(victim)
    result = run_module("sql_check", dict(victim.connection_args(), checks=[
        {"name": "sneaky", "query": HIDDEN_COMMIT[trick], "expect": "rows == 1"}]))
    refused(result, "integrity check 'sneaky': PostgreSQL reads 3 statements here (SELECT, COMMIT, INSERT); "
                    "a check runs exactly one statement")
    assert state(victim) == before


@pytest.mark.parametrize("trick", sorted(HIDDEN_COMMIT))
def test_rls_scenario_run_as_anon_cannot_hide_a_commit(victim, run_module, trick):
    before = state(victim)
    result = run_module("rls_check", dict(victim.connection_args(), environment="staging", schemas=["public"], scenarios=[
        {"name": "anon sees nothing", "role": "anon", "query": HIDDEN_COMMIT[trick], "expect": "rows == 1"}]))
    refused(result, "RLS scenario 'anon sees nothing': PostgreSQL reads 3 statements here (SELECT, COMMIT, INSERT)")
    assert state(victim) == before


def test_rls_scenario_cannot_switch_its_role_in_sql(victim, run_module):
    before = state(victim)
    result = run_module("rls_check", dict(victim.connection_args(), environment="staging", schemas=["public"], scenarios=[
        {"name": "anon", "role": "anon", "expect": "rows == 0",
         "query": "select set_config('role', 'postgres', true), * from public.victim where false"}]))
    refused(result, "RLS scenario 'anon': set_config('role') is refused: the check's role is declared with its role "
                    "option, not switched in SQL")
    assert state(victim) == before


def test_rpc_sql_argument_cannot_break_out_of_its_parentheses(victim, run_module):
    before = state(victim)
    result = run_module("rpc_check", dict(victim.connection_args(), functions=[
        {"name": "echo", "args": [{"sql": "1)) /*/ ( */; commit; insert into public.victim select 100, 'rpc'; "
                                          "select ((1"}], "expect": "value == 1"}]))
    refused(result, "function 'echo' argument 1: PostgreSQL's parser cannot read it")
    assert state(victim) == before


@pytest.mark.parametrize("trick", sorted(HIDDEN_COMMIT))
def test_a_line_of_a_sql_test_file_cannot_hide_a_commit(victim, run_module, tmp_path, trick):
    path = tmp_path / "rls_tests.sql"
    path.write_text("begin;\nselect 1;\n%s;\nrollback;\n" % HIDDEN_COMMIT[trick])
    before = state(victim)
    result = run_module("rls_check", dict(victim.connection_args(), environment="staging", schemas=["public"],
                                          test_files=[str(path)]))
    refused(result, "test file %s: COMMIT (statement 4, line 3) is refused: transaction control" % path)
    assert state(victim) == before


@pytest.mark.parametrize("statements,role,message", [
    (["commit", "insert into public.victim (note) values ('smoke')"], "service_role",
     "smoke write 'sneaky' statement 1: COMMIT is refused: transaction control"),
    # anon may not insert: after a COMMIT the insert would run as the login role.
    (["commit", "insert into public.victim (note) values ('smoke')"], "anon",
     "smoke write 'sneaky' statement 1: COMMIT is refused"),
    (["insert into public.victim (note) values ('x')", "savepoint s", "release s"], "service_role",
     "smoke write 'sneaky' statement 2: SAVEPOINT is refused"),
    (["insert into public.victim (note) values ('x') /*/ ( */; commit; insert into public.victim (note) values ('y')"],
     "service_role", "smoke write 'sneaky': PostgreSQL reads 3 statements here (INSERT, COMMIT, INSERT)"),
    (["set local role postgres", "insert into public.victim (note) values ('x')"], "anon",
     "smoke write 'sneaky' statement 1: SET ROLE is refused"),
])
def test_smoke_write_statements_with_transaction_control_are_refused_before_anything_runs(
        victim, run_module, statements, role, message):
    before = state(victim)
    result = run_module("smoke_check", dict(victim.connection_args(), writes=[
        {"name": "sneaky", "role": role, "statements": statements, "tables": ["public.victim"]}]))
    refused(result, message)
    assert state(victim) == before


def test_error_rate_query_cannot_turn_off_read_only_and_commit(victim, run_module, tmp_path):
    before = state(victim)
    query = ("set default_transaction_read_only = off; commit; create table public.monitor_victim (id int); "
             "select 0, 1")
    result = run_module("monitor_sample", dict(victim.connection_args(), output_dir=str(tmp_path), window=0,
                                               chart=False, error_rate_query=query))
    refused(result, "error_rate_query: PostgreSQL reads 4 statements here (SET default_transaction_read_only, COMMIT, "
                    "CREATE TABLE, SELECT); a check runs exactly one statement")
    assert state(victim) == before and not victim.table_exists("public.monitor_victim")


def test_error_rate_query_is_refused_a_data_modifying_with(victim, run_module, tmp_path):
    before = state(victim)
    result = run_module("monitor_sample", dict(victim.connection_args(), output_dir=str(tmp_path), window=0,
                                               chart=False, error_rate_query="with gone as (delete from public.victim "
                                               "returning 1) select count(*), count(*) from gone"))
    refused(result, "error_rate_query: SELECT with a data-modifying DELETE is refused")
    assert state(victim) == before


def test_error_rate_query_runs_in_a_read_only_transaction(victim, run_module, tmp_path):
    # A function hides its INSERT from any parser; the read-only transaction still stops it.
    before = state(victim)
    result = run_module("monitor_sample", dict(victim.connection_args(), output_dir=str(tmp_path), window=0,
                                               chart=False, error_rate_query="select 0, public.sneaky_write()"))
    refused(result, "error_rate_query failed: cannot execute INSERT in a read-only transaction")
    assert state(victim) == before


def test_a_query_probe_runs_one_statement_on_a_database_reading_backslashes_the_old_way(victim, run_module, tmp_path):
    # The probe's transaction must turn standard_conforming_strings on like every check transaction: with it off
    # the server ends the string at \' and runs the COMMIT and the INSERT after the read-only transaction.
    victim.execute('ALTER DATABASE "%s" SET standard_conforming_strings = off' % victim.name)
    before = state(victim)
    query = "select 'x\\''; commit; insert into public.victim select 100, $$kept$$; --' as x"
    result = run_module("monitor_sample", dict(victim.connection_args(), output_dir=str(tmp_path), window=0.6,
                                               interval=0.3, chart=False, probe_rate=10, probe_role="",
                                               probes=[{"name": "quotes", "query": query}]))
    assert not result.get("failed"), result
    assert result["probes"]["quotes"]["ok"] > 0 and result["probes"]["quotes"]["errors"] == 0, result["probes"]
    assert state(victim) == before


@pytest.mark.parametrize("settings", [{"role": "postgres"}, {"default_transaction_read_only": "off"},
                                      {"session_authorization": "postgres"}])
def test_a_query_probe_cannot_switch_role_or_read_only_through_its_settings(victim, run_module, tmp_path, settings):
    name = sorted(settings)[0]
    result = run_module("monitor_sample", dict(victim.connection_args(), output_dir=str(tmp_path), window=0.3,
                                               interval=0.3, chart=False, probes=[
                                                   {"name": "tiles", "query": "select 1", "settings": settings}]))
    refused(result, "probe 'tiles': setting '%s' is refused" % name)
    assert os.listdir(str(tmp_path)) == []  # refused before the watch began: no samples written


@pytest.fixture
def server_file(victim):
    """A path in the server's data directory (writable by the server): it must never appear."""
    path = os.path.join(victim.cluster["datadir"], "hotdash_guard_%s.txt" % uuid.uuid4().hex[:8])
    yield path
    if os.path.exists(path):
        os.remove(path)


def test_integrity_query_cannot_write_a_server_file(victim, run_module, server_file):
    result = run_module("sql_check", dict(victim.connection_args(), checks=[
        {"name": "export", "query": "copy (select * from public.victim) to '%s'" % server_file}]))
    refused(result, "integrity check 'export': COPY TO FILE is refused: it reads or writes a file, or runs a program, "
                    "on the database server")
    assert not os.path.exists(server_file)


def test_a_do_block_in_a_test_file_cannot_write_a_server_file(victim, run_module, tmp_path, server_file):
    path = tmp_path / "rls_tests.sql"
    path.write_text("begin;\ndo $$\nbegin\n  execute 'copy (select 1) to ''%s''';\nend\n$$;\nrollback;\n" % server_file)
    result = run_module("rls_check", dict(victim.connection_args(), environment="staging", schemas=["public"],
                                          test_files=[str(path)]))
    refused(result, "test file %s: EXECUTE of a computed string (statement 2, line 2, in DO) is refused" % path)
    assert not os.path.exists(server_file)


PGTAP_FILE = ("begin;\ncreate extension if not exists pgtap with schema extensions;\nselect plan(2);\n"
              "select ok(true, 'runs');\nselect ok(nextval('public.victim_id_seq') > 0, 'sequence');\n"
              "select * from finish();\nrollback;\n")


def test_pgtap_on_production_never_creates_the_extension(victim, run_module, tmp_path, by_name):
    path = tmp_path / "victim.test.sql"
    path.write_text(PGTAP_FILE)
    before = state(victim)
    result = run_module("rls_check", dict(victim.connection_args(), environment="production", schemas=["public"],
                                          test_files=[str(path)]))
    check = by_name(result)["sql test: victim.test.sql"]
    assert check["status"] == "skipped", check
    assert check["detail"].startswith("pgtap is not installed in this database; production never creates extensions")
    assert state(victim) == before


def test_pgtap_on_production_runs_read_only(victim, run_module, tmp_path, by_name):
    victim.execute("create extension pgtap with schema extensions")
    path = tmp_path / "victim.test.sql"
    path.write_text(PGTAP_FILE)
    before = state(victim)
    result = run_module("rls_check", dict(victim.connection_args(), environment="production", schemas=["public"],
                                          test_files=[str(path)]))
    check = by_name(result)["sql test: victim.test.sql"]
    assert check["status"] == "fail" and "cannot execute nextval() in a read-only transaction" in check["detail"]
    assert check["data"]["read_only"] is True
    assert state(victim) == before  # the sequence did not move


def test_a_database_reading_backslashes_the_old_way_still_runs_one_statement(victim, run_module, by_name):
    # With standard_conforming_strings off the server would end the string at \' and run what follows;
    # every check transaction turns it on, so the server reads the text exactly as the guard's parser did.
    victim.execute('ALTER DATABASE "%s" SET standard_conforming_strings = off' % victim.name)
    before = state(victim)
    query = "select 'x\\''; commit; insert into public.victim select 100, $$kept$$; --' as x"
    result = run_module("sql_check", dict(victim.connection_args(), checks=[
        {"name": "quotes", "query": query, "expect": "rows == 1"}]))
    assert by_name(result)["quotes"]["status"] == "ok", result
    assert state(victim) == before
