"""The rollback role end to end through ansible-playbook against a throwaway database."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
RELEASE = "20251019090000"
PREVIOUS = "20251015090000"
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from policy_evidence import approve  # noqa: E402


def run_playbook(tmp_path, extra_vars, check=False):
    playbook = tmp_path / "rollback.yml"
    playbook.write_text(
        "- name: Rollback\n  hosts: all\n  gather_facts: false\n  roles:\n    - role: hotdash.supabase.rollback\n"
        "  post_tasks:\n    - name: Print the exports\n      ansible.builtin.debug:\n"
        "        msg: \"EXPORTS {{ {'succeeded': supabase_rollback_result.succeeded,"
        " 'strategy': supabase_rollback_result.strategy, 'reverted': supabase_rollback_result.reverted,"
        " 'log': supabase_rollback_result.log_path, 'report': supabase_rollback_result.summary.passed,"
        " 'strategy_input': supabase_rollback_strategy} | to_json }}\"\n")
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("SUPABASE_ACCESS_TOKEN", None)
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "db1,", "-c", "local",
            "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % vars_file, str(playbook)]
    if check:
        argv.append("--check")
    return subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, check=False)


def exports(proc):
    line = next(x for x in proc.stdout.splitlines() if "EXPORTS " in x)
    return json.loads(line.split("EXPORTS ", 1)[1].rstrip('"').replace('\\"', '"'))


def prepared(db, run_module, tmp_path):
    result = run_module("migration_apply", dict(db_url=db.url, project_dir=EXAMPLE, log_path=str(tmp_path / "a.log")))
    assert not result.get("failed"), result
    db.execute(open(os.path.join(EXAMPLE, "supabase", "seed.sql")).read())


def base_vars(db, tmp_path, **extra):
    out = dict(supabase_db_url=db.url, supabase_project_dir=EXAMPLE, supabase_environment="staging",
               supabase_report_dir=str(tmp_path / "artifacts" / "data"),
               supabase_rollback_target_version=PREVIOUS)
    out.update(extra)
    return out


def test_staging_rollback_reports_exports_and_is_idempotent(db, tmp_path, run_module):
    prepared(db, run_module, tmp_path)
    check = run_playbook(tmp_path, base_vars(db, tmp_path), check=True)
    assert check.returncode == 0, check.stdout[-3000:]
    assert RELEASE in db.history()
    proc = run_playbook(tmp_path, base_vars(db, tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = exports(proc)
    assert out["succeeded"] is True and out["strategy"] == "down_scripts" and out["reverted"] == [RELEASE]
    assert out["strategy_input"] == ""  # the result never overwrites the input it was chosen from
    assert out["log"].startswith(str(tmp_path / "artifacts" / "data" / "db1" / "staging_rollback_"))
    doc = json.load(open(str(tmp_path / "artifacts" / "data" / "db1" / "rollback.json")))
    assert [c["name"] for c in doc["checks"]] == ["rollback", "rollback history", "smoke reads", "no data loss",
                                                  "rls enabled"]
    assert doc["summary"]["passed"] and RELEASE not in db.history()
    assert db.password not in proc.stdout and db.password not in json.dumps(doc)
    again = run_playbook(tmp_path, base_vars(db, tmp_path))
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-3000:]


def test_production_trigger_with_its_release_run_key_skips_approval_holds_read_only_and_records_evidence(
        db, tmp_path, run_module):
    result = run_module("migration_apply", dict(db_url=db.url, project_dir=EXAMPLE, log_path=str(tmp_path / "a.log"),
                                                target_version=PREVIOUS))
    assert not result.get("failed"), result
    db.execute(open(os.path.join(EXAMPLE, "supabase", "seed.sql")).read())
    # the release, applied by a production run with an approval of its plan: the run keeps its release's run key
    release = dict(db_url=db.url, project_dir=EXAMPLE, log_path=str(tmp_path / "r.log"), environment="production")
    approve(db, run_module("migration_apply", release, check_mode=True)["policy_check"]["plan_digest"])
    run_key = run_module("migration_apply", release)["policy_check"]["release"]["run_key"]
    approvals_before = db.scalar("SELECT count(*) FROM hotdash_audit.approvals")
    trigger = {"reason": "verify failed", "evidence": {"failed_checks": ["rpc get_inventory_summary"]}}
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_environment="production",
                                            supabase_rollback_strategy="down_scripts",
                                            supabase_rollback_trigger=trigger, supabase_rollback_run_key=run_key))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "rollback triggered automatically: verify failed" in proc.stdout
    assert run_key not in proc.stdout
    assert db.scalar("SELECT count(*) FROM hotdash_audit.approvals") == approvals_before  # no approval was asked for
    assert db.query("SELECT reason, versions FROM hotdash_audit.rollback_triggers") == [("verify failed", [RELEASE])]
    assert exports(proc)["reverted"] == [RELEASE]
    row = db.query("SELECT environment, trigger, detail FROM hotdash_audit.rollback_exercises")[0]
    assert row[0] == "production" and row[1] == "verify failed"
    assert json.loads(row[2])["trigger"]["evidence"] == trigger["evidence"]
    # Writes were stopped during the rollback and re-enabled after it was verified.
    assert "Stop accepting writes" in proc.stdout
    db.execute("INSERT INTO public.facts (project, key) VALUES ('occ', 'after-rollback')")


def test_production_without_trigger_or_approval_fails_closed(db, tmp_path, run_module):
    prepared(db, run_module, tmp_path)
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_environment="production",
                                            supabase_rollback_strategy="down_scripts"))
    assert proc.returncode != 0
    assert "production_rollback" in proc.stdout and "approval" in proc.stdout.split("PLAY RECAP")[0].split(
        "Ask for the production rollback approval")[1]
    assert "Roll back, verify, log and record the exercise" not in proc.stdout
    assert RELEASE in db.history() and db.table_exists("public.dashboard_tiles")


def test_production_with_headless_approval_rolls_back_and_records_both(db, tmp_path, run_module):
    import datetime
    prepared(db, run_module, tmp_path)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    proc = run_playbook(tmp_path, base_vars(db, tmp_path, supabase_environment="production",
                                            supabase_rollback_strategy="down_scripts",
                                            supabase_approval_approver="manager@hotdash", supabase_approval_ticket="CHG-42",
                                            supabase_approval_at=now))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert exports(proc)["reverted"] == [RELEASE]
    assert db.query("SELECT gate, approver, versions FROM hotdash_audit.approvals") == [
        ("production_rollback", "manager@hotdash", [RELEASE])]
    assert db.query("SELECT trigger, succeeded FROM hotdash_audit.rollback_exercises") == [(None, True)]
