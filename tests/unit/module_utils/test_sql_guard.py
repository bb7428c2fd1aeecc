"""The check guard: PostgreSQL's parser decides; refusals are one line naming the check and the kind (no database)."""
import os

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import sql_guard
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import (
    QUERY,
    WRITE,
    StatementRefused,
    guard_expression,
    guard_script,
    guard_statement,
    guard_statements,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "hotdash", "supabase")

# Strings the CLI-compatible splitter reads as ONE statement while PostgreSQL runs several (the bypasses).
SPLITTER_BYPASSES = [
    "select 1 /* /* */* */; commit; insert into victim select 1; -- */",        # comment depth window
    "select 1 /*/ ( */; commit; insert into victim select 1",                    # '/*/' closes, '(' holds ';'
    "with begin as (select 1) select * from begin atomic; commit; insert into victim select 1",  # BEGIN ATOMIC
]


def refused(text, profile=QUERY, allow=(), check="integrity check 'c'", **kwargs):
    with pytest.raises(StatementRefused) as info:
        guard_statement(text, check, profile=profile, allow=allow, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(check + ": ")
    return message


@pytest.mark.parametrize("text", SPLITTER_BYPASSES)
def test_splitter_bypasses_are_several_statements_for_the_guard(text):
    assert len(split_statements(text)) == 1  # what the old single_statement() saw
    message = refused(text)
    assert "PostgreSQL reads 3 statements here (SELECT, COMMIT, INSERT); a check runs exactly one statement" in message


@pytest.mark.parametrize("text,kind", [
    ("commit", "COMMIT"), ("end", "COMMIT"), ("begin", "BEGIN"), ("start transaction read write", "START TRANSACTION"),
    ("rollback", "ROLLBACK"), ("abort", "ROLLBACK"), ("savepoint a", "SAVEPOINT"), ("release a", "RELEASE SAVEPOINT"),
    ("rollback to a", "ROLLBACK TO SAVEPOINT"), ("prepare transaction 'x'", "PREPARE TRANSACTION"),
    ("commit prepared 'x'", "COMMIT PREPARED"), ("rollback prepared 'x'", "ROLLBACK PREPARED"),
    ("set role postgres", "SET ROLE"), ("set local role postgres", "SET ROLE"), ("reset role", "RESET ROLE"),
    ("set \"ROLE\" = 'postgres'", "SET ROLE"), ("set session authorization postgres", "SET SESSION AUTHORIZATION"),
    ("reset session authorization", "RESET SESSION AUTHORIZATION"),
    ("set transaction_read_only = off", "SET transaction_read_only"),
    ("set default_transaction_read_only = off", "SET default_transaction_read_only"),
    ("set transaction read write", "SET TRANSACTION"),
    ("set session characteristics as transaction read write", "SET SESSION CHARACTERISTICS"),
    ("reset all", "RESET ALL"), ("set standard_conforming_strings = off", "SET standard_conforming_strings"),
    ("set names 'SJIS'", "SET client_encoding"),
    ("select set_config('role', 'postgres', true)", "set_config('role')"),
    ("select set_config('default_transaction_read_only', 'off', false)", "set_config('default_transaction_read_only')"),
    ("select set_config(lower('ROLE'), 'postgres', true)", "set_config() of a computed setting name"),
    ("copy (select 1) to '/tmp/x'", "COPY TO FILE"), ("copy t from '/etc/passwd'", "COPY FROM FILE"),
    ("copy t to program 'sh'", "COPY TO PROGRAM"), ("copy t from program 'sh'", "COPY FROM PROGRAM"),
    ("do $$ begin null; end $$", "DO"), ("call p()", "CALL"), ("listen x", "LISTEN"), ("unlisten *", "UNLISTEN"),
    ("notify x", "NOTIFY"), ("vacuum", "VACUUM"), ("analyze t", "ANALYZE"), ("load 'x'", "LOAD"),
    ("checkpoint", "CHECKPOINT"), ("alter system set work_mem = '1GB'", "ALTER SYSTEM"),
    ("select lo_export(1, '/tmp/x')", "lo_export()"), ("select pg_advisory_lock(1)", "pg_advisory_lock()"),
    ("select pg_notify('x', 'y')", "pg_notify()"), ("select extensions.dblink_exec('x')", "dblink_exec()"),
    ("select pg_stat_statements_reset()", "pg_stat_statements_reset()"),
    ("select pg_terminate_backend(pid) from pg_stat_activity", "pg_terminate_backend()"),
])
@pytest.mark.parametrize("profile", [QUERY, WRITE])
def test_refused_everywhere_with_the_kind_named(text, kind, profile):
    message = refused(text, profile=profile)
    assert message.startswith("integrity check 'c': %s is refused: " % kind), message


@pytest.mark.parametrize("text,kind,rule", [
    ("insert into t values (1)", "INSERT", "a read-only check runs one SELECT"),
    ("with d as (delete from t returning *) select * from d", "SELECT with a data-modifying DELETE", "read-only"),
    ("select 1 into t", "SELECT INTO", "creates a table"),
    ("explain analyze delete from t", "EXPLAIN DELETE", "read-only"),
    ("create table t (a int)", "CREATE TABLE", "read-only"),
    ("truncate t", "TRUNCATE", "read-only"),
])
def test_query_profile_runs_reads_only(text, kind, rule):
    message = refused(text)
    assert ": %s is refused: " % kind in message and rule in message


@pytest.mark.parametrize("text", [
    "select 1", "  select 1 ;  ", "-- why\nselect count(*) from t where a = 'x;y'", "values (1), (2)", "table t",
    "with x as (select 1) select * from x", "show search_path", "explain select 1", "select $$;$$ as semi",
    "select * from f(E'\\';')",
])
def test_query_profile_accepts_reads(text):
    statement = guard_statement(text, "check")
    assert sql_guard.count_statements(statement.text) == 1
    assert statement.text == statement.text.strip() and not statement.text.endswith(";")


def test_statement_text_is_what_the_parser_read_alone():
    statement = guard_statement("-- note\n/* c */ select 'é;' as x ; -- after", "check")
    assert statement.text == "select 'é;' as x"
    assert statement.kind == "SELECT" and statement.node_type == "SelectStmt" and statement.line == 2


@pytest.mark.parametrize("text", ["insert into t values (1)", "update t set a = 1", "delete from t", "select 1",
                                  "merge into t using s on true when matched then delete"])
def test_write_profile_accepts_data_statements(text):
    assert guard_statement(text, "smoke write 'w'", profile=WRITE).text == text


@pytest.mark.parametrize("text,kind", [("create table x (a int)", "CREATE TABLE"), ("alter table t add b int", "ALTER TABLE"),
                                       ("set search_path = x", "SET search_path"), ("drop table t", "DROP TABLE")])
def test_write_profile_refuses_ddl_and_settings(text, kind):
    message = refused(text, profile=WRITE, check="smoke write 'w'")
    assert "%s is refused: a smoke write runs SELECT, INSERT, UPDATE, DELETE or MERGE" % kind in message


def test_unparsable_empty_and_nul_are_refused():
    assert "PostgreSQL's parser cannot read it: syntax error at or near \"selec\" (line 1)" in refused("selec 1")
    assert "unterminated /* comment" in refused("select 1 /* never closed")
    assert "no SQL statement, only comments or white space" in refused("-- nothing\n;")
    assert "no SQL statement given" in refused("   ")
    # libpg_query stops reading at NUL: the text after it would be invisible to the guard.
    assert "contains a NUL character" in refused("select 1\x00; commit")


def test_do_and_call_run_only_when_declared():
    assert "DO is refused: the check does not declare it (allow: [do])" in refused("do $$ begin null; end $$", WRITE)
    assert guard_statement("do $$ begin insert into t values (1); end $$", "w", WRITE, allow=["do"]).kind == "DO"
    assert guard_statement("call p(1)", "w", WRITE, allow=["call"]).kind == "CALL"
    with pytest.raises(InvalidInput, match="allow takes do and call, got copy"):
        guard_statement("select 1", "w", allow=["copy"])


@pytest.mark.parametrize("body,kind", [
    ("begin execute 'copy (select 1) to ''/tmp/x'''; end", "EXECUTE of a computed string (in DO)"),
    ("declare r record; begin for r in execute 'select 1' loop end loop; end", "EXECUTE of a computed string (in DO)"),
    ("begin perform lo_export(1, '/tmp/x'); end", "lo_export() (in DO)"),
    ("declare n int; begin n := (select pg_advisory_lock(1)); end", "pg_advisory_lock() (in DO)"),
    ("begin commit; end", "COMMIT (in DO)"),
    ("begin set local role postgres; end", "SET ROLE (in DO)"),
    ("begin copy (select 1) to '/tmp/x'; end", "COPY TO FILE (in DO)"),
    ("begin do $i$ begin perform pg_notify('a', 'b'); end $i$; end", "pg_notify() (in DO, in DO)"),
])
def test_declared_do_blocks_are_read_with_the_same_rules(body, kind):
    message = refused("do $$ %s $$" % body, WRITE, allow=("do",), check="smoke write 'w'")
    assert message.startswith("smoke write 'w': %s is refused" % kind), message


def test_do_in_another_language_is_refused():
    assert "DO in language plpython3u is refused: the guard reads only PL/pgSQL" in refused(
        "do language plpython3u $$ import os $$", WRITE, allow=("do",))


def test_placeholders_must_stand_where_a_value_goes():
    query = ("SELECT count(*) FILTER (WHERE level = 'ERROR'), count(*) FROM logs "
             "WHERE created_at > %(since)s AND created_at <= %(until)s AND msg NOT LIKE 'x%%'")
    statement = guard_statement(query, "error_rate_query", placeholders=True)
    assert statement.text == query  # psycopg2 substitutes the values (and %% -> %)
    for bad in ["select '%(since)s; commit; create table x (); --'", "select 1 -- %(since)s",
                'select "%(since)s"', "select $1, %(since)s"]:
        message = refused(bad, placeholders=True, check="error_rate_query")
        assert "a %(name)s placeholder must stand where a value goes" in message
    assert "PostgreSQL reads 3 statements" in refused(
        "set default_transaction_read_only=off; commit; create table x ()", check="error_rate_query",
        placeholders=True)


@pytest.mark.parametrize("name", ["role", "ROLE", "session_authorization", "default_transaction_read_only",
                                  "transaction_read_only", "standard_conforming_strings", "client_encoding", " "])
def test_settings_a_check_may_not_set(name):
    with pytest.raises(StatementRefused) as info:
        sql_guard.guard_setting_name(name, "RLS scenario 'anon'")
    assert str(info.value).startswith("RLS scenario 'anon': setting %r is refused: " % name)


def test_settings_a_check_may_set():
    assert sql_guard.guard_setting_name("app.current_project", "c") == "app.current_project"
    assert sql_guard.guard_setting_name("request.jwt.claims", "c") == "request.jwt.claims"


def test_statement_lists_are_guarded_before_anything_runs():
    statements = guard_statements(["insert into t values (1)", "delete from t where a = 1"], "smoke write 'w'")
    assert [s.index for s in statements] == [1, 2]
    with pytest.raises(StatementRefused, match=r"^smoke write 'w' statement 1: COMMIT is refused: transaction control"):
        guard_statements(["commit", "insert into t values (1)"], "smoke write 'w'")
    with pytest.raises(StatementRefused, match=r"^smoke write 'w' statement 2: PostgreSQL reads 2 statements"):
        guard_statements(["select 1", "insert into t values (1); commit"], "smoke write 'w'")


@pytest.mark.parametrize("expression", ["now()", "'2026-01-01'::date", "(select max(id) from t)", "now() -- why",
                                        "array[1, 2]"])
def test_expressions_are_one_value(expression):
    assert guard_expression(expression, "rpc 'f' argument 1") == "(\n%s\n)" % expression


@pytest.mark.parametrize("expression,why", [
    ("1)) /*/ ( */; commit; insert into victim select 1; select ((1", "cannot read it"),
    ("1) from victim where (true", "is not one SQL value expression"),
    ("1), (2", "is not one SQL value expression"),
    ("1) union select (2", "is not one SQL value expression"),
    ("lo_export(1, '/tmp/x')", "lo_export() is refused"),
    ("(select 1); commit", "cannot read it"),
])
def test_expressions_cannot_break_out(expression, why):
    with pytest.raises(StatementRefused) as info:
        guard_expression(expression, "rpc 'f' argument 1")
    assert str(info.value).startswith("rpc 'f' argument 1: ") and why in str(info.value)


def test_scripts_drop_their_own_wrapper_and_keep_numbering():
    statements = guard_script("begin;\nselect 1;\nset local role anon;\nreset role;\nrollback;\n", "test file t.sql")
    assert [(s.index, s.line, s.kind) for s in statements] == [(2, 2, "SELECT"), (3, 3, "SET ROLE"),
                                                               (4, 4, "RESET ROLE")]
    # A last COMMIT is the file's wrapper too: it is never sent, the file is rolled back like any other.
    assert [s.kind for s in guard_script("start transaction; delete from t; commit;", "t")] == ["DELETE"]


@pytest.mark.parametrize("text,message", [
    ("begin; select 1; commit; select 2;", "test file t.sql: COMMIT (statement 3, line 1) is refused: transaction control"),
    ("select 1; begin; select 2;", "test file t.sql: BEGIN (statement 2, line 1) is refused"),
    ("select 1;\nrollback;\nselect 2;", "test file t.sql: ROLLBACK (statement 2, line 2) is refused"),
    ("select 1;\n\\set x 1\nselect 2;", "test file t.sql: psql meta-command \\set (line 2) is not SQL"),
    ("select 1 /*/ ( */; commit; insert into victim select 1;",
     "test file t.sql: COMMIT (statement 2, line 1) is refused"),
    ("set session authorization postgres;", "SET SESSION AUTHORIZATION (statement 1, line 1) is refused"),
    ("copy (select 1) to '/tmp/x';", "COPY TO FILE (statement 1, line 1) is refused"),
    ("create function f() returns void language plpgsql as $$ begin execute 'x'; end $$;",
     "EXECUTE of a computed string (statement 1, line 1, in CREATE FUNCTION) is refused"),
    ("create function f() returns int language sql as $$ select pg_advisory_lock(1); select 1 $$;",
     "pg_advisory_lock() (statement 1, line 1, in CREATE FUNCTION) is refused"),
    ("create function f() returns int language plpython3u as $$ return 1 $$;",
     "CREATE FUNCTION in language plpython3u (statement 1, line 1) is refused"),
])
def test_scripts_refuse_with_statement_and_line(text, message):
    with pytest.raises(StatementRefused) as info:
        guard_script(text, "test file t.sql")
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["rls_tests.sql", os.path.join("tests", "database", "rls.test.sql")])
def test_the_example_test_files_pass_the_guard(name):
    with open(os.path.join(EXAMPLE, name)) as handle:
        statements = guard_script(handle.read(), "test file %s" % name)
    kinds = set(s.kind for s in statements)
    assert "SET ROLE" in kinds and "RESET ROLE" in kinds and "BEGIN" not in kinds and "ROLLBACK" not in kinds


