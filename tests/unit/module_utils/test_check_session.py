"""Unit tests of the check transaction discipline that needs no database."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import check_session
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_single_statement_refuses_a_commit_tail():
    assert check_session.single_statement("select 1; -- trailing\n", "x") == "select 1"
    with pytest.raises(InvalidInput, match="exactly one SQL statement, found 3"):
        check_session.single_statement("select 1; commit; delete from agents", "x")


def test_missing_table_status_follows_configuration():
    assert check_session.missing_table_check("c", ["facts"], "skip")["status"] == "skipped"
    failed = check_session.missing_table_check("c", ["facts"], "fail")
    assert failed["status"] == "fail" and failed["detail"] == "table missing: facts"


def test_since_is_the_given_moment_or_every_row():
    from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import resolve_since
    assert resolve_since(None, since="2025-10-19T02:05:00+02:00") == "2025-10-19T00:05:00.000000Z"
    assert resolve_since(None, since="1760839500") == "2025-10-19T02:05:00.000000Z"
    assert resolve_since(None) == "-infinity"
    with pytest.raises(InvalidInput, match="give since .* or window .*, not both"):
        resolve_since(None, since="1760839500", window=60)
    with pytest.raises(InvalidInput, match="window must be 0 or more seconds"):
        resolve_since(None, window=-5)
