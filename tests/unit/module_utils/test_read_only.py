"""db_read_only planning without a database."""
import pytest
from psycopg2 import sql

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import is_on, plan_statements


@pytest.mark.parametrize("value, expected", [("on", True), ("TRUE", True), ("1", True), ("off", False),
                                             ("false", False), (None, False), ("", False)])
def test_postgres_boolean_spellings(value, expected):
    assert is_on(value) is expected


def test_on_sets_the_default_and_the_moment_as_identifiers_and_literals():
    statements = plan_statements('hot"dash', "on", "2025-10-19T02:00:00.000000Z")
    assert len(statements) == 2 and all(isinstance(s, sql.Composed) for s in statements)
    assert "Identifier('hot\"dash')" in repr(statements[0]) and "Literal('2025-10-19T02:00:00.000000Z')" in repr(
        statements[1])


def test_off_resets_both():
    assert all("RESET" in repr(s) for s in plan_statements("hotdash", "off"))


def test_state_must_be_on_or_off():
    with pytest.raises(InvalidInput) as err:
        plan_statements("hotdash", "yes")
    assert str(err.value) == "state must be on or off, not 'yes'"
