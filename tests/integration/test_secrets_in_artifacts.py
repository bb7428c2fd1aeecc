"""No password in output, logs, artifacts or child command lines: a whole apply_staging run at -vvv, grepped.

The database is reached as a login role whose password is given in db_url's query string (``?password=``);
the application has run ``ALTER ROLE ... PASSWORD`` with three more passwords quoted as '...', E'...' and
$$...$$ (pg_stat_statements keeps utility statements verbatim, so the monitor and ``inspect db outliers`` see
them). The Supabase CLI and pg_dump are the real binaries behind wrappers that record their command lines,
which is what ``ps`` shows. Then every byte the run produced is searched for each password. A second run with a
password holding an unencoded ``@`` in an invalid URL fails at once, and its output holds no piece of it either.
"""
import json
import os
import shutil
import stat
import sys
import threading
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_artifact_files import modes as artifact_modes  # noqa: E402
from test_playbook_support import (SUPABASE_CLI, approval_vars, baseline, run_playbook,  # noqa: E402
                                   write_inventory)

WRAPPER = """#!/bin/sh
printf '%%s\\n' "$0 $*" >> %(log)s
exec %(real)s "$@"
"""


def wrap(directory, name, real, log):
    """An executable ``directory/name`` that appends its command line to ``log`` and runs ``real``."""
    path = os.path.join(str(directory), name)
    with open(path, "w") as handle:
        handle.write(WRAPPER % {"log": log, "real": real})
    os.chmod(path, stat.S_IRWXU)
    return path


def files_holding(root, needles, skip=()):
    """{relative path: [needles found]} for every file below ``root`` (bytes, so PNGs and dumps count too)."""
    found = {}
    for base, dirs, files in os.walk(str(root)):
        dirs[:] = [d for d in dirs if os.path.join(base, d) not in skip]
        for name in files:
            path = os.path.join(base, name)
            if path in skip:
                continue
            with open(path, "rb") as handle:
                data = handle.read()
            hits = [n for n in needles if n.encode() in data]
            if hits:
                found[os.path.relpath(path, str(root))] = hits
    return found


def keep_running(db, statements, stop):
    conn = db.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            while not stop.is_set():
                for statement in statements:
                    cur.execute(statement)
                stop.wait(0.05)
    finally:
        conn.close()


def test_no_password_in_any_artifact_of_a_verbose_run(make_db, run_module, tmp_path):
    token = uuid.uuid4().hex[:10]
    passwords = {"db_url query string": "Qs-%s-pw" % token, "quoted": "Sq-%s-pw" % token,
                 "E-string": "Es-%s-pw" % token, "dollar-quoted": "Dq-%s-pw" % token}
    stg = make_db("stg")
    baseline(run_module, stg)
    login, app = "hd_login_%s" % token, "hd_app_%s" % token  # roles are cluster-wide: one pair per test
    stg.execute("CREATE ROLE %s LOGIN SUPERUSER PASSWORD %%s; CREATE ROLE %s LOGIN" % (login, app),
                (passwords["db_url query string"],))
    statements = ["ALTER ROLE %s PASSWORD '%s'" % (app, passwords["quoted"]),
                  "ALTER ROLE %s PASSWORD E'%s'" % (app, passwords["E-string"]),
                  "ALTER ROLE %s PASSWORD $$%s$$" % (app, passwords["dollar-quoted"])]
    url = "postgresql://%s@%s:%d/%s?password=%s&sslmode=disable" % (
        login, stg.host, stg.port, stg.name, passwords["db_url query string"])

    tools = tmp_path / "tools"
    tools.mkdir()
    argv_log = str(tmp_path / "tools" / "argv.log")
    cli = wrap(tools, "supabase", SUPABASE_CLI, argv_log)
    wrap(tools, "pg_dump", shutil.which("pg_dump"), argv_log)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)}, group_vars={"supabase_cli_path": cli})
    with open(os.path.join(inventory, "host_vars", "stg1.yml"), "w") as handle:
        handle.write("supabase_db_url: %r\n" % url)
    # The application keeps changing passwords during the whole run, the monitor's watch included.
    stop = threading.Event()
    application = threading.Thread(target=keep_running, args=(stg, statements, stop), daemon=True)
    application.start()
    try:
        run = run_playbook(tmp_path, "apply_staging", inventory, dict(
            approval_vars(), supabase_monitor_statements_min_calls=1, supabase_monitor_top_n=500,
            supabase_monitor_window=2, supabase_monitor_inspect=True,
            supabase_monitor_inspect_reports=["outliers"], supabase_verify_advisors_enabled=True,
            supabase_monitor_chart=True),
            env_extra={"ANSIBLE_VERBOSITY": "3", "PATH": os.pathsep.join([str(tools), os.path.dirname(sys.executable),
                                                                          os.environ.get("PATH", "")])})
    finally:
        stop.set()
        application.join(10)
    assert run.rc == 0, run  # pg_dump and the CLI logged in: the password reached them through PGPASSWORD

    command_lines = open(argv_log).read()
    assert "pg_dump" in command_lines and "--db-url" in command_lines, command_lines
    # The monitor did list the statements (masked), so the grep below can fail.
    run_dir = run.run_dirs()[-1]
    with open(os.path.join(run_dir, "stg1", "monitor_summary.md")) as handle:
        assert "statement text hidden: it mentions a password" in handle.read()

    needles = list(passwords.values())
    leaks = {"output": [n for n in needles if n in run.output]}
    inputs = [str(tmp_path / "inventory")] + [str(p) for p in tmp_path.glob("extra_vars_*.json")]
    leaks.update(files_holding(tmp_path, needles, skip=inputs))
    assert {k: v for k, v in leaks.items() if v} == {}

    # Every file the run wrote is 0640, the dump and approvals 0600, every directory 0750 (the test's umask is 022).
    modes = artifact_modes(tmp_path / "artifacts")
    assert any(p.endswith(".dump") for p in modes) and any(p.endswith("approvals.jsonl") for p in modes), modes
    assert any("migration_apply" in p and p.endswith(".log") for p in modes), sorted(modes)
    assert any(p.endswith("monitor.jsonl") for p in modes) and any(p.endswith("index.md") for p in modes), sorted(modes)
    assert {p: m for p, m in modes.items() if m != expected_mode(tmp_path / "artifacts", p)} == {}


