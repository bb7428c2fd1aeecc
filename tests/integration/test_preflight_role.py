"""The preflight role end to end through ansible-playbook against throwaway databases."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")


def run_playbook(tmp_path, extra_vars, check=False, cli=None):
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(
        "- name: Preflight\n  hosts: all\n  gather_facts: false\n  roles:\n    - role: hotdash.supabase.preflight\n")
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if cli:
        env["SUPABASE_CLI"] = cli
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "db1,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % vars_file, str(playbook)]
    if check:
        argv.append("--check")
    return subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)


def base_vars(db, tmp_path, **extra):
    out = dict(supabase_db_url=db.url, supabase_project_dir=EXAMPLE, supabase_environment="staging",
               supabase_report_dir=str(tmp_path / "artifacts" / "data"),
               supabase_backup_dir=str(tmp_path / "artifacts" / "backups"),
               # test_preflight_shadow.py proves the shadow checks; these tests keep to the others.
               supabase_preflight_shadow_check=False, supabase_preflight_schema_drift=False)
    out.update(extra)
    return out


def report(tmp_path):
    with open(str(tmp_path / "artifacts" / "data" / "db1" / "preflight.json")) as handle:
        return json.load(handle)


def test_staging_preflight_passes_writes_report_and_takes_backup(db, tmp_path, supabase_cli):
    proc = run_playbook(tmp_path, base_vars(db, tmp_path), cli=supabase_cli)
    assert proc.returncode == 0, proc.stdout[-4000:]
    doc = report(tmp_path)
    names = [c["name"] for c in doc["checks"]]
    assert names == ["supabase_cli", "backup", "drift", "naming", "order", "rollback", "promotion", "lint",
                     "connection", "server", "connections", "long_running_queries", "locks", "maintenance_window"]
    assert doc["summary"]["passed"] is True
    assert os.path.exists(str(tmp_path / "artifacts" / "data" / "db1" / "preflight.md"))
    assert len(os.listdir(str(tmp_path / "artifacts" / "backups"))) == 1
    assert "Preflight db1 (staging): PASSED" in proc.stdout
    assert ":%s@" % db.password not in proc.stdout and ":%s@" % db.password not in json.dumps(doc)
    assert db.history() == {}  # nothing applied


def test_production_preflight_stops_naming_failed_checks_and_remedies(db, tmp_path):
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_environment="production",
                                            supabase_preflight_now="2026-11-26T12:00:00Z",
                                            supabase_preflight_skip=["backup", "cli"]))
    assert proc.returncode != 0
    doc = report(tmp_path)
    statuses = dict((c["name"], c["status"]) for c in doc["checks"])
    assert statuses["maintenance_window"] == "fail" and statuses["promotion"] == "fail"
    assert statuses["rollback"] == "fail"
    assert "Preflight failed on db1:" in proc.stdout and "maintenance_window" in proc.stdout
    assert "-> run inside the window" in proc.stdout
    assert db.history() == {}


def test_check_mode_runs_every_check_and_writes_no_backup(db, tmp_path, supabase_cli):
    proc = run_playbook(tmp_path, base_vars(db, tmp_path), check=True, cli=supabase_cli)
    assert proc.returncode == 0, proc.stdout[-4000:]
    doc = report(tmp_path)
    assert len(doc["checks"]) == 14
    assert dict((c["name"], c["status"]) for c in doc["checks"])["backup"] == "skipped"
    assert not os.path.exists(str(tmp_path / "artifacts" / "backups"))


def test_rollback_strategy_defaults_to_the_rollback_roles_choice(db, tmp_path):
    quick = dict(supabase_preflight_skip=["backup", "cli", "lint", "health", "window"])
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_rollback_strategy="supabase_pitr", **quick))
    assert proc.returncode != 0
    rollback = dict((c["name"], c) for c in report(tmp_path)["checks"])["rollback"]
    assert rollback["status"] == "fail" and rollback["data"]["strategy"] == "supabase_pitr"
    assert "point-in-time recovery is not enabled" in rollback["detail"]
    # Empty (the rollback role's default) picks the environment's strategy, as the rollback role does.
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_rollback_strategy="",
                                            supabase_rollback_strategy_by_environment={"staging": "staging_reset"},
                                            **quick))
    assert proc.returncode == 0, proc.stdout[-4000:]
    rollback = dict((c["name"], c) for c in report(tmp_path)["checks"])["rollback"]
    assert rollback["status"] == "ok" and rollback["data"]["strategy"] == "staging_reset"
    # An explicit preflight strategy wins.
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_rollback_strategy="supabase_pitr",
                                            supabase_preflight_rollback_strategy="down_scripts", **quick))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert dict((c["name"], c) for c in report(tmp_path)["checks"])["rollback"]["data"]["strategy"] == "down_scripts"


def test_an_error_in_a_step_is_a_failed_check_in_the_report(db, tmp_path):
    # The database refuses the login: the steps that need it report their error as a failed check of their own
    # (instead of the first one failing the task before any report exists), the others still run.
    wrong = "not-the-password-1f0c"
    refused = db.url.replace(":%s@" % db.password, ":%s@" % wrong)
    assert refused != db.url
    broken = base_vars(db, tmp_path, supabase_db_url=refused, supabase_preflight_skip=["cli"],
                       supabase_preflight_fail_on_failed=False)
    proc = run_playbook(tmp_path, broken)
    assert proc.returncode == 0, proc.stdout[-4000:]
    doc = report(tmp_path)
    checks = dict((c["name"], c) for c in doc["checks"])
    # lint is not run without the readiness step's list of pending files; db_health_info skips what needs a session.
    assert [c["name"] for c in doc["checks"]] == ["backup", "readiness", "connection", "server", "connections",
                                                  "long_running_queries", "locks", "maintenance_window"]
    for name in ("backup", "readiness", "connection"):
        assert checks[name]["status"] == "fail", checks[name]
        assert "password authentication failed" in checks[name]["detail"], checks[name]
    assert checks["locks"]["status"] == "skipped" and checks["maintenance_window"]["status"] == "ok"
    assert doc["summary"]["passed"] is False
    assert wrong not in proc.stdout and wrong not in json.dumps(doc)

    # With the default supabase_preflight_fail_on_failed the play stops after the report, naming those checks.
    broken.pop("supabase_preflight_fail_on_failed")
    proc = run_playbook(tmp_path, broken)
    assert proc.returncode != 0
    assert "Preflight failed on db1: backup, readiness, connection" in proc.stdout, proc.stdout[-4000:]
    assert db.history() == {}
