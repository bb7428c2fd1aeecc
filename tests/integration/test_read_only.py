"""db_read_only against a real database: a write in a new session fails when on and succeeds when off."""
import psycopg2
import pytest


def _write(db):
    """Insert a row from a brand-new session (the setting applies to new sessions only)."""
    db.execute("INSERT INTO public.ro_probe (v) VALUES (1)")


@pytest.fixture
def probe_db(db):
    db.execute("CREATE TABLE public.ro_probe (v int)")
    return db


def test_on_blocks_writes_off_restores_them(probe_db, run_module):
    db = probe_db
    on = run_module("db_read_only", dict(db_url=db.url, state="on"))
    assert on["changed"] is True and on["previous_state"] == "off" and not on.get("failed")
    assert on["read_only_since"] and on["queries"][0].startswith('ALTER DATABASE "%s" SET' % db.name)
    with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
        _write(db)
    again = run_module("db_read_only", dict(db_url=db.url, state="on"))
    assert again["changed"] is False and again["queries"] == []
    assert again["read_only_since"] == on["read_only_since"]
    off = run_module("db_read_only", dict(db_url=db.url, state="off"))
    assert off["changed"] is True and off["previous_state"] == "on" and off["read_only_since"] is None
    _write(db)
    assert db.scalar("SELECT count(*) FROM public.ro_probe") == 1
    assert run_module("db_read_only", dict(db_url=db.url, state="off"))["changed"] is False


def test_check_mode_changes_nothing(probe_db, run_module):
    db = probe_db
    result = run_module("db_read_only", dict(db_url=db.url, state="on"), check_mode=True, diff=True)
    assert result["changed"] is True and result["queries"]
    assert result["diff"] == {"before": {"default_transaction_read_only": "off"},
                              "after": {"default_transaction_read_only": "on"}}
    _write(db)  # still writable


def test_terminates_sessions_started_before_and_reports_them(probe_db, run_module):
    db = probe_db
    old = db.connect()
    with old.cursor() as cur:
        cur.execute("SET application_name = 'old-writer'")
        cur.execute("SELECT pg_backend_pid()")
        old_pid = cur.fetchone()[0]
    planned = run_module("db_read_only", dict(db_url=db.url, state="on", terminate_sessions=True), check_mode=True)
    assert [s["pid"] for s in planned["terminated"]] == [old_pid] and not planned["terminated"][0]["terminated"]
    result = run_module("db_read_only", dict(db_url=db.url, state="on", terminate_sessions=True))
    assert result["changed"] is True
    assert [(s["pid"], s["application_name"], s["terminated"]) for s in result["terminated"]] == [
        (old_pid, "old-writer", True)]
    with pytest.raises(psycopg2.OperationalError):
        with old.cursor() as cur:
            cur.execute("INSERT INTO public.ro_probe (v) VALUES (2)")
    # A session that started after read-only is read-only already and is kept: nothing to do the second time.
    new = db.connect()
    try:
        second = run_module("db_read_only", dict(db_url=db.url, state="on", terminate_sessions=True))
        assert second["changed"] is False and second["terminated"] == []
        with new.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        new.close()
        run_module("db_read_only", dict(db_url=db.url, state="off"))


def test_unknown_database_is_one_line_and_changes_nothing(probe_db, run_module):
    db = probe_db
    result = run_module("db_read_only", dict(db_url=db.url, state="on", target_db="no_such_db"))
    assert result["failed"] and "\n" not in result["msg"] and "Traceback" not in result["msg"]
    assert result["msg"].startswith("database no_such_db does not exist")
    _write(db)


def test_terminate_with_off_is_refused(probe_db, run_module):
    result = run_module("db_read_only", dict(db_url=probe_db.url, state="off", terminate_sessions=True))
    assert result["failed"] and result["msg"] == ("terminate_sessions only applies with state=on (it ends sessions "
                                                  "that may still write)")


def test_password_never_in_result(probe_db, run_module):
    result = run_module("db_read_only", dict(db_url=probe_db.url, state="on"), check_mode=True)
    assert probe_db.password not in repr(result)
