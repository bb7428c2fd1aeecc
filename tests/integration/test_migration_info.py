"""migration_info against a real throwaway PostgreSQL: states, failures, and that it never changes anything."""
import psycopg2

from ansible_collections.hotdash.supabase.plugins.module_utils.history import ensure_history_table, insert_history
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


def write(project, files):
    mig = project / "supabase" / "migrations"
    for name, text in files.items():
        (mig / name).write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


def record(db, rows):
    conn = psycopg2.connect(db.url)
    try:
        with conn.cursor() as cur:
            ensure_history_table(cur)
            for version, name, text in rows:
                insert_history(cur, version, name, split_statements(text))
        conn.commit()
    finally:
        conn.close()


def snapshot(db):
    return db.schema_fingerprint(), db.history()


def info(run_module, db, project, _check=False, **options):
    args = dict(db.connection_args(), project_dir=str(project))
    args.update(options)
    return run_module("migration_info", args, check_mode=_check)


def test_fresh_database_everything_pending_and_nothing_created(run_module, db, project):
    write(project, {"20251011000000_a.sql": "create table a (id int);", "20251012000000_b.sql": "select 1;"})
    before = snapshot(db)
    result = info(run_module, db, project)
    assert result["changed"] is False and "failed" not in result
    assert result["history_table_exists"] is False
    assert result["state_counts"]["pending"] == 2 and result["in_sync"] is False
    assert [p["file"] for p in result["pending"]] == ["20251011000000_a.sql", "20251012000000_b.sql"]
    assert snapshot(db) == before


def test_states_against_a_recorded_history(run_module, db, project):
    write(project, {"20251011000000_a.sql": "select 1;", "20251012000000_b.sql": "select 2; -- edited",
                    "20251013000000_c.sql": "select 3;", "20251016000000_e.sql": "select 5;"})
    record(db, [("20251011000000", "a", "select 1;"), ("20251012000000", "b", "select 2;"),
                ("20251014000000", "d", "select 4;")])
    before = snapshot(db)
    result = info(run_module, db, project)
    states = dict((e["version"], e["state"]) for e in result["entries"])
    assert states == {"20251011000000": "applied", "20251012000000": "content_changed",
                      "20251013000000": "out_of_order", "20251014000000": "remote_only",
                      "20251016000000": "pending"}
    assert result["newest_applied"] == "20251014000000"
    assert result["history_table_exists"] is True
    checked = info(run_module, db, project, _check=True)
    assert checked["entries"] == result["entries"] and checked["changed"] is False
    failed = info(run_module, db, project, severities={"drift": "fail"})
    assert failed["failed"] is True and "\n" not in failed["msg"]
    assert failed["msg"].startswith("migration drift: 1 version(s) in the history are missing")
    assert "20251014000000" in failed["msg"] and "20251012000000_b.sql" in failed["msg"]
    assert failed["state_counts"] == result["state_counts"]
    assert snapshot(db) == before


def test_seed_duplicates_fail_by_default_with_the_rename(run_module, db, project):
    write(project, {"20251014090000_grants.sql": "select 1;",
                    "20251015_dashboard_rpc_functions.sql": "select 2;",
                    "20251015_dashboard_tile_queries.sql": "select 3;"})
    result = info(run_module, db, project)
    assert result["failed"] is True and "\n" not in result["msg"]
    assert ("rename 20251015_dashboard_tile_queries.sql to 20251015000100_dashboard_tile_queries.sql"
            in result["msg"])
    assert result["duplicates"] == {"20251015": ["20251015_dashboard_rpc_functions.sql",
                                                 "20251015_dashboard_tile_queries.sql"]}
    relaxed = info(run_module, db, project, severities={"duplicates": "warn"})
    assert "failed" not in relaxed and relaxed["naming"]["percent"] == 33.3
    assert relaxed["mixed_widths"] is True
    naming = info(run_module, db, project, severities={"duplicates": "warn", "naming": "fail"})
    assert naming["failed"] is True
    assert "20251015_dashboard_rpc_functions.sql -> 20251015000000_dashboard_rpc_functions.sql" in naming["msg"]


def test_down_script_hazard(run_module, db, project):
    write(project, {"20251011000000_x.sql": "select 1;", "20251011000001_x.down.sql": "select 1;"})
    result = info(run_module, db, project)
    assert [h["file"] for h in result["hazards"]] == ["20251011000001_x.down.sql"]
    failed = info(run_module, db, project, severities={"hazards": "fail"})
    assert failed["failed"] is True and "supabase/rollbacks" in failed["msg"]


def test_extra_history_columns_are_tolerated(run_module, db, project):
    write(project, {"20251011000000_a.sql": "select 1;"})
    record(db, [("20251011000000", "a", "select 1;")])
    db.execute("ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN created_by text, "
               "ADD COLUMN idempotency_key text")
    result = info(run_module, db, project)
    assert result["in_sync"] is True and result["state_counts"]["applied"] == 1


def test_non_utf8_file_is_one_line_and_changes_nothing(run_module, db, project):
    write(project, {"20251011000000_a.sql": b"select 'caf\xe9';"})
    before = snapshot(db)
    result = info(run_module, db, project)
    assert result["failed"] is True and "\n" not in result["msg"]
    assert "not valid UTF-8" in result["msg"] and "20251011000000_a.sql" in result["msg"]
    assert snapshot(db) == before


def test_empty_file_is_one_line(run_module, db, project):
    write(project, {"20251011000000_a.sql": "\n\n"})
    result = info(run_module, db, project)
    assert result["failed"] is True and result["msg"] == (
        "migration 20251011000000_a.sql is empty; add its SQL or delete the file")


def test_wrong_password_is_one_line_and_redacted(run_module, db, project):
    write(project, {"20251011000000_a.sql": "select 1;"})
    url = db.url.replace(":%s@" % db.password, ":wrongpass123@")
    result = run_module("migration_info", {"db_url": url, "project_dir": str(project)})
    assert result["failed"] is True and "\n" not in result["msg"]
    assert result["msg"].startswith("cannot connect to ") and "wrongpass123" not in result["msg"]
    assert "password authentication failed" in result["msg"]


def test_unreachable_host_fails_within_connect_timeout(run_module, project, pg_cluster):
    write(project, {"20251011000000_a.sql": "select 1;"})
    # A closed loopback port: refused at once, the message says where and why.
    result = run_module("migration_info", {"login_host": "127.0.0.1", "login_port": 1, "login_password": "secretpw",
                                           "connect_timeout": 2, "ssl_mode": "disable",
                                           "project_dir": str(project)})
    assert result["failed"] is True and "\n" not in result["msg"]
    assert result["msg"].startswith("cannot connect to postgres@127.0.0.1:1/postgres")
    assert "secretpw" not in result["msg"]
