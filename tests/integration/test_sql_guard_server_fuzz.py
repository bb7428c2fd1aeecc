"""The guard and the real PostgreSQL server agree on where statements end, on seeded generated strings.

tests/unit/module_utils/test_sql_guard_fuzz.py compares the guard with pglast, which carries a copy of
PostgreSQL's parser of another major version than the server (pglast 8: PostgreSQL 18; the server: 15). This one
asks the server itself: every string goes to it as one Parse message (``sql_fuzz.ServerParser``: libpq's
PQprepare, which executes nothing). Whenever the guard reads one statement or none, the server must not read
several, and the one statement the guard accepts (what a check sends) must be one statement for the server.

Where exactly one side cannot read a string, both refuse it and nothing runs; those differences must be ones we
know (the server's own message), so a new grammar difference between the versions shows up here first.
5,000 strings, a few seconds.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))

import sql_fuzz  # noqa: E402  (tests/support/sql_fuzz.py)

from ansible_collections.hotdash.supabase.plugins.module_utils import sql_guard  # noqa: E402

STRINGS = 5000
SEED = 20261201  # not the unit fuzz's seed: other strings
# PostgreSQL 15 refuses "$1x" (and "$1" followed by any identifier character); PostgreSQL 18's parser reads it.
KNOWN_DIFFERENCES = ("trailing junk after parameter",)


def conninfo(db):
    return "host=%s port=%d dbname=%s user=%s password=%s sslmode=disable" % (
        db.host, db.port, db.name, db.user, db.password)


def test_guard_and_the_server_agree_on_where_statements_end(db):
    problems, unknown, known = [], [], 0
    with sql_fuzz.ServerParser(conninfo(db)) as server:
        for text in sql_fuzz.generate(STRINGS, SEED):
            found, differences = sql_fuzz.compare_with_server(text, sql_guard, server)
            problems.extend((text, p) for p in found)
            for difference in differences:
                if any(d in difference for d in KNOWN_DIFFERENCES):
                    known += 1
                else:
                    unknown.append((text, difference))
    assert problems == [], problems[:5]
    assert unknown == [], unknown[:5]
    assert known < STRINGS // 100, known


def test_the_server_comparison_catches_a_splitter_that_misreads_statements(db):
    splitter = sql_fuzz.SplitterGuard(sql_guard)
    with sql_fuzz.ServerParser(conninfo(db)) as server:
        found, _differences = sql_fuzz.compare_with_server(
            "select 1 /*/ ( */; commit; insert into t values (1)", splitter, server)
        assert found == ["the guard reads one statement or none, the server several"]
        caught = [t for t in sql_fuzz.generate(1000, SEED) if sql_fuzz.compare_with_server(t, splitter, server)[0]]
    assert len(caught) > 10, len(caught)
