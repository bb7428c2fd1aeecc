"""Unit tests of the repair engine's logic (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.repair import (
    RepairError,
    RepairRequest,
    clean_dump,
    file_name_for,
    statements_to_file,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


@pytest.mark.parametrize("statements", [
    ["create table a (id int)"],
    ["-- comment kept with the statement\ncreate table a (id int)", "insert into a values (1)"],
    ["select 1 -- ends in a line comment", "select 2"],
    ["create function f() returns text language sql as $x$ select 'a;b' $x$", "select ';'"],
    ["create procedure p() language sql begin atomic select 1; select 2; end"],
    ["-- only a comment at the end"],
])
def test_statements_round_trip_through_the_cli_splitter(statements):
    assert split_statements(statements_to_file(statements)) == statements


def test_file_name_for():
    assert file_name_for("20251003000000", "facts") == "20251003000000_facts.sql"
    assert file_name_for("20251003000000", "") == "20251003000000_remote_history.sql"
    assert file_name_for("20251003000000", "../evil name") == "20251003000000_evil_name.sql"
    for version in ("../../x", "2025/1", "", None, "1\n"):
        with pytest.raises(RepairError, match="a migration file's version must be digits"):
            file_name_for(version, "facts")


def test_clean_dump_drops_session_preamble_and_meta_commands():
    dump = ("--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET statement_timeout = 0;\n"
            "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE SCHEMA \"public\";\n"
            "CREATE TABLE \"public\".\"t\" (\"id\" integer);\n\\unrestrict abc\n\n--\n"
            "-- PostgreSQL database dump complete\n--\n")
    text = clean_dump(dump)
    assert "\\restrict" not in text and "SET statement_timeout" not in text and "set_config" not in text
    assert 'CREATE SCHEMA IF NOT EXISTS "public";' in text and "dump complete" not in text
    assert split_statements(text)[-1] == 'CREATE TABLE "public"."t" ("id" integer)'


@pytest.mark.parametrize("kwargs,message", [
    (dict(state="down"), "state must be one of"),
    (dict(state="applied"), "needs versions"),
    (dict(state="reverted", versions=["abc"]), "digits only"),
    (dict(state="fetch", remote_only=True), "only goes with state=reverted"),
    (dict(state="baseline", baseline_version="2025"), "14-digit"),
])
def test_request_validation(kwargs, message):
    with pytest.raises(InvalidInput) as err:
        RepairRequest(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
