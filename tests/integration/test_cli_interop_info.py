"""Interop with the real Supabase CLI (pinned 2.122.1): what it records is what we compute.

* ``supabase db push`` of tricky files (comments, $$/$tag$ bodies, strings with ';', BEGIN ATOMIC,
  trailing statements without ';', blank statements, CRLF): every recorded ``statements`` array equals
  ``split_statements()`` of the file, and migration_info is in sync with nothing changed.
* ``supabase migration repair --status applied`` records a file's statements without running it, so it
  is an oracle for inputs that are not valid SQL: a seeded, generated corpus must agree case by case.
* The history table our engine creates has the CLI's columns; local order equals the CLI's push order.
"""
import os
import random
import re
import shutil

import psycopg2

from ansible_collections.hotdash.supabase.plugins.module_utils.history import ensure_history_table
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


def copy_fixture(name, dest):
    shutil.copytree(os.path.join(FIXTURES, name, "supabase"), str(dest / "supabase"), dirs_exist_ok=True)


def push(cli_runner, db, project):
    return cli_runner(["db", "push", "--db-url", db.url, "--yes"], cwd=project)


def file_text(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def table_shape(db):
    return db.query("SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a "
                    "WHERE a.attrelid = 'supabase_migrations.schema_migrations'::regclass AND a.attnum > 0 "
                    "AND NOT a.attisdropped ORDER BY a.attnum")


def test_cli_push_records_exactly_our_statements(cli_runner, run_module, db, tmp_path):
    copy_fixture("tricky", tmp_path)
    push(cli_runner, db, tmp_path)
    history = db.history()
    local = load_directory(str(tmp_path))
    assert len(local.migrations) == 7 and set(history) == set(m.version for m in local.migrations)
    for migration in local.migrations:
        recorded_name, recorded = history[migration.version]
        assert recorded == split_statements(file_text(migration.path)), migration.filename
        assert recorded_name == migration.name
    # The CRLF file really has CRLF inside a recorded statement (the fixture was not normalised).
    crlf = [m for m in local.migrations if m.name == "crlf"][0]
    assert any("\r\n" in s for s in history[crlf.version][1])
    result = run_module("migration_info", dict(db.connection_args(), project_dir=str(tmp_path)))
    assert result["in_sync"] is True and result["content_changed"] == []
    assert result["state_counts"]["applied"] == 7


def test_edited_file_after_cli_push_is_content_changed(cli_runner, run_module, db, tmp_path):
    copy_fixture("tricky", tmp_path)
    push(cli_runner, db, tmp_path)
    path = tmp_path / "supabase" / "migrations" / "20250101000003_strings.sql"
    path.write_text(path.read_text() + "SELECT 'added later';\n")
    result = run_module("migration_info", dict(db.connection_args(), project_dir=str(tmp_path)))
    assert result["content_changed"] == ["20250101000003"] and result["in_sync"] is False
    entry = [e for e in result["entries"] if e["version"] == "20250101000003"][0]
    assert entry["detail"] == "history has 4 statements, the file has 5"


def test_remote_only_after_cli_push_of_another_checkout(cli_runner, run_module, db, tmp_path):
    # The seed's drift: versions applied from elsewhere, missing from this checkout.
    copy_fixture("tricky", tmp_path)
    push(cli_runner, db, tmp_path)
    for name in ("20250101000006_crlf.sql", "20250101000007_comment_tail.sql"):
        (tmp_path / "supabase" / "migrations" / name).unlink()
    result = run_module("migration_info", dict(db.connection_args(), project_dir=str(tmp_path)))
    assert [r["version"] for r in result["remote_only"]] == ["20250101000006", "20250101000007"]
    assert result["state_counts"]["remote_only"] == 2 and result["in_sync"] is False
    failed = run_module("migration_info", dict(db.connection_args(), project_dir=str(tmp_path),
                                               severities={"drift": "fail"}))
    assert failed["failed"] is True and "\n" not in failed["msg"]
    assert "20250101000006, 20250101000007" in failed["msg"]
    # The CLI agrees that these are missing locally.
    dry = cli_runner(["db", "push", "--db-url", db.url, "--dry-run"], cwd=tmp_path, check=False)
    assert dry.returncode != 0 and "20250101000006" in dry.stdout + dry.stderr


def _corpus(seed, count):
    tokens = [";", ";", "'", '"', "$", "$$", "$x$", "--", "/*", "*/", "/", "*", "-", "\\", "(", ")", "\n", "\r",
              "\r\n", " ", "E'", "e", "begin", "atomic", " BEGIN ATOMIC ", "end", " END", "end;", "case ",
              "\u00e9", "\ufeff", "1", "a", "select 1", "''", "'a;b'", "$$a;b$$", "/* c; */", "-- c;\n", "(1;2)",
              "\x85", "\u2028", "\xa0"]
    rng = random.Random(seed)
    return ["".join(rng.choice(tokens) for _attempt in range(rng.randint(1, 40))) for _attempt in range(count)]


def test_generated_corpus_agrees_with_cli_repair(cli_runner, db, tmp_path):
    cases = _corpus(20251019, 300) + [
        "select (1, (2); 3); select 4;", "begin atomic select legend from t; select 5; end; select 6;",
        "select E'a\\'; q';", "\ufeff$$a;b$$;", "select 1 -- x;\ry; z", "select $a$ x $a$$a$ y $a$; z"]
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    versions = []
    for index, text in enumerate(cases):
        version = "4%013d" % index
        versions.append(version)
        (mig / ("%s_case.sql" % version)).write_bytes(text.encode("utf-8"))
    cli_runner(["migration", "repair", "--status", "applied", "--db-url", db.url] + versions, cwd=tmp_path)
    history = db.history()
    differences = [(text, history[v][1], split_statements(text)) for v, text in zip(versions, cases)
                   if history[v][1] != split_statements(text)]
    assert differences == []


def test_history_table_shape_equals_the_clis(cli_runner, make_db, tmp_path):
    by_cli = make_db()
    copy_fixture("tricky", tmp_path)
    push(cli_runner, by_cli, tmp_path)
    ours = make_db()
    conn = psycopg2.connect(ours.url)
    try:
        with conn.cursor() as cur:
            assert ensure_history_table(cur) is True
            assert ensure_history_table(cur) is False
        conn.commit()
    finally:
        conn.close()
    assert table_shape(ours) == table_shape(by_cli) == [
        ("version", "text", True), ("statements", "text[]", False), ("name", "text", False)]
    pk = ("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
          "WHERE conrelid = 'supabase_migrations.schema_migrations'::regclass AND contype = 'p'")
    assert ours.scalar(pk) == by_cli.scalar(pk) == "PRIMARY KEY (version)"


def test_local_order_equals_the_clis_push_order(cli_runner, db, tmp_path):
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    for name in ("1_a.sql", "10_b.sql", "9_c.sql", "20260420_foo.sql", "20260420010000_bar.sql",
                 "20260420_aaa.sql", "20251017120000.sql", "x.SQL"):
        (mig / name).write_text("select 1;")
    dry = cli_runner(["db", "push", "--db-url", db.url, "--dry-run"], cwd=tmp_path)
    cli_order = re.findall(r"^ \S+ (\S+\.sql)$", dry.stderr, re.MULTILINE)
    local = load_directory(str(tmp_path))
    assert cli_order == [m.filename for m in local.migrations]
    assert local.mixed_widths is True
    skipped = set(re.findall(r"Skipping migration (\S+)\.\.\.", dry.stderr))
    assert skipped == set(s["file"] for s in local.ignored_files)
