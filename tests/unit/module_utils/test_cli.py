"""Unit tests of the Supabase CLI wrapper, with tiny fake CLIs (no database, no real CLI)."""
import stat

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import cli as climod
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import (
    SupabaseCli,
    parse_json_output,
    parse_push_text,
    parse_version,
    version_at_least,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError


def fake_cli(tmp_path, body, name="supabase"):
    """A shell script standing in for the CLI."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


@pytest.mark.parametrize("text,expected", [
    ("2.122.1", (2, 122, 1)),
    ("v2.48.3\n", (2, 48, 3)),
    ("supabase version 1.200.0 (abc)", (1, 200, 0)),
    ("2.9", (2, 9, 0)),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_parse_version_rejects_text_without_version():
    with pytest.raises(CliError) as err:
        parse_version("command not found")
    assert "cannot read a version" in str(err.value)


@pytest.mark.parametrize("have,want,ok", [
    ("2.122.1", "2.48.3", True),
    ("2.48.3", "2.48.3", True),
    ("2.48.2", "2.48.3", False),
    ("2.9.0", "2.48.3", False),  # numeric, not lexicographic
    ("10.0.0", "2.48.3", True),
    ((2, 100, 0), "2.48.3", True),
])
def test_version_at_least(have, want, ok):
    assert version_at_least(have, want) is ok


def test_explicit_path_missing_is_one_line_error(tmp_path):
    with pytest.raises(CliError) as err:
        SupabaseCli(path=str(tmp_path / "nope" / "supabase"))
    message = str(err.value)
    assert message.startswith("Supabase CLI not found:") and "\n" not in message


def test_not_on_path_is_one_line_error(monkeypatch, tmp_path):
    monkeypatch.delenv("SUPABASE_CLI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CliError) as err:
        SupabaseCli()
    assert "not on PATH" in str(err.value) and "\n" not in str(err.value)


def test_resolution_order_explicit_then_env_then_path(monkeypatch, tmp_path):
    a = fake_cli(tmp_path, "echo 1.0.0", name="a")
    b = fake_cli(tmp_path, "echo 2.0.0", name="b")
    (tmp_path / "bin").mkdir()
    c = fake_cli(tmp_path / "bin", "echo 3.0.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("SUPABASE_CLI", b)
    assert SupabaseCli(path=a).path == a
    assert SupabaseCli().path == b
    monkeypatch.delenv("SUPABASE_CLI")
    assert SupabaseCli().path == c
    assert SupabaseCli().version() == "3.0.0"


def test_too_old_cli_names_both_versions(tmp_path):
    cli = SupabaseCli(path=fake_cli(tmp_path, 'echo "2.33.0"'))
    with pytest.raises(CliError) as err:
        cli.require_version("2.48.3")
    message = str(err.value)
    assert "2.33.0" in message and "2.48.3" in message and "\n" not in message
    assert err.value.result["cli_version"] == "2.33.0"
    assert cli.require_version("2.30.0") == "2.33.0"


def test_version_failure_is_reported(tmp_path):
    cli = SupabaseCli(path=fake_cli(tmp_path, 'echo "boom" >&2; exit 3'))
    with pytest.raises(CliError) as err:
        cli.version()
    assert "rc 3" in str(err.value) and "boom" in str(err.value)


def test_run_passes_password_by_env_never_argv(tmp_path):
    # The fake CLI echoes its argv and PGPASSWORD/telemetry env as JSON.
    script = fake_cli(tmp_path, 'printf \'{"argv":"%s","pw":"%s","tele":"%s","stdin":"%s"}\\n\' "$*" "$PGPASSWORD" '
                                '"$SUPABASE_TELEMETRY_DISABLED" "$(cat)"')
    settings = ConnectionSettings.from_url("postgresql://postgres:s3cr3t-pw@db.example.com:5432/postgres?sslmode=require")
    result = SupabaseCli(path=script).run(["db", "push", "--yes"], settings=settings)
    assert result.rc == 0
    assert "--db-url postgresql://postgres@db.example.com:5432/postgres" in result.data["argv"]
    assert "s3cr3t-pw" not in result.data["argv"]
    assert result.data["argv"].endswith("--output-format json")
    assert result.data["tele"] == "1" and result.data["stdin"] == ""
    # The password the child saw is redacted in what we return.
    assert result.data["pw"] == "********"


def test_run_error_uses_cli_json_message_on_one_line(tmp_path):
    script = fake_cli(tmp_path, 'echo \'{"_tag":"Error","error":{"code":"DbPushApplyError","message":"ERROR: syntax '
                                'error (SQLSTATE 42601)\\nAt statement: 1\\nselect nonsense from"}}\'; exit 1')
    with pytest.raises(CliError) as err:
        SupabaseCli(path=script).run(["db", "push"])
    message = str(err.value)
    assert "DbPushApplyError" in message and "At statement: 1" in message and "\n" not in message


def test_run_redacts_password_in_errors(tmp_path):
    script = fake_cli(tmp_path, 'echo "failed to connect to postgresql://postgres:hunter22@h/db" >&2; exit 1')
    settings = ConnectionSettings.from_url("postgresql://postgres:hunter22@h:5432/db")
    with pytest.raises(CliError) as err:
        SupabaseCli(path=script).run(["migration", "list"], settings=settings, json_output=False)
    assert "hunter22" not in str(err.value) and "failed to connect" in str(err.value)


def test_run_falls_back_to_text_for_cli_without_output_format(tmp_path):
    script = fake_cli(tmp_path, 'for a in "$@"; do [ "$a" = "--output-format" ] && { echo "Error: unknown flag: '
                                '--output-format" >&2; exit 1; }; done; echo "Applying migration 1_a.sql..." >&2')
    result = SupabaseCli(path=script).run(["db", "push"])
    assert result.rc == 0 and result.data is None
    assert parse_push_text(result.stderr)["migrations"] == ["1_a.sql"]


def test_run_timeout_is_cli_error(tmp_path):
    cli = SupabaseCli(path=fake_cli(tmp_path, "sleep 5"), timeout=0.3)
    with pytest.raises(CliError) as err:
        cli.run(["db", "push"], json_output=False)
    assert "did not finish" in str(err.value)


def test_parse_json_output_takes_last_json_line():
    assert parse_json_output('noise\n{"a": 1}\n') == {"a": 1}
    assert parse_json_output("") is None
    assert parse_json_output("not json") is None


def test_parse_push_text():
    text = ("Applying migration 20250101000000_a.sql...\nApplying migration 20250101000001_b-c.sql...\n"
            "Finished supabase db push.")
    assert parse_push_text(text) == {"migrations": ["20250101000000_a.sql", "20250101000001_b-c.sql"],
                                     "upToDate": False}
    assert parse_push_text("Remote database is up to date.")["upToDate"] is True


def test_info_reports_minimum(tmp_path):
    info = SupabaseCli(path=fake_cli(tmp_path, "echo 2.50.0")).info("2.48.3")
    assert info["version"] == "2.50.0" and info["meets_minimum"] is True
    assert climod.MINIMUM_CLI_VERSION == "2.48.3"