@pytest.mark.parametrize("text", [
    "ALTER ROLE app PASSWORD 'hunter2'", "alter role app with encrypted password $$hunter2$$",
    "alter role app password $tag$hunter2$tag$", "ALTER USER app PASSWORD E'hun\\'ter2'",
    "select dblink_connect(E'host=db p\\x61ssword=hunter2')", "select dblink_connect('host=db pass' || 'word=x')",
    "create user mapping for app server s options (user 'a', password 'hunter2')",
    "select dblink_connect('postgresql://app:hunter2@db/x')", "select vault.create_secret('hunter2')",
    "alter role app password 'SCRAM-SHA-256$4096:abc'", "select U&'p\\0061ssword'",
    "select U&'p!0061ssword' uescape '!'",
])
def test_statements_that_mention_a_password_are_masked_whole(text):
    assert sql_guard.mask_statement_text(text) == sql_guard.MASKED_STATEMENT


@pytest.mark.parametrize("text", ["select * from facts where project = $1", "alter role app set work_mem = '64MB'",
                                  "select count(*) from pg_stat_activity"])
def test_ordinary_statements_are_kept(text):
    assert sql_guard.mask_statement_text(text) == text


def test_statement_text_for_artifacts_is_masked_redacted_one_line_and_bounded():
    assert sql_guard.statement_text_for_artifact("select\n  1") == "select 1"
    assert sql_guard.statement_text_for_artifact("ALTER ROLE app PASSWORD $$hunter2$$") == sql_guard.MASKED_STATEMENT
    assert sql_guard.statement_text_for_artifact("select 'tok3n-xyz'", secrets=["tok3n-xyz"]) == "select '********'"
    assert len(sql_guard.statement_text_for_artifact("select " + "1, " * 200, limit=50)) == 50


def test_statement_secrets_are_the_literals_of_statements_that_mention_a_password():
    found = sql_guard.statement_secrets([
        "create table t (note text default 'plain note')",
        "alter role app with login password 'Pw-one-1'",
        "create role other password E'Pw\\'two'",
        "do $$ begin execute 'alter role app password ''Pw-three-3'''; end $$",
        "alter role app password 'ab'",  # too short to mask everywhere
    ])
    assert "Pw-one-1" in found and "Pw\\'two" in found and "Pw-three-3" in found
    assert "plain note" not in found and "ab" not in found
    assert sql_guard.statement_secrets(["select 'plain'"]) == []
