"""The gate under ansible-runner, the way AWX launches jobs (ansible-playbook inside a pseudo-terminal)."""
import datetime
import json
import os
import shutil

import ansible_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = """
- name: Gate under ansible-runner
  hosts: databases
  gather_facts: false
  roles:
    - role: hotdash.supabase.approval
      vars:
        supabase_approval_versions: ["20251011000000"]
  tasks:
    - name: Past the gate
      ansible.builtin.debug:
        msg: PAST THE GATE
"""


def private_data_dir(tmp_path, db, extravars):
    base = tmp_path / "runner"
    (base / "project").mkdir(parents=True)
    (base / "inventory").mkdir()
    (base / "env").mkdir()
    (base / "project" / "gate.yml").write_text(PLAYBOOK)
    inventory = {"databases": {"hosts": {"prod1": {"supabase_db_url": db.url}},
                               "vars": {"ansible_connection": "local",
                                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                        "supabase_environment": "production",
                                        "supabase_report_dir": str(tmp_path / "artifacts" / "production_run")}}}
    (base / "inventory" / "hosts.json").write_text(json.dumps(inventory))
    (base / "env" / "extravars").write_text(json.dumps(extravars))
    (base / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, ".build", "collections"),
        "ANSIBLE_NOCOLOR": "1"}))
    return str(base)


def run(tmp_path, db, extravars, monkeypatch):
    # ansible-runner finds ansible-playbook on PATH, like an execution environment does
    monkeypatch.setenv("PATH", os.path.join(ROOT, ".venv", "bin") + os.pathsep + os.environ.get("PATH", ""))
    for name in ("CI", "JOB_ID"):
        monkeypatch.delenv(name, raising=False)
    shutil.rmtree(str(tmp_path / "runner"), ignore_errors=True)
    # timeout: a gate that waited for an answer would be killed here instead of hanging the suite
    return ansible_runner.run(private_data_dir=private_data_dir(tmp_path, db, extravars), playbook="gate.yml",
                              quiet=True, timeout=90)


def test_runner_without_approval_fails_at_once(tmp_path, db, monkeypatch):
    result = run(tmp_path, db, {}, monkeypatch)
    out = result.stdout.read()
    assert result.status == "failed" and result.rc == 2, out
    assert "this run is automated (AWX_ISOLATED_DATA_DIR is set)" in out
    assert "supabase_approval_approver, supabase_approval_ticket, supabase_approval_at" in out
    assert "PAST THE GATE" not in out
    # a production database keeps the refused attempt, and holds no approval
    assert db.query("SELECT action, gate FROM hotdash_audit.refusals") == [("approval_gate", "apply_production")]
    assert db.scalar("SELECT count(*) FROM hotdash_audit.approvals") == 0


def test_runner_with_approval_proceeds_and_records_it(tmp_path, db, monkeypatch):
    now = datetime.datetime.now(datetime.timezone.utc)
    at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    notified = (now - datetime.timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # an AWX job template passes the checklist answers as extra vars, like the approval itself
    result = run(tmp_path, db, {"supabase_approval_approver": "awx-approver", "supabase_approval_ticket": "CHG-9",
                                "supabase_approval_at": at,
                                "supabase_approval_required_acknowledgements": [
                                    {"name": "devops_notified_at", "question": "DevOps notified 24 hours in advance",
                                     "type": "timestamp", "min_age_hours": 24},
                                    {"name": "incident_response_on_standby",
                                     "question": "Incident response team on standby"}],
                                "supabase_approval_acknowledgements": {"devops_notified_at": notified,
                                                                       "incident_response_on_standby": True}},
                 monkeypatch)
    out = result.stdout.read()
    assert result.status == "successful", out
    assert "PAST THE GATE" in out
    assert db.query("SELECT approver, mode, ticket, host, acknowledgements FROM hotdash_audit.approvals") == [
        ("awx-approver", "headless", "CHG-9", "prod1",
         {"devops_notified_at": notified, "incident_response_on_standby": True})]
