"""migration_repair against a real throwaway PostgreSQL, and fetch interop with the real CLI."""
import json
import os

from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


def write(project, filename, text):
    (project / "supabase" / "migrations" / filename).write_text(text)


def apply(db, project, run_module):
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project),
                                                log_path=str(project / "apply.log")))
    assert not result.get("failed"), result


def base(db, project, **extra):
    out = dict(db.connection_args(), project_dir=str(project))
    out.update(extra)
    return out


def test_applied_records_without_running_and_reverted_deletes(db, project, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);\n-- two\ncreate table a2 (id int);")
    check = run_module("migration_repair", base(db, project, state="applied", versions=["20251011000000"]),
                       check_mode=True, diff=True)
    assert check["changed"] is True and db.history() == {}
    assert check["diff"][0]["after"].startswith("20251011000000 a (2 statement(s))")
    assert [(c["name"], c["status"]) for c in check["checks"]] == [("repair (check mode)", "ok")]
    result = run_module("migration_repair", base(db, project, state="applied", versions=["20251011000000"]))
    assert result["changed"] is True and result["actions"][0]["action"] == "inserted"
    text = (project / "supabase" / "migrations" / "20251011000000_a.sql").read_text()
    assert db.history() == {"20251011000000": ("a", split_statements(text))}
    assert not db.table_exists("public.a")  # recorded, not run
    again = run_module("migration_repair", base(db, project, state="applied", versions=["20251011000000"]))
    assert again["changed"] is False
    gone = run_module("migration_repair", base(db, project, status="reverted", versions=["20251011000000"]))
    assert gone["changed"] is True and db.history() == {}
    gone = run_module("migration_repair", base(db, project, status="reverted", versions=["20251011000000"]))
    assert gone["changed"] is False


def test_applied_needs_a_local_file(db, project, run_module):
    result = run_module("migration_repair", base(db, project, state="applied", versions=["20251011000000"]))
    assert result["failed"] and "no local migration file" in result["msg"] and db.history() == {}


def test_bad_versions_rejected(db, project, run_module):
    result = run_module("migration_repair", base(db, project, state="reverted", versions=["2025-10-11"]))
    assert result["failed"] and "digits only" in result["msg"] and "\n" not in result["msg"]


def test_reverted_remote_only(db, project, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    write(project, "20251012000000_b.sql", "create table b (id int);")
    apply(db, project, run_module)
    os.unlink(str(project / "supabase" / "migrations" / "20251011000000_a.sql"))
    result = run_module("migration_repair", base(db, project, state="reverted", remote_only=True))
    assert result["changed"] and [a["version"] for a in result["actions"]] == ["20251011000000"]
    assert set(db.history()) == {"20251012000000"} and db.table_exists("public.a")
    assert [(c["name"], c["status"], c["detail"]) for c in result["checks"]] == [
        ("repair", "ok", "reverted: 1 change(s)"), ("remote-only versions", "ok", "before 1, after 0")]
    assert result["passed"] is True and result["counts"] == {"ok": 2}
    assert result["remote_only_before"] == ["20251011000000"] and result["remote_only_after"] == []


def test_fetch_writes_remote_only_files_and_cli_agrees(db, project, tmp_path, run_module, cli_runner):
    tricky = ("-- header comment\ncreate table facts (id int); -- trailing\n"
              "create function g() returns text language plpgsql as $fn$ begin return 'a;b'; end $fn$;\n"
              "insert into facts values (1) -- no semicolon before EOF")
    write(project, "20251003000000_remote_one.sql", tricky)
    write(project, "20251004000000_remote_two.sql", "create table two (id int);")
    apply(db, project, run_module)
    recorded = db.history()
    for name in ("20251003000000_remote_one.sql", "20251004000000_remote_two.sql"):
        os.unlink(str(project / "supabase" / "migrations" / name))
    write(project, "20251011000000_local.sql", "create table local_t (id int);")
    check = run_module("migration_repair", base(db, project, state="fetch"), check_mode=True, diff=True)
    assert check["changed"] and len(check["files"]) == 2 and not os.path.exists(check["files"][0])
    result = run_module("migration_repair", base(db, project, state="fetch"))
    assert result["changed"] and [a["file"] for a in result["actions"]] == ["20251003000000_remote_one.sql",
                                                                            "20251004000000_remote_two.sql"]
    for path in result["files"]:
        version = os.path.basename(path).split("_", 1)[0]
        assert split_statements(open(path).read()) == recorded[version][1]
    info = run_module("migration_info", base(db, project))
    assert info["state_counts"]["remote_only"] == 0 and info["content_changed"] == []
    assert result["remote_only_before"] == ["20251003000000", "20251004000000"] and result["remote_only_after"] == []
    assert result["passed"] and "remote_only_after" not in check
    listed = json.loads(cli_runner(["migration", "list", "--db-url", db.url, "--output-format", "json"],
                                   cwd=project).stdout)["migrations"]
    assert all(row["local"] for row in listed)  # no remote-only version for the CLI either
    again = run_module("migration_repair", base(db, project, state="fetch"))
    assert again["changed"] is False


def test_baseline_dumps_schema_and_marks_applied(db, project, run_module, cli_runner):
    db.execute("create table legacy (id int primary key, note text); create view legacy_v as select id from legacy")
    db.execute("create schema if not exists supabase_migrations; create table supabase_migrations.schema_migrations "
               "(version text primary key, statements text[], name text)")
    db.execute("insert into supabase_migrations.schema_migrations values ('20251003000000', '{select 1}', 'old')")
    check = run_module("migration_repair", base(db, project, state="baseline", baseline_version="20251019000000",
                                                revert_remote_only=True), check_mode=True)
    assert check["changed"] and not os.listdir(str(project / "supabase" / "migrations"))
    result = run_module("migration_repair", base(db, project, state="baseline", baseline_version="20251019000000",
                                                 revert_remote_only=True))
    assert not result.get("failed"), result
    path = project / "supabase" / "migrations" / "20251019000000_remote_baseline.sql"
    text = path.read_text()
    assert 'CREATE TABLE "public"."legacy"' in text and "set_config('search_path'" not in text
    assert "\\restrict" not in text
    assert set(db.history()) == {"20251019000000"}
    info = run_module("migration_info", base(db, project))
    assert info["in_sync"] is True
    push = json.loads(cli_runner(["db", "push", "--dry-run", "--db-url", db.url, "--yes", "--output-format", "json"],
                                 cwd=project).stdout)
    assert push["migrations"] == []


def test_baseline_replays_on_an_empty_database(db, make_db, project, run_module):
    db.execute("create table legacy (id int primary key); create function h() returns int language sql as 'select 1'")
    result = run_module("migration_repair", base(db, project, state="baseline", baseline_version="20251019000000"))
    assert not result.get("failed"), result
    empty = make_db()
    applied = run_module("migration_apply", dict(empty.connection_args(), project_dir=str(project),
                                                 log_path=str(project / "b.log")))
    assert not applied.get("failed"), applied
    assert empty.table_exists("public.legacy")


def test_bad_password_changes_nothing(db, project, run_module):
    write(project, "20251011000000_a.sql", "create table a (id int);")
    url = db.url.replace(":%s@" % db.password, ":Bad-pass-2@")
    result = run_module("migration_repair", dict(db_url=url, project_dir=str(project), state="applied",
                                                 versions=["20251011000000"]))
    assert result["failed"] and "Bad-pass-2" not in result["msg"] and db.history() == {}
