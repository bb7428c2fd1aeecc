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


class ManualClock(object):
    """One clock for the fake platform and the client: the client's sleeps move it, nothing really waits."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def restoring_project(clock, **kw):
    """A project whose restore is queued 20 s, RESTORING 60 s, COMING_UP 30 s (scaled-down platform timings)."""
    applied = []
    phases = dict(restore_start_delay=20, restoring_seconds=60, coming_up_seconds=30)
    phases.update(kw)
    state = ProjectState(REF, pitr_enabled=True, clock=clock, on_restore=applied.append, **phases)
    return state, applied


def test_wait_for_restore_waits_for_it_to_begin_then_to_finish():
    clock = ManualClock()
    state, applied = restoring_project(clock)
    with FakeManagementApi(token="sbp_tok", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        target = int(time.time()) - 600
        assert api.restore_pitr(REF, target) is None
        project = api.wait_for_restore(REF, timeout=600, begin_timeout=120, interval=15)
    assert project["statuses_seen"] == ["ACTIVE_HEALTHY", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"]
    assert (project["began_after"], project["finished_after"], project["polls"]) == (30, 120, 9)
    assert state.restores == [target] and applied == [target]
    assert all(auth == "Bearer sbp_tok" for _method, _path, auth in fake.requests)


def test_a_queued_restore_still_reads_active_healthy():
    # Why the first ACTIVE_HEALTHY after the request proves nothing: the platform has not begun yet.
    clock = ManualClock()
    state, applied = restoring_project(clock)
    with FakeManagementApi(token="sbp_tok", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        api.restore_pitr(REF, int(time.time()) - 600)
        assert api.project(REF)["status"] == "ACTIVE_HEALTHY"
    assert applied == [] and state.restoring


def test_restore_that_never_begins_fails_with_one_line():
    clock = ManualClock()
    state, applied = restoring_project(clock, restore_start_delay=10000)
    with FakeManagementApi(token="sbp_secret_tok", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        api.restore_pitr(REF, int(time.time()) - 600)
        with pytest.raises(ManagementApiError) as err:
            api.wait_for_restore(REF, timeout=600, begin_timeout=120, interval=15)
    message = str(err.value)
    assert message.startswith("the restore of project %s did not begin within 120s: the project stayed "
                              "ACTIVE_HEALTHY (seen: ACTIVE_HEALTHY)" % REF)
    assert "\n" not in message and "sbp_secret_tok" not in message and clock.now - 1000 <= 120


def test_restore_failed_and_restore_too_slow_stop_waiting():
    clock = ManualClock()
    state, applied = restoring_project(clock, restore_outcome="RESTORE_FAILED")
    with FakeManagementApi(token="t", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        api.restore_pitr(REF, int(time.time()) - 600)
        with pytest.raises(ManagementApiError) as err:
            api.wait_for_restore(REF, timeout=600, begin_timeout=120, interval=15)
        assert str(err.value) == ("the restore of project %s failed: it is RESTORE_FAILED (seen: ACTIVE_HEALTHY -> "
                                  "RESTORING -> RESTORE_FAILED); the database is not restored, see the project's "
                                  "Backups page" % REF)
        assert applied == [] and err.value.result["statuses_seen"][-1] == "RESTORE_FAILED"
        slow, _unused = restoring_project(clock, restoring_seconds=5000)
        fake.projects[REF] = slow
        api.restore_pitr(REF, int(time.time()) - 600)
        with pytest.raises(ManagementApiError) as err:
            api.wait_for_restore(REF, timeout=600, begin_timeout=120, interval=15)
    assert "has not finished after 600s: still RESTORING (seen: ACTIVE_HEALTHY -> RESTORING)" in str(err.value)


def test_a_restore_missed_between_two_polls_counts_when_the_caller_has_proof():
    clock = ManualClock()
    state, applied = restoring_project(clock, restore_start_delay=1, restoring_seconds=2, coming_up_seconds=1)
    with FakeManagementApi(token="t", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        api.restore_pitr(REF, int(time.time()) - 600)
        with pytest.raises(ManagementApiError, match="did not begin within 60s"):
            api.wait_for_restore(REF, timeout=600, begin_timeout=60, interval=15)
        # The same again, this time with proof that it ran (the rollback engine sees the database restarted).
        api.restore_pitr(REF, int(time.time()) - 600)
        project = api.wait_for_restore(REF, timeout=600, begin_timeout=60, interval=15,
                                       began=lambda: len(applied) == 2)
    assert project["statuses_seen"] == ["ACTIVE_HEALTHY"] and project["began_after"] == 15 and len(applied) == 2


def test_the_fake_refuses_targets_outside_the_window_and_a_second_restore():
    clock = ManualClock()
    state, applied = restoring_project(clock)
    with FakeManagementApi(token="t", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url, sleep=clock.sleep, clock=clock)
        for target in (int(time.time()) + 3600, int(time.time()) - 8 * 86400):
            with pytest.raises(ManagementApiError, match="400 .*within the PITR window"):
                api.restore_pitr(REF, target)
        api.restore_pitr(REF, int(time.time()) - 60)
        clock.sleep(25)
        with pytest.raises(ManagementApiError, match="project is RESTORING; a restore can start only when it is "
                                                     "ACTIVE_HEALTHY"):
            api.restore_pitr(REF, int(time.time()) - 60)
    assert len(state.restores) == 1


def test_restore_phases_follow_real_time():
    # The same state machine on the real clock, with short delays, as Molecule and the playbook tests use it.
    state = ProjectState(REF, pitr_enabled=True, restore_start_delay=0.2, restoring_seconds=0.3, coming_up_seconds=0.2)
    with FakeManagementApi(token="t", projects=[state]) as fake:
        api = ManagementApi(fake.token, base_url=fake.url)
        api.restore_pitr(REF, int(time.time()) - 60)
        project = api.wait_for_restore(REF, timeout=30, begin_timeout=10, interval=0.05)
    assert project["statuses_seen"] == ["ACTIVE_HEALTHY", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"]


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
