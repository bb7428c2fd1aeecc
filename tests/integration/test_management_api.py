"""The Management API client against the local fake (the hosted API is out of reach from tests)."""
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.management_api import ManagementApi, ManagementApiError

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_management_api import FakeManagementApi, ProjectState  # noqa: E402

REF = "abcdefghijklmnopqrst"


@pytest.fixture
def fake_api():
    with FakeManagementApi(token="sbp_tok", projects=[ProjectState(REF, pitr_enabled=True)]) as fake:
        yield fake


def client(fake, **kw):
    sleeps = []
    api = ManagementApi(kw.pop("token", fake.token), base_url=fake.url, sleep=sleeps.append, **kw)
    return api, sleeps


def test_restore_pitr_then_wait_for_active_healthy(fake_api):
    api, sleeps = client(fake_api)
    target = int(time.time()) - 600
    assert api.restore_pitr(REF, target) is None
    assert fake_api.projects[REF].restores == [target]
    project = api.wait_for_status(REF, "ACTIVE_HEALTHY", timeout=60, interval=5)
    assert project["statuses_seen"] == ["RESTORING", "ACTIVE_HEALTHY"] and sleeps == [5]
    assert all(auth == "Bearer sbp_tok" for _method, _path, auth in fake_api.requests)


def test_retries_on_503_and_429_with_backoff(fake_api):
    api, sleeps = client(fake_api, retries=3, backoff=0.5)
    fake_api.fail_next = [503, 429]
    assert api.project(REF)["status"] == "ACTIVE_HEALTHY"
    assert sleeps == [0.5, 0.0] and api.requests_made == 3  # 429 carried Retry-After: 0


def test_gives_up_after_retries_with_one_line(fake_api):
    api, sleeps = client(fake_api, retries=2, backoff=1)
    fake_api.fail_next = [502, 502, 502]
    with pytest.raises(ManagementApiError) as err:
        api.list_backups(REF)
    assert str(err.value).startswith("Supabase Management API answered 502 to GET /v1/projects/%s" % REF)
    assert sleeps == [1, 2] and err.value.result["status"] == 502


def test_restore_failed_status_stops_waiting(fake_api):
    fake_api.projects[REF].status = "RESTORE_FAILED"
    api, _unused = client(fake_api)
    with pytest.raises(ManagementApiError) as err:
        api.wait_for_status(REF, "ACTIVE_HEALTHY", timeout=60, interval=1)
    assert "RESTORE_FAILED" in str(err.value) and "cannot succeed" in str(err.value)


def test_wait_times_out(fake_api):
    fake_api.projects[REF].status = "RESTORING"
    fake_api.projects[REF].restore_polls = 0
    clock = iter(range(0, 1000, 10))
    api = ManagementApi(fake_api.token, base_url=fake_api.url, sleep=lambda s: None, clock=lambda: next(clock))
    with pytest.raises(ManagementApiError) as err:
        api.wait_for_status(REF, ["ACTIVE_HEALTHY"], timeout=30, interval=10)
    assert "still RESTORING after 30s" in str(err.value)


def test_401_and_unreachable_never_show_the_token(fake_api):
    api, _unused = client(fake_api, token="sbp_secret_value")
    with pytest.raises(ManagementApiError) as err:
        api.project(REF)
    assert "401" in str(err.value) and "sbp_secret_value" not in str(err.value)
    down = ManagementApi("sbp_secret_value", base_url="http://127.0.0.1:1", retries=1, sleep=lambda s: None)
    with pytest.raises(ManagementApiError) as err:
        down.project(REF)
    assert "cannot reach the Supabase Management API" in str(err.value) and "after 2 attempt(s)" in str(err.value)


def test_restore_refused_without_pitr(fake_api):
    fake_api.projects[REF].pitr_enabled = False
    api, _unused = client(fake_api)
    with pytest.raises(ManagementApiError) as err:
        api.restore_pitr(REF, int(time.time()))
    assert "400" in str(err.value) and "PITR is not enabled" in str(err.value)


def test_fake_runs_standalone(tmp_path):
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support",
                          "fake_management_api.py")
    proc = subprocess.Popen([sys.executable, script, "--port", str(port), "--token", "demo", "--ref", REF,
                             "--backup-age-hours", "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert "fake Supabase Management API on http://127.0.0.1:%d" % port in proc.stdout.readline()
        api = ManagementApi("demo", base_url="http://127.0.0.1:%d" % port)
        data = api.list_backups(REF)
        assert data["pitr_enabled"] is False and data["backups"][0]["status"] == "COMPLETED"
    finally:
        proc.terminate()
        proc.wait()
