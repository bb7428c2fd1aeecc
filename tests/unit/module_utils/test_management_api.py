import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import management_api
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_token_and_url_are_required():
    with pytest.raises(InvalidInput):
        management_api.ManagementApi("")
    with pytest.raises(InvalidInput):
        management_api.ManagementApi("t", base_url="ftp://x")


@pytest.mark.parametrize("ref", ["", "UPPERCASE", "a/b", "../etc"])
def test_bad_project_refs_are_refused_before_any_request(ref):
    api = management_api.ManagementApi("tok")
    with pytest.raises(InvalidInput):
        api.project(ref)
    assert api.requests_made == 0


def test_restore_target_must_be_a_positive_unix_time():
    api = management_api.ManagementApi("tok")
    for bad in ("soon", -5, None):
        with pytest.raises(InvalidInput):
            api.restore_pitr("abcdefghijklmnopqrst", bad)
    assert api.requests_made == 0


def test_error_messages_are_one_line_and_never_contain_the_token():
    api = management_api.ManagementApi("sbp_secret")
    with pytest.raises(management_api.ManagementApiError) as err:
        api.http._fail("GET", "/v1/projects/x", 500, '{"message": "boom\\nsbp_secret trace"}')
    assert "\n" not in str(err.value) and "sbp_secret" not in str(err.value) and "500" in str(err.value)


def test_retry_delay_honours_retry_after_and_backs_off():
    api = management_api.ManagementApi("tok", backoff=2)
    assert [api.http._delay(n) for n in range(3)] == [2, 4, 8]
    assert api.http._delay(0, {"Retry-After": "7"}) == 7.0
    assert api.http._delay(0, {"Retry-After": "600"}) == 60.0
