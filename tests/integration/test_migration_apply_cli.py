"""migration_apply with engine=cli, and interop with the real Supabase CLI both ways."""
import stat

from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


def write(project, filename, text):
    (project / "supabase" / "migrations" / filename).write_text(text)


def files(project):
    write(project, "20251011000000_facts.sql", "create table facts (id bigint primary key, project text);\n")
    write(project, "20251012000000_seed.sql", "-- seed\ninsert into facts values (1, 'occ');\n"
          "create function f() returns int language sql as $$ select 1; $$;\n")


def cli_args(db, project, tmp_path, supabase_cli, **extra):
    out = dict(db.connection_args(), project_dir=str(project), engine="cli", cli_path=supabase_cli,
               log_path=str(tmp_path / "cli.log"))
    out.update(extra)
    return out


def test_native_apply_then_cli_sees_everything_applied(db, project, tmp_path, run_module, cli_runner):
    files(project)
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project),
                                                log_path=str(tmp_path / "n.log")))
    assert not result.get("failed"), result
    listed = cli_runner(["migration", "list", "--db-url", db.url, "--output-format", "json"], cwd=project)
    import json
    rows = json.loads(listed.stdout)["migrations"]
    assert [(r["local"], r["remote"]) for r in rows] == [("20251011000000", "20251011000000"),
                                                         ("20251012000000", "20251012000000")]
    push = cli_runner(["db", "push", "--dry-run", "--db-url", db.url, "--yes", "--output-format", "json"], cwd=project)
    data = json.loads(push.stdout)
    assert data["upToDate"] is True and data["migrations"] == []


def test_cli_engine_applies_and_is_idempotent(db, project, tmp_path, run_module, supabase_cli):
    files(project)
    check = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli), check_mode=True)
    assert check["changed"] is True and len(check["plan"]) == 2 and db.history() == {}
    result = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli))
    assert not result.get("failed"), result
    assert [a["version"] for a in result["applied"]] == ["20251011000000", "20251012000000"]
    assert result["cli_version"] == "2.122.1"
    text = (project / "supabase" / "migrations" / "20251012000000_seed.sql").read_text()
    assert db.history()["20251012000000"] == ("seed", split_statements(text))
    log = (tmp_path / "cli.log").read_text()
    assert "supabase db push --yes" in log and "Applying migration 20251011000000_facts.sql" in log
    again = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli))
    assert again["changed"] is False
    info = run_module("migration_info", dict(db.connection_args(), project_dir=str(project)))
    assert info["in_sync"] is True and info["content_changed"] == []


def test_cli_engine_target_version(db, project, tmp_path, run_module, supabase_cli):
    files(project)
    result = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli,
                                                    target_version="20251011000000"))
    assert not result.get("failed"), result
    assert set(db.history()) == {"20251011000000"}


def test_cli_engine_failure_reports_what_applied(db, project, tmp_path, run_module, supabase_cli):
    write(project, "20251011000000_ok.sql", "create table ok1 (id int);")
    write(project, "20251012000000_bad.sql", "create table half (id int);\nselect nonsense from;")
    result = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli))
    assert result["failed"] and "\n" not in result["msg"]
    assert "20251012000000_bad.sql" in result["msg"] and "SQLSTATE 42601" in result["msg"]
    assert [a["version"] for a in result["applied"]] == ["20251011000000"]
    assert set(db.history()) == {"20251011000000"}


def test_cli_engine_refuses_non_transactional_files(db, project, tmp_path, run_module, supabase_cli):
    write(project, "20251011000000_t.sql", "create table t (id int);\ncreate index concurrently t_i on t (id);")
    result = run_module("migration_apply", cli_args(db, project, tmp_path, supabase_cli))
    assert result["failed"] and "engine=native" in result["msg"] and db.history() == {}


def test_cli_engine_missing_cli(db, project, tmp_path, run_module):
    files(project)
    before = db.schema_fingerprint()
    result = run_module("migration_apply", cli_args(db, project, tmp_path, str(tmp_path / "no-such-cli")))
    assert result["failed"] and result["msg"].startswith("Supabase CLI not found") and "\n" not in result["msg"]
    assert db.history() == {} and db.schema_fingerprint() == before


def test_cli_engine_too_old_cli(db, project, tmp_path, run_module):
    files(project)
    fake = tmp_path / "old-supabase"
    fake.write_text("#!/bin/sh\necho 2.40.0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    before = db.schema_fingerprint()
    result = run_module("migration_apply", cli_args(db, project, tmp_path, str(fake)))
    assert result["failed"] and "2.40.0" in result["msg"] and "2.48.3" in result["msg"]
    assert db.history() == {} and db.schema_fingerprint() == before
