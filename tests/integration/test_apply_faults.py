"""Faults injected into a running apply, and what the module says afterwards.

Each test pauses an apply in the middle of a migration (tests/support/faults.py: a gate), breaks something
(the backend terminated or canceled, the server restarted, the log unwritable, a long transaction in the way,
the CLI killed, the controller signalled or gone) and checks that the result says exactly what committed,
as the history table shows on a fresh connection, names the failing file and the cause in words, and that
nothing commits after the module reported.
"""
import os
import signal
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from faults import (GATE_TABLE_SQL, PlaybookProcess, backends, cancel_backend, file_size_limit,  # noqa: E402
                    gate_sql, open_gate, processes_with, restart_cluster, stop_cluster, terminate_backend, wait_at_gate,
                    wait_until, write_migrations)
from module_process import ModuleProcess  # noqa: E402

APP = "hotdash.supabase migration_apply"
V1, V2, V3 = "20250101000001", "20250101000002", "20250101000003"


def three_migrations(project, gate="two"):
    """one (commits), two (waits at the gate mid-migration), three (must not run after a fault in two)."""
    return write_migrations(project, [
        (V1, "one", "create table public.one (id int);\n"),
        (V2, "two", "create table public.two (id int);\n" + gate_sql(gate) + "create table public.two_b (id int);\n"),
        (V3, "three", "create table public.three (id int);\n"),
    ])


@pytest.fixture
def gated(db, project):
    db.execute(GATE_TABLE_SQL)
    return three_migrations(project)


def start_apply(db, project, tmp_path, **args):
    options = dict(db_url=db.url, project_dir=str(project), environment="local",
                   log_path=str(tmp_path / "apply.log"))
    options.update(args)
    preexec = options.pop("preexec_fn", None)
    return ModuleProcess.start("migration_apply", options, str(tmp_path / "module"), preexec_fn=preexec)


def read_log(tmp_path, name="apply.log"):
    with open(str(tmp_path / name)) as handle:
        return handle.read()


def assert_applied_is_history(result, db, expected):
    """``applied`` lists exactly the versions in the history (re-read here on a fresh connection)."""
    assert sorted(db.history()) == expected
    assert [item["version"] for item in result["applied"]] == expected, result


def test_backend_terminated_mid_migration(db, project, tmp_path, gated):
    proc = start_apply(db, project, tmp_path)
    terminate_backend(db, wait_at_gate(db, "two", process=proc))
    result = proc.wait()
    assert result["failed"] and not result.get("no_result"), result
    assert result["failed_file"] == gated[1] and result["partial"] is False
    assert "pg_terminate_backend" in result["msg"] and gated[1] in result["msg"], result["msg"]
    assert "cursor already closed" not in result["msg"]
    assert_applied_is_history(result, db, [V1])
    assert not db.table_exists("public.two") and not db.table_exists("public.three")
    assert "FAILED" in read_log(tmp_path)


def test_server_restarted_mid_migration(own_cluster_db, project, tmp_path):
    db = own_cluster_db
    db.execute(GATE_TABLE_SQL)
    files = three_migrations(project)
    proc = start_apply(db, project, tmp_path)
    wait_at_gate(db, "two", process=proc)
    restart_cluster(db.cluster)
    result = proc.wait()
    assert result["failed"] and result["failed_file"] == files[1] and result["partial"] is False, result
    assert "shut" in result["msg"] or "connection" in result["msg"], result["msg"]
    assert "cursor already closed" not in result["msg"]
    assert_applied_is_history(result, db, [V1])


def test_server_gone_for_good_says_what_committed_is_not_verified(own_cluster_db, project, tmp_path):
    """The server stops mid-migration and stays down past the re-read's 30 s: the report says it could not
    confirm what committed, and gives what the apply knew as that, not as the history's word."""
    db = own_cluster_db
    db.execute(GATE_TABLE_SQL)
    files = three_migrations(project)
    proc = start_apply(db, project, tmp_path)
    wait_at_gate(db, "two", process=proc)
    start_again = stop_cluster(db.cluster)
    try:
        result = proc.wait()
    finally:
        start_again()
    assert result["failed"] and result["applied_verified"] is False, result
    assert "could not re-read the history to confirm what committed" in result["msg"], result["msg"]
    assert "as far as the apply knows it applied: %s" % files[0] in result["msg"], result["msg"]
    assert "applied by this run" not in result["msg"]
    assert_applied_is_history(result, db, [V1])  # what it knew was right, but it did not claim to know


def test_cancel_backend_is_not_called_a_statement_timeout(db, project, tmp_path, gated):
    proc = start_apply(db, project, tmp_path)
    cancel_backend(db, wait_at_gate(db, "two", process=proc))
    result = proc.wait()
    assert result["failed"] and result["failed_file"] == gated[1], result
    assert "statement_timeout" not in result["msg"], result["msg"]
    assert "canceled" in result["msg"] and "pg_cancel_backend" in result["msg"], result["msg"]
    assert_applied_is_history(result, db, [V1])


