"""The verify role end to end with ansible-playbook: an orphan row makes the verdict false, the reports say why,
the role fails the host only when supabase_verify_fail_on_failed is true, and nothing in the database changes."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")

PLAYBOOK = """
- name: Verify as the playbooks do, then alone
  hosts: db1
  gather_facts: false
  vars:
    supabase_verify_config_file: "{{ supabase_project_dir }}/verify.yml"
    supabase_verify_advisors_enabled: false
  tasks:
    - name: Verify without failing the host
      ansible.builtin.include_role:
        name: hotdash.supabase.verify
      vars:
        supabase_verify_fail_on_failed: false

    - name: Record the exported verdict
      ansible.builtin.copy:
        content: "{{ {'passed': supabase_verify_result.passed, 'files': supabase_verify_result.report} | to_json }}"
        dest: "{{ supabase_report_dir }}/verdict.json"
        mode: "0600"

    - name: Verify alone (fails the host)
      block:
        - name: Run the role with its default
          ansible.builtin.include_role:
            name: hotdash.supabase.verify
      rescue:
        - name: Record that the role failed the host
          ansible.builtin.copy:
            content: "{{ ansible_failed_result.msg }}"
            dest: "{{ supabase_report_dir }}/failed.txt"
            mode: "0600"
"""


def run_verify(tmp_path, db_url):
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    (tmp_path / "vars.json").write_text(json.dumps({
        "supabase_db_url": db_url, "supabase_project_dir": EXAMPLE, "supabase_report_dir": str(tmp_path / "reports"),
        "supabase_environment": "staging", "ansible_python_interpreter": sys.executable}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "db1,", "-c", "local",
                           "-e", "@%s" % (tmp_path / "vars.json"), str(tmp_path / "site.yml")],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)


def test_role_reports_and_exports_the_rollback_trigger(db, run_module, tmp_path):
    applied = run_module("migration_apply", dict(db.connection_args(), project_dir=EXAMPLE))
    assert not applied.get("failed"), applied.get("msg")
    with open(os.path.join(EXAMPLE, "supabase", "seed.sql")) as handle:
        db.execute(handle.read())
    db.execute("insert into public.agent_approvals (agent_id, action) "
               "values ('00000000-0000-0000-0000-00000000dead', 'ghost')")
    before = (db.schema_fingerprint(), db.scalar("select count(*) from public.product_categories"))
    proc = run_verify(tmp_path, db.url)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "postgres:postgres@" not in proc.stdout
    verdict = json.loads((tmp_path / "reports" / "verdict.json").read_text())
    assert verdict["passed"] is False
    report = json.loads((tmp_path / "reports" / "db1" / "verify.json").read_text())
    status = dict((c["name"], c["status"]) for c in report["checks"])
    assert status["no orphaned agent_approvals (spec)"] == "fail"
    assert status["agent_approvals without agent"] == "fail"
    assert status["pending"] == "ok" and status["drift"] == "ok" and status["rls enabled: public"] == "ok"
    assert status["write: product_categories insert and delete"] == "ok"
    assert status["decision sync events reference a decision"] == "skipped"
    junit = (tmp_path / "reports" / "db1" / "verify.junit.xml").read_text()
    assert junit.count("<failure") == 2
    failed = (tmp_path / "reports" / "failed.txt").read_text()
    assert failed.startswith("verify failed on db1: ") and "no orphaned agent_approvals (spec)" in failed
    assert (db.schema_fingerprint(), db.scalar("select count(*) from public.product_categories")) == before


def test_a_step_that_cannot_run_is_a_failed_check_named_after_it(tmp_path):
    """No database: every step returns its error as a failed check itself; the verdict is still written."""
    proc = run_verify(tmp_path, "postgresql://postgres:secret-pw@127.0.0.1:1/postgres?connect_timeout=2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "secret-pw" not in proc.stdout
    assert json.loads((tmp_path / "reports" / "verdict.json").read_text())["passed"] is False
    report = json.loads((tmp_path / "reports" / "db1" / "verify.json").read_text())
    status = dict((c["name"], c["status"]) for c in report["checks"])
    assert status["migrations"] == status["rls"] == status["integrity"] == status["smoke"] == "fail", status
    assert all(s == "fail" for s in status.values()), status
    detail = dict((c["name"], c["detail"]) for c in report["checks"])["migrations"]
    assert "127.0.0.1" in detail and "\n" not in detail and "secret-pw" not in json.dumps(report)
    failed = (tmp_path / "reports" / "failed.txt").read_text()
    assert failed.startswith("verify failed on db1: ") and "migrations" in failed
