"""Unit tests of the check transaction discipline that needs no database."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import check_session
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_unknown_keys_are_named_with_what_is_allowed():
    assert check_session.refuse_unknown_keys({"name": "x"}, ("name", "query"), "integrity check 'x'") == {"name": "x"}
    with pytest.raises(InvalidInput) as err:
        check_session.refuse_unknown_keys({"name": "x", "qeury": 1}, ("name", "query"), "integrity check 'x'")
    assert str(err.value) == "integrity check 'x' has unknown key 'qeury'; allowed: name, query"


def test_request_context_refuses_settings_that_switch_role_or_read_only_mode():
    context = check_session.request_context({"role": "anon", "settings": {"app.current_project": "occ"}}, "c")
    assert context == {"role": "anon", "settings": {"app.current_project": "occ"}, "claims": None}
    assert check_session.request_context({}, "c", default_role="service_role")["role"] == "service_role"
    assert check_session.request_context({"role": ""}, "c", default_role="service_role")["role"] is None
    for settings, message in [({"role": "postgres"}, "c: setting 'role' is refused"),
                              ({"default_transaction_read_only": "off"}, "setting 'default_transaction_read_only'"),
                              ("occ", "settings must be a dict")]:
        with pytest.raises(InvalidInput, match=message):
            check_session.request_context({"settings": settings}, "c")
    with pytest.raises(InvalidInput, match="claims must be a dict"):
        check_session.request_context({"claims": "x"}, "c")


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