def test_lock_budget_spent_names_the_blocker_and_applies_nothing_of_it(db, project, tmp_path):
    write_migrations(project, [(V1, "one", "create table public.one (id int);\n"),
                               (V2, "note", "alter table public.accounts add column note text;\n")])
    db.execute("create table public.accounts (id int, email text)")
    reader = db.connect(autocommit=False)
    reader_pid = reader.get_backend_pid()
    try:
        with reader.cursor() as cur:
            cur.execute("set application_name = 'long-report'")
            cur.execute("select * from public.accounts where email = 'secret@example.com'")
        proc = start_apply(db, project, tmp_path, lock_retry_budget=1.5)
        result = proc.wait()
    finally:
        reader.rollback()
        reader.close()
    assert result["failed"] and result["failed_file"] == "%s_note.sql" % V2, result
    msg = result["msg"]
    assert "pid %d" % reader_pid in msg and "application_name 'long-report'" in msg, msg
    assert "idle in transaction" in msg and "transaction open" in msg, msg  # (the user is masked: its password)
    assert "select * from public.accounts where email = '...'" in msg and "secret@example.com" not in msg, msg
    assert "pg_stat_activity" not in msg
    assert_applied_is_history(result, db, [V1])
    assert not db.scalar("select count(*) from information_schema.columns where column_name = 'note'")
    assert "waiting for pid %d" % reader_pid in read_log(tmp_path)


def test_log_unwritable_names_the_log_and_applies_nothing(db, project, tmp_path, gated):
    proc = start_apply(db, project, tmp_path, log_path="/dev/full")
    open_gate(db, "two")
    result = proc.wait()
    assert result["failed"], result
    assert "/dev/full" in result["msg"] and "No space left on device" in result["msg"], result["msg"]
    assert "unexpected error" not in result["msg"]
    assert_applied_is_history(result, db, [])


def test_log_fills_up_after_two_commits(db, project, tmp_path):
    write_migrations(project, [(V1, "one", "create table public.one (id int);\n"),
                               (V2, "two", "create table public.two (id int);\n"),
                               (V3, "three_with_a_long_name_so_its_first_line_is_long",
                                "create table public.three (id int);\n")])
    # Learn where the log stands after the second migration on a trial run, then let the disk fill there: the
    # lines before it have the same length give or take a few digits of duration.
    twin_log = tmp_path / "twin.log"
    twin = start_apply(db, project, tmp_path, log_path=str(twin_log)).wait()
    assert not twin.get("failed"), twin
    text = twin_log.read_text()
    full_after_two = text.index("\n", text.index("applied %s_two.sql" % V2)) + 1 + 20
    db.execute("drop table public.one, public.two, public.three; delete from supabase_migrations.schema_migrations")
    proc = start_apply(db, project, tmp_path, preexec_fn=file_size_limit(full_after_two))
    result = proc.wait()
    assert result["failed"], result
    assert str(tmp_path / "apply.log") in result["msg"], result["msg"]
    assert "unexpected error" not in result["msg"]
    assert_applied_is_history(result, db, [V1, V2])
    assert not db.table_exists("public.three")


def test_cli_engine_killed_mid_push(db, project, tmp_path, gated, supabase_cli):
    proc = start_apply(db, project, tmp_path, engine="cli", cli_path=supabase_cli)
    wait_at_gate(db, "two")
    cli = wait_until(lambda: [pid for pid in processes_with("db push") if pid != proc.pid], what="the CLI process")
    for pid in cli:
        os.kill(pid, signal.SIGKILL)
    open_gate(db, "two")
    result = proc.wait()
    assert result["failed"], result
    assert "SIGKILL" in result["msg"] or "killed" in result["msg"], result["msg"]
    time.sleep(2)  # whatever the CLI's backend still did has finished by now
    assert [item["version"] for item in result["applied"]] == sorted(db.history()), result


def controller_playbook(tmp_path, db, project):
    path = tmp_path / "apply.yml"
    path.write_text(
        "- name: Apply under a controller that goes away\n"
        "  hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Apply\n"
        "      hotdash.supabase.migration_apply:\n"
        "        db_url: \"{{ url }}\"\n"
        "        project_dir: \"{{ project }}\"\n"
        "        environment: local\n"
        "        log_path: \"{{ log }}\"\n")
    return str(path), dict(url=db.url, project=str(project), log=str(tmp_path / "apply.log"),
                           ansible_connection="local", ansible_python_interpreter=sys.executable)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_controller_gone_stops_between_migrations(db, project, tmp_path, gated, signum):
    playbook, extra = controller_playbook(tmp_path, db, project)
    run = PlaybookProcess.start(tmp_path, playbook, "localhost,", extra)
    try:
        wait_at_gate(db, "two", timeout=120, process=run)
        run.signal(signum)
        run.wait(60)
        open_gate(db, "two")
        # The module finishes the migration it is in (it is atomic) and stops before the next one.
        wait_until(lambda: not backends(db, APP), timeout=60, what="the apply to end")
        time.sleep(1)
    finally:
        run.kill()
    assert sorted(db.history()) == [V1, V2]
    assert not db.table_exists("public.three")
    log = read_log(tmp_path)
    assert "stopped before %s" % gated[2] in log, log
    assert signal.Signals(signum).name in log or "controller" in log, log


def test_a_killed_module_leaves_nothing_to_commit_after_it(db, project, tmp_path, gated):
    proc = start_apply(db, project, tmp_path)
    pid = wait_at_gate(db, "two", process=proc)
    proc.kill()  # SIGKILL: no handler runs; the migration it sent is still running on the server
    # The server notices the client is gone (client_connection_check_interval) and rolls the migration back.
    wait_until(lambda: not db.scalar("select count(*) from pg_stat_activity where pid = %s", (pid,)), timeout=30,
               what="the dead module's session to end")
    open_gate(db, "two")
    time.sleep(0.5)
    assert sorted(db.history()) == [V1] and not db.table_exists("public.two")
