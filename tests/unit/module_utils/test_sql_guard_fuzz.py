"""The guard and PostgreSQL's parser agree on 100,000 generated strings (tests/support/sql_fuzz.py).

Seeded, so a failure reproduces: ``.venv/bin/python tests/support/sql_fuzz.py`` prints the figures, the
disagreements and how often the old CLI-compatible single_statement() was wrong on the same strings.
Costs about 7 s of CPU on one core.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "support"))

import sql_fuzz  # noqa: E402  (tests/support/sql_fuzz.py)

from pglast import parser as pg_parser  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import sql_guard  # noqa: E402

STRINGS = 100000
SEED = 20261130


def test_guard_and_parser_agree_on_100000_generated_strings():
    figures = sql_fuzz.run(STRINGS, SEED)
    assert figures["disagreements"] == [], figures["disagreements"][:5]
    counts = figures["counts"]
    # The generator reaches every case that matters: one statement, several, unparsable, none.
    assert counts["one"] > STRINGS // 20 and counts["several"] > STRINGS // 20, counts
    assert counts["parse_errors"] > STRINGS // 20 and counts["none"] > 0, counts


def test_the_comparison_catches_a_splitter_that_misreads_statements():
    splitter = sql_fuzz.SplitterGuard(sql_guard)
    texts = [text for text in sql_fuzz.generate(3000, SEED) if sql_fuzz.compare(text, splitter, pg_parser)[1]]
    assert len(texts) > 30
    # ... and the guard itself agrees on exactly those strings.
    assert [t for t in texts if sql_fuzz.compare(t, sql_guard, pg_parser)[1]] == []