def expected_mode(root, relative):
    if os.path.isdir(os.path.join(str(root), relative)):
        return 0o750
    return 0o600 if relative.endswith((".dump", "approvals.jsonl")) else 0o640


def test_a_password_with_an_unencoded_at_in_an_invalid_url_is_masked_whole(make_db, run_module, tmp_path):
    stg = make_db("stg")
    secret = "Pw@%s-tail" % uuid.uuid4().hex[:10]
    url = "postgresql://postgres:%s@[%s:%d/%s?sslmode=disable" % (secret, stg.host, stg.port, stg.name)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)})
    with open(os.path.join(inventory, "host_vars", "stg1.yml"), "w") as handle:
        handle.write("supabase_db_url: %r\n" % url)
    run = run_playbook(tmp_path, "apply_staging", inventory, approval_vars(), env_extra={"ANSIBLE_VERBOSITY": "3"})
    assert run.rc != 0 and "db_url is not a valid postgresql:// URL" in run.output, run
    pieces = [secret, secret.split("@", 1)[1]]
    inputs = [str(tmp_path / "inventory")] + [str(p) for p in tmp_path.glob("extra_vars_*.json")]
    assert [p for p in pieces if p in run.output] == []
    assert files_holding(tmp_path, pieces, skip=inputs) == {}


@pytest.mark.parametrize("engine", ["native", "cli"])
def test_a_failing_migration_statement_that_sets_a_password_is_not_repeated(db, run_module, project, tmp_path,
                                                                            supabase_cli, engine):
    # The statement text is named in the failure (message, result, apply log); one holding a password is hidden whole.
    secret = "Mig-%s-pw" % uuid.uuid4().hex[:10]
    (project / "supabase" / "migrations" / "20251011000000_app_role.sql").write_text(
        "create table public.kept (id int);\nalter role hd_no_such_role\n  with login password '%s';\n" % secret)
    log = tmp_path / "apply.log"
    result = run_module("migration_apply", dict(db.connection_args(), project_dir=str(project), engine=engine,
                                                cli_path=supabase_cli, log_path=str(log)))
    assert result.get("failed") is True and "20251011000000_app_role.sql" in result["msg"], result
    assert 'role "hd_no_such_role" does not exist' in result["msg"], result["msg"]  # the failure is explained
    assert secret not in json.dumps(result) and secret not in log.read_text()
    assert not db.table_exists("public.kept")
