"""cli_info and the CLI wrapper against the real, pinned Supabase CLI (and tiny fakes for bad cases)."""
import stat

from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli


def _fake(tmp_path, body):
    path = tmp_path / "supabase"
    path.write_text("#!/bin/sh\n%s\n" % body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_real_cli_meets_minimum(run_module, supabase_cli):
    result = run_module("cli_info", {"path": supabase_cli})
    assert not result.get("failed"), result
    assert result["found"] and result["meets_minimum"] and result["version"] == "2.122.1"
    assert result["changed"] is False


def test_real_cli_too_old_for_a_future_minimum(run_module, supabase_cli):
    result = run_module("cli_info", {"path": supabase_cli, "minimum_cli_version": "99.0.0"})
    assert result["failed"] and "2.122.1" in result["msg"] and "99.0.0" in result["msg"]
    assert "\n" not in result["msg"]


def test_missing_cli_fails_in_one_line(run_module, tmp_path):
    result = run_module("cli_info", {"path": str(tmp_path / "missing")})
    assert result["failed"] and result["msg"].startswith("Supabase CLI not found:")
    assert "\n" not in result["msg"] and result["found"] is False


def test_old_fake_cli_fails_with_both_versions(run_module, tmp_path):
    result = run_module("cli_info", {"path": _fake(tmp_path, "echo 2.20.0")})
    assert result["failed"] and "2.20.0" in result["msg"] and "2.48.3" in result["msg"]


def test_old_fake_cli_reported_without_failing(run_module, tmp_path):
    result = run_module("cli_info", {"path": _fake(tmp_path, "echo 2.20.0"), "fail_on_failed": False})
    assert not result.get("failed")
    assert result["found"] and result["version"] == "2.20.0" and result["meets_minimum"] is False
    assert "older than the required minimum" in result["reason"]


def test_bad_minimum_version(run_module, supabase_cli):
    result = run_module("cli_info", {"path": supabase_cli, "minimum_cli_version": "latest"})
    assert result["failed"] and "minimum_cli_version" in result["msg"]


def test_real_cli_gets_password_from_env(db, project, supabase_cli):
    """A password-less --db-url plus PGPASSWORD is accepted by the real CLI (pgx reads libpq env)."""
    result = SupabaseCli(path=supabase_cli).run(["migration", "list"], settings=db.settings(), cwd=str(project))
    assert result.rc == 0 and result.data["migrations"] == []


def test_real_cli_wrong_password_is_one_redacted_line(db, project, supabase_cli):
    import pytest
    from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError
    with pytest.raises(CliError) as err:
        SupabaseCli(path=supabase_cli).run(["migration", "list"], settings=db.settings(password="Wr0ng-pass"),
                                           cwd=str(project))
    assert "\n" not in str(err.value) and "Wr0ng-pass" not in str(err.value)
    assert "password authentication failed" in str(err.value) or "DbConnectError" in str(err.value)
