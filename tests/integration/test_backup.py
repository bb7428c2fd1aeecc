"""backup module: pg_dump against real PostgreSQL, path/command providers, Supabase provider against the fake API."""
import os
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_management_api import FakeManagementApi, ProjectState  # noqa: E402

REF = "abcdefghijklmnopqrst"


@pytest.fixture
def fake_api():
    with FakeManagementApi(token="sbp_test_token_123", projects=[ProjectState(REF, backup_age_hours=3)]) as fake:
        yield fake


def test_pg_dump_takes_and_verifies_a_backup_and_check_mode_writes_nothing(db, run_module, tmp_path):
    db.execute("CREATE TABLE public.orders (id int); INSERT INTO public.orders VALUES (1)")
    out = tmp_path / "backups"
    planned = run_module("backup", dict(db.connection_args(), provider="pg_dump", backup_dir=str(out),
                                        host_label="db1", environment="staging"), check_mode=True)
    assert planned["changed"] is True and planned["checks"][0]["status"] == "skipped"
    assert planned["path"].startswith(str(out)) and not out.exists()
    result = run_module("backup", dict(db.connection_args(), provider="pg_dump", backup_dir=str(out),
                                       host_label="db1", environment="production"))
    assert result["changed"] is True and result["passed"] is True, result
    path = result["path"]
    assert os.path.basename(path).startswith("db1_%s_" % db.name) and path.endswith(".dump")
    listing = subprocess.run(["pg_restore", "--list", path], stdout=subprocess.PIPE, text=True, check=True).stdout
    assert "TABLE public orders" in listing and result["backup"]["verified"] is True
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert [p for p in os.listdir(str(out)) if p.startswith(".tmp-")] == []


def test_pg_dump_failure_is_one_line_without_password_and_leaves_no_file(db, run_module, tmp_path):
    url = db.url.replace("/%s?" % db.name, "/does_not_exist?")
    result = run_module("backup", dict(db_url=url, provider="pg_dump", backup_dir=str(tmp_path), environment="staging"))
    assert result["failed"] is True and "pg_dump of" in result["msg"] and "does_not_exist" in result["msg"]
    assert "\n" not in result["msg"] and ":%s@" % db.password not in result["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_path_provider_fresh_and_stale(run_module, tmp_path):
    fresh = tmp_path / "nightly_1.dump"
    fresh.write_text("x")
    ok = run_module("backup", dict(provider="path", backup_dir=str(tmp_path), pattern="*.dump", environment="staging"))
    assert ok["checks"][0]["status"] == "ok" and ok["backup"]["file"] == str(fresh)
    old = time.time() - 30 * 3600
    os.utime(str(fresh), (old, old))
    stale = run_module("backup", dict(provider="path", backup_dir=str(tmp_path), environment="production"))
    check = stale["checks"][0]
    assert check["status"] == "fail" and "limit 12" in check["detail"] and stale["passed"] is False
    # staging allows 24 h, still stale at 30 h; an explicit 48 h limit accepts it
    assert run_module("backup", dict(provider="path", backup_dir=str(tmp_path), max_age_hours=48, environment="staging"))["passed"] is True
    waived = run_module("backup", dict(provider="path", backup_dir=str(tmp_path), environment="production",
                                       waivers={"backup": "snapshot taken by the host at 01:00, ticket CHG-7"}))
    assert waived["checks"][0]["status"] == "waived" and "CHG-7" in waived["checks"][0]["detail"]


def test_path_provider_missing_directory_is_a_clear_error(run_module, tmp_path):
    result = run_module("backup", dict(provider="path", backup_dir=str(tmp_path / "nope"), environment="staging"))
    assert result["failed"] is True and result["msg"].startswith("backup directory not found:")


def test_command_provider(run_module):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    ok = run_module("backup", dict(provider="command", command=["echo", stamp], environment="staging"))
    assert ok["checks"][0]["status"] == "ok" and ok["backup"]["newest"] == stamp
    bad = run_module("backup", dict(provider="command", command="echo not-a-date", environment="staging"))
    assert bad["failed"] is True and "not an ISO 8601 timestamp" in bad["msg"] and "\n" not in bad["msg"]
    missing = run_module("backup", dict(provider="command", environment="staging"))
    assert missing["failed"] is True and missing["msg"] == "provider command needs command"


def test_supabase_provider_fresh_stale_and_pitr(run_module, fake_api):
    args = dict(provider="supabase", project_ref=REF, access_token=fake_api.token, api_url=fake_api.url,
                environment="production")
    ok = run_module("backup", args)
    assert ok["passed"] is True and ok["pitr_enabled"] is False and ok["backup"]["completed_backups"] == 2
    assert fake_api.token not in str(ok)
    fake_api.projects[REF].set_backup_ages([20, 44])
    stale = run_module("backup", args)
    assert stale["checks"][0]["status"] == "fail" and "limit 12" in stale["checks"][0]["detail"]
    fake_api.projects[REF].pitr_enabled = True
    pitr = run_module("backup", args)
    assert pitr["passed"] is True and "point-in-time recovery enabled" in pitr["checks"][0]["detail"]


def test_supabase_provider_bad_token_and_unknown_ref(run_module, fake_api):
    args = dict(provider="supabase", project_ref=REF, access_token="sbp_wrong_token_456", api_url=fake_api.url,
                environment="staging")
    result = run_module("backup", args)
    assert result["failed"] is True and "rejected the access token (401)" in result["msg"]
    assert "sbp_wrong_token_456" not in str(result) and "\n" not in result["msg"]
    unknown = run_module("backup", dict(args, access_token=fake_api.token, project_ref="zzzzzzzzzzzzzzzzzzzz"))
    assert unknown["failed"] is True and "(404): check project_ref" in unknown["msg"]
    no_token = run_module("backup", dict(provider="supabase", project_ref=REF, api_url=fake_api.url, environment="staging"))
    assert no_token["failed"] is True and "access token is required" in no_token["msg"]
