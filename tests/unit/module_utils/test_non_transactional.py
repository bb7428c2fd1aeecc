"""Unit tests of finding statements that cannot run in a transaction (pglast), and the units of work."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.non_transactional import find_non_transactional, segments_for


def kinds(statements):
    return [(f["index"], f["kind"]) for f in find_non_transactional(statements)]


@pytest.mark.parametrize("statement,kind", [
    ("create index concurrently i on t (a)", "concurrently"),
    ("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)", "concurrently"),
    ("drop index concurrently i", "concurrently"),
    ("reindex index concurrently i", "concurrently"),
    ("alter table p detach partition c concurrently", "concurrently"),
    ("vacuum (analyze) t", "vacuum"),
    ("begin", "transaction_control"),
    ("start transaction", "transaction_control"),
    ("commit", "transaction_control"),
    ("rollback", "transaction_control"),
    ("create database x", "database"),
    ("alter system set work_mem = '1MB'", "database"),
])
def test_non_transactional_statements(statement, kind):
    assert kinds([statement]) == [(1, kind)]


@pytest.mark.parametrize("statement", [
    "analyze t",
    "create index i on t (a)",
    "savepoint s",
    "refresh materialized view concurrently mv",
    "create function f() returns void language plpgsql as $$ begin commit; end $$",
    "create procedure p() language sql begin atomic select 1; end",
    "select 'vacuum' as word, 'begin' as other",
    "select nonsense from",  # unparsable: left to the server, which reports the error
])
def test_transactional_statements(statement):
    assert kinds([statement]) == []


def test_add_value_only_flagged_when_used_later():
    assert kinds(["alter type mood add value 'great'", "create table t (m mood)"]) == []
    found = find_non_transactional(["alter type mood add value 'great'", "select 1",
                                    "create table t (m mood default 'great')"])
    assert [(f["index"], f["kind"], f["used_at"]) for f in found] == [(1, "enum_value_used", 3)]


def test_segments():
    assert segments_for(["a", "b"], []) == [dict(transactional=True, indexes=[1, 2])]
    statements = ["create table t (id int)", "create index concurrently i on t (id)", "select 1", "vacuum t"]
    assert segments_for(statements, find_non_transactional(statements)) == [
        dict(transactional=True, indexes=[1]), dict(transactional=False, indexes=[2]),
        dict(transactional=True, indexes=[3]), dict(transactional=False, indexes=[4])]
    enum = ["create type m as enum ('a')", "alter type m add value 'b'", "select 'b'::m"]
    assert segments_for(enum, find_non_transactional(enum)) == [
        dict(transactional=True, indexes=[1, 2]), dict(transactional=True, indexes=[3])]
    own = ["begin", "create table x (id int)", "commit"]
    assert segments_for(own, find_non_transactional(own)) == [dict(transactional=False, indexes=[1, 2, 3])]
