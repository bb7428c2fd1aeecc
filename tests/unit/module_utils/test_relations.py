"""Table names as users write them, parsed in one place."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import identifier, qualified, split_relation


def test_split_relation():
    assert split_relation("facts") == (None, "facts")
    assert split_relation(' "public" . "My Table" ') == ("public", "My Table")


@pytest.mark.parametrize("name, message", [
    ("", "table name must be a non-empty string"),
    (None, "table name must be a non-empty string"),
    ("a.b.c", "table name 'a.b.c' must be 'table' or 'schema.table'"),
    ("public.", "must be 'table' or 'schema.table'"),
])
def test_bad_names_are_one_line_errors(name, message):
    with pytest.raises(InvalidInput, match=message):
        split_relation(name)


def test_plain_names_for_catalog_comparisons():
    assert qualified("facts") == "public.facts" and qualified("app.facts") == "app.facts"
    with pytest.raises(InvalidInput, match="^count table 'x; drop' is not a plain"):
        qualified("x; drop", what="count table")


def test_identifier_composes_the_name():
    assert repr(identifier("app.facts")) == "Identifier('app', 'facts')"
    assert repr(identifier("facts", default_schema="public")) == "Identifier('public', 'facts')"
    assert repr(identifier("facts")) == "Identifier('facts')"
