"""The notify role with real ansible-playbook runs: webhook POST, feedback entry, index.md."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))

from webhook_receiver import WebhookReceiver  # noqa: E402

PLAYBOOK = """
- name: One database fails
  hosts: databases
  gather_facts: false
  tasks:
    - name: Fail the second database
      ansible.builtin.fail:
        msg: verify failed
      when: inventory_hostname == 'db2'

- name: Notify
  hosts: databases
  gather_facts: false
  roles:
    - role: hotdash.supabase.notify
      vars:
        supabase_notify_versions: ["20251011000000"]
"""


def run_playbook(tmp_path, **extra):
    report_dir = tmp_path / "artifacts" / "staging_20251019T020500Z"
    (report_dir / "db1").mkdir(parents=True, exist_ok=True)
    (report_dir / "db1" / "verify.json").write_text("{}")
    (report_dir / "approvals.jsonl").write_text("")
    inventory = {"databases": {"hosts": {"db1": {}, "db2": {}},
                               "vars": {"ansible_connection": "local",
                                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                        "supabase_environment": "staging", "supabase_report_dir": str(report_dir)}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "notify.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                           str(tmp_path / "notify.yml"), "-e", json.dumps(extra)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=120,
                          check=False, cwd=str(tmp_path))
    return proc, report_dir


def test_success_posts_webhook_appends_feedback_once_and_writes_index(tmp_path):
    feedback = tmp_path / "feedback" / "data" / "2025-10-19.md"
    with WebhookReceiver() as hook:
        extra = dict(supabase_notify_event="success", supabase_notify_webhook_url=hook.url("/hooks/T0/s3cr3t-token"),
                     supabase_notify_feedback_file=str(feedback))
        proc, report_dir = run_playbook(tmp_path, **extra)
        assert proc.returncode == 2, proc.stdout  # db2 failed in the first play; notify still ran for db1
        assert len(hook.requests) == 1
        body = hook.requests[0]["json"]
        assert body["event"] == "success" and body["environment"] == "staging"
        assert body["run_id"] == "staging_20251019T020500Z"
        assert body["results"] == [{"host": "db1", "status": "ok", "detail": ""},
                                   {"host": "db2", "status": "failed", "detail": ""}]
        assert body["index"].endswith("staging_20251019T020500Z/index.md")
        assert "s3cr3t-token" not in proc.stdout
        again, _report = run_playbook(tmp_path, **extra)
        assert len(hook.requests) == 2
    text = feedback.read_text()
    assert text.count("run=staging_20251019T020500Z event=success") == 1
    assert "| db2 | failed |" in text and "staging_20251019T020500Z/db1/verify.json" in text
    index = (report_dir / "index.md").read_text()
    assert "[verify.json](db1/verify.json)" in index and "[approvals.jsonl](approvals.jsonl)" in index


def test_start_without_webhook_writes_no_feedback_entry(tmp_path):
    proc, report_dir = run_playbook(tmp_path, supabase_notify_event="start")
    assert "[hotdash.supabase] staging migration run staging_20251019T020500Z STARTED" in proc.stdout
    assert not (tmp_path / "feedback").exists() and not (report_dir / "index.md").exists()


def test_failing_required_webhook_stops_with_a_clear_message(tmp_path):
    with WebhookReceiver(status=500) as hook:
        proc, _report = run_playbook(tmp_path, supabase_notify_event="rollback",
                                     supabase_notify_webhook_url=hook.url(), supabase_notify_webhook_required=True,
                                     supabase_notify_feedback_file="")
    assert "webhook notification (rollback) failed: HTTP 500; check supabase_notify_webhook_url" in proc.stdout
    recap = proc.stdout.split("PLAY RECAP", 1)[1]
    db1 = [line for line in recap.splitlines() if line.startswith("db1 ")][0]
    assert "failed=1" in db1
