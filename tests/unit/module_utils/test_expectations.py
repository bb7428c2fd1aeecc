"""Unit tests of the expectation language (no database)."""
import decimal

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import expectations
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def check(expect, columns, rows):
    return expectations.evaluate(expectations.parse_expectation(expect), columns, rows)


@pytest.mark.parametrize("expect,columns,rows,passed", [
    ("rows == 0", ["id"], [], True),
    ("rows == 0", ["id"], [(1,)], False),
    ("value <= 0.005", ["rate"], [(decimal.Decimal("0.004"),)], True),
    ("value <= 0.005", ["rate"], [(decimal.Decimal("0.006"),)], False),
    ("not null", ["x"], [(3,)], True),
    ("not null", ["x"], [(None,)], False),
    ("not null", ["x"], [], False),
    ("value is null", ["x"], [(None,)], True),
    ("orphans = 0", ["orphans"], [(0,)], True),
    ("segments >= 1 and revenue > 0", ["segments", "revenue"], [(3, decimal.Decimal("10.5"))], True),
    ("segments >= 1 and revenue > 0", ["segments", "revenue"], [(3, 0)], False),
    ("value == 'occ'", ["project"], [("occ",)], True),
    ("value == true", ["b"], [(True,)], True),
    ("value > 1", ["t"], [("text",)], False),
    ("empty", ["x"], [], True),
])
def test_expectations(expect, columns, rows, passed):
    assert check(expect, columns, rows)[0] is passed


@pytest.mark.parametrize("expect", ["", "rows ~ 0", "value == abc", "drop table x", "rows == 0 or 1"])
def test_bad_expectations_are_one_line_errors(expect):
    with pytest.raises(InvalidInput) as info:
        expectations.parse_expectation(expect)
    assert "\n" not in str(info.value)


def test_expectation_on_a_column_the_query_lacks():
    with pytest.raises(InvalidInput, match="names 'missing'"):
        check("missing == 1", ["a"], [(1,)])


def test_observed_values_are_reported():
    assert check("value <= 0.005", ["r"], [(0.01,)]) == (False, "value=0.01")
