"""The approval gate with real ansible-playbook runs against real databases.

Headless = stdin from /dev/null (what cron, CI and `ansible-playbook ... < /dev/null` look like);
interactive = a pseudo-terminal driven with the stdlib `pty`, answering the prompt.
"""
import datetime
import json
import os
import pty
import select
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = """
- name: Gate
  hosts: databases
  gather_facts: false
  roles:
    - role: hotdash.supabase.approval
      vars:
        supabase_approval_gate: "{{ gate | default('apply_production') }}"
        supabase_approval_versions: ["20251011000000", "20251012000000"]
        supabase_approval_summary: "Apply 2 migrations"
  tasks:
    - name: Past the gate
      ansible.builtin.debug:
        msg: "PAST THE GATE {{ supabase_approval_result.record.mode }}"
"""
MARKERS = ("CI", "JOB_ID", "AWX_ISOLATED_DATA_DIR", "AWX_HOST", "TOWER_HOST", "GITHUB_ACTIONS", "GITLAB_CI",
           "JENKINS_URL", "BUILD_ID")


def iso(hours_ago=0.0):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def playbook_env():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", PYTHONDONTWRITEBYTECODE="1")
    for name in MARKERS:
        env.pop(name, None)
    return env


@pytest.fixture
def gate_run(make_db, tmp_path):
    """Two databases in an inventory, a playbook using the approval role, and a runner for it."""
    dbs = [make_db("gate"), make_db("gate")]
    report_dir = tmp_path / "artifacts" / "production_20251019T020500Z"
    inventory = {"databases": {"hosts": {"db%d" % i: {"supabase_db_url": d.url} for i, d in enumerate(dbs, 1)},
                               "vars": {"ansible_connection": "local",
                                        "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                                        "supabase_environment": "production",
                                        "supabase_report_dir": str(report_dir)}}}
    (tmp_path / "inventory.json").write_text(json.dumps(inventory))
    (tmp_path / "gate.yml").write_text(PLAYBOOK)

    def argv(**extra):
        args = [os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), "-i", str(tmp_path / "inventory.json"),
                str(tmp_path / "gate.yml")]
        return args + (["-e", json.dumps(extra)] if extra else [])

    def run(**extra):
        return subprocess.run(argv(**extra), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=playbook_env(), timeout=120, check=False)

    run.argv = argv
    run.dbs = dbs
    run.report_dir = report_dir
    return run


def approvals(db):
    if not db.table_exists("hotdash_audit.approvals"):
        return []
    return db.query("SELECT gate, environment, approver, mode, ticket, versions, run_id, host, reason "
                    "FROM hotdash_audit.approvals ORDER BY id")


def test_naive_pause_gate_approves_without_a_terminal(tmp_path):
    """Why the gate exists: ansible.builtin.pause without a TTY continues with an empty answer."""
    (tmp_path / "naive.yml").write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.pause:\n        prompt: Apply to production? (yes/no)\n      register: answer\n"
        "    - ansible.builtin.debug:\n        msg: 'NAIVE GATE PASSED with [{{ answer.user_input }}]'\n")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), str(tmp_path / "naive.yml")],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=playbook_env(), timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout
    assert "NAIVE GATE PASSED with []" in proc.stdout


def test_headless_without_approval_fails_at_once_and_records_only_the_refusal(gate_run):
    before = [outside_the_trail(db) for db in gate_run.dbs]
    proc = gate_run()
    assert proc.returncode == 2, proc.stdout
    assert "PAST THE GATE" not in proc.stdout
    assert ("approval required for gate apply_production on production and this run has no terminal: pass "
            "supabase_approval_approver, supabase_approval_ticket, supabase_approval_at") in proc.stdout
    assert "Not waiting for response" not in proc.stdout
    assert [outside_the_trail(db) for db in gate_run.dbs] == before
    # production: each database keeps the attempt in its trail, and holds no approval
    assert [gate_refusals(db) for db in gate_run.dbs] == [
        [("approval_gate", "apply_production", "production", "db%d" % n)] for n in (1, 2)]
    assert [approvals(db) for db in gate_run.dbs] == [[], []]
    assert not gate_run.report_dir.exists()


def test_headless_with_approval_records_it_on_every_host_once(gate_run):
    extra = dict(supabase_approval_approver="maria", supabase_approval_ticket="CHG-1042",
                 supabase_approval_at=iso(2))
    proc = gate_run(**extra)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("PAST THE GATE headless") == 2
    for number, db in enumerate(gate_run.dbs, 1):
        assert approvals(db) == [("apply_production", "production", "maria", "headless", "CHG-1042",
                                  ["20251011000000", "20251012000000"], "production_20251019T020500Z",
                                  "db%d" % number, "Apply 2 migrations")]
        assert db.scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    lines = (gate_run.report_dir / "approvals.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["host"] for line in lines) == ["db1", "db2"]
    report = json.loads((gate_run.report_dir / "db1" / "approval.json").read_text())
    assert report["checks"][0]["status"] == "ok" and "maria" in report["checks"][0]["detail"]
    # the same approval again records nothing new
    again = gate_run(**extra)
    assert again.returncode == 0, again.stdout
    assert "changed=0" in again.stdout and "changed=1" not in again.stdout
    assert len(approvals(gate_run.dbs[0])) == 1
    assert len((gate_run.report_dir / "approvals.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("hours_ago, message", [
    (30, "hours old, older than supabase_approval_max_age_hours=24"),
    (-2, "is in the future"),
])
def test_stale_or_future_approval_is_refused(gate_run, hours_ago, message):
    proc = gate_run(supabase_approval_approver="maria", supabase_approval_ticket="CHG-1",
                    supabase_approval_at=iso(hours_ago))
    assert proc.returncode == 2 and message in proc.stdout, proc.stdout
    assert "PAST THE GATE" not in proc.stdout
    assert all(approvals(db) == [] for db in gate_run.dbs)


def test_waiver_is_recorded_outside_production_and_refused_in_production(gate_run):
    refused = gate_run(supabase_approval_mode="waiver", supabase_approval_waiver_reason="demo", gate="drift_resolution")
    assert refused.returncode == 2
    assert "a waiver is not allowed for gate drift_resolution on production" in refused.stdout
    assert all(approvals(db) == [] for db in gate_run.dbs)
    waived = gate_run(supabase_approval_mode="waiver", supabase_approval_waiver_reason="throwaway staging copy",
                      gate="drift_resolution", supabase_environment="staging")
    assert waived.returncode == 0, waived.stdout
    rows = approvals(gate_run.dbs[1])
    assert rows[0][1:4] == ("staging", os.environ.get("USER") or os.environ.get("LOGNAME") or rows[0][2], "waiver")
    assert rows[0][8] == "throwaway staging copy"
    report = json.loads((gate_run.report_dir / "db2" / "approval.json").read_text())
    assert report["checks"][0]["status"] == "waived"


def drive_pty(argv, answer, timeout=90):
    """Run argv in a pseudo-terminal; type ``answer`` at the approval prompt; return (rc, output)."""
    return drive_pty_answers(argv, [(b"Approve apply_production on production?", answer)], timeout)


def drive_pty_answers(argv, answers, timeout=90):
    """Run argv in a pseudo-terminal answering each ``(prompt, answer)`` in turn; return (rc, output).

    Ansible flushes pending input when its prompt starts reading, so an answer is typed once the
    output is quiet after its prompt, and typed again (at most 3 times) if the play did not move on
    (to the next prompt, a task or an error).
    """
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal and stdin
        try:
            os.execve(argv[0], argv, playbook_env())
        finally:
            os._exit(127)
    output, typed, last_typed, deadline = b"", [0] * len(answers), 0.0, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([fd], [], [], 0.3)
            if ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    break
                if not data:
                    break
                output += data
                continue
            rest, current = output, None
            for index, pair in enumerate(answers):
                if pair[0] not in rest:
                    break
                rest = rest.split(pair[0], 1)[1]
                current = index
            moved_on = b"TASK [" in rest or b"ERROR" in rest or b"fatal:" in rest
            retype = typed[current or 0] < 3 and time.monotonic() - last_typed > 2
            if current is not None and not moved_on and (typed[current] == 0 or retype):
                os.write(fd, answers[current][1].encode() + b"\r")
                typed[current], last_typed = typed[current] + 1, time.monotonic()
    finally:
        os.close(fd)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


@pytest.mark.parametrize("answer, passes", [("yes", True), ("no", False)])
def test_interactive_prompt_accepts_only_yes(gate_run, answer, passes):
    rc, out = drive_pty(gate_run.argv(supabase_approval_ticket="CHG-7"), answer)
    assert "APPROVAL REQUIRED: apply_production" in out
    assert "host(s)     : db1, db2" in out and "20251011000000, 20251012000000" in out and "Apply 2 migrations" in out
    if passes:
        assert rc == 0, out
        row = approvals(gate_run.dbs[0])[0]
        assert row[3] == "interactive" and row[4] == "CHG-7"
        assert row[2] == (os.environ.get("USER") or os.environ.get("LOGNAME") or row[2])
    else:
        assert rc == 2, out
        assert "only an explicit 'yes' approves" in out and "PAST THE GATE" not in out
        assert all(approvals(db) == [] for db in gate_run.dbs)


def test_forced_headless_does_not_prompt_on_a_terminal(gate_run):
    rc, out = drive_pty(gate_run.argv(supabase_approval_mode="headless"), "yes", timeout=60)
    assert rc == 2 and "APPROVAL REQUIRED" not in out
    assert "supabase_approval_mode is headless" in out


def test_approval_record_module_rejects_a_bad_record_without_touching_the_database(db, run_module):
    result = run_module("approval_record", {"db_url": db.url, "inventory_host": "db1",
                                            "record": {"gate": "apply_production", "mode": "headless"}})
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"] == ("approval record lacks environment, approver, approved_at; pass the record the "
                             "approval_gate action returned")
    assert not db.table_exists("hotdash_audit.approvals")


def test_approval_record_module_check_mode_writes_nothing(db, run_module, tmp_path):
    record = {"gate": "drift_resolution", "environment": "staging", "approver": "maria",
              "approved_at": "2025-10-19T02:05:00Z", "mode": "headless", "ticket": "CHG-1", "versions": ["1"]}
    args = {"db_url": db.url, "inventory_host": "db1", "record": record, "run_id": "r1", "report_dir": str(tmp_path)}
    planned = run_module("approval_record", args, check_mode=True)
    assert planned["changed"] and planned["inserted"] and planned["approval_id"] is None
    assert not db.table_exists("hotdash_audit.approvals") and not (tmp_path / "approvals.jsonl").exists()
    done = run_module("approval_record", args)
    assert done["changed"] and done["approval_id"] and done["appended"]
    assert run_module("approval_record", args)["changed"] is False


# --- checklist of acknowledgements: the runbook's production pre-flight lines about people -------------

CHECKLIST = [
    {"name": "devops_notified_at", "question": "DevOps notified 24 hours in advance", "type": "timestamp",
     "min_age_hours": 24},
    {"name": "incident_commander", "question": "Incident response team on standby (incident commander)",
     "type": "text"},
    {"name": "rollback_criteria_defined", "question": "Rollback decision criteria defined"},
]
APPROVED = dict(supabase_approval_approver="maria", supabase_approval_ticket="CHG-1042")


def fatal_result(output):
    """The JSON result of the gate's refusal on db1, parsed from the 'fatal: [db1]: FAILED! => {...}' line (each
    host records the refusal in its database, then fails with the gate's message)."""
    lines = [line for line in output.splitlines() if line.startswith("fatal: [")]
    assert sorted(line.split("]", 1)[0] for line in lines) == ["fatal: [db1", "fatal: [db2"], output
    return json.loads([line for line in lines if line.startswith("fatal: [db1]")][0].split(" => ", 1)[1])


def outside_the_trail(db):
    return [row for row in db.schema_fingerprint() if row[0] != "hotdash_audit"]


def gate_refusals(db):
    if not db.table_exists("hotdash_audit.refusals"):
        return []
    return db.query("SELECT action, gate, environment, host FROM hotdash_audit.refusals ORDER BY id")


def acknowledgements(db):
    if not db.table_exists("hotdash_audit.approvals"):
        return []
    return [row[0] for row in db.query("SELECT acknowledgements FROM hotdash_audit.approvals ORDER BY id")]


def test_headless_with_acknowledgements_missing_fails_at_once_naming_each_and_records_only_the_refusal(gate_run):
    before = [outside_the_trail(db) for db in gate_run.dbs]
    notified = iso(3)
    started = time.monotonic()
    proc = gate_run(supabase_approval_at=iso(1), supabase_approval_required_acknowledgements=CHECKLIST,
                    supabase_approval_acknowledgements={"devops_notified_at": notified}, **APPROVED)
    assert time.monotonic() - started < 60
    assert proc.returncode == 2, proc.stdout
    assert "PAST THE GATE" not in proc.stdout and "Not waiting for response" not in proc.stdout
    result = fatal_result(proc.stdout)
    assert result["msg"] == (
        "acknowledgements required for gate apply_production on production and this run has no terminal: "
        "devops_notified_at %s is 3 h before now; the runbook requires 24 h notice; "
        "incident_commander is missing (text: Incident response team on standby (incident commander)); "
        "rollback_criteria_defined is missing (true to confirm: Rollback decision criteria defined); "
        "pass supabase_approval_acknowledgements as a dict name -> true, an ISO 8601 UTC timestamp or text" % notified)
    assert result["acknowledgements_missing"] == ["incident_commander", "rollback_criteria_defined"]
    assert list(result["acknowledgements_invalid"]) == ["devops_notified_at"]
    assert [outside_the_trail(db) for db in gate_run.dbs] == before
    assert [len(gate_refusals(db)) for db in gate_run.dbs] == [1, 1]
    assert [acknowledgements(db) for db in gate_run.dbs] == [[], []]
    assert not gate_run.report_dir.exists()


def test_headless_with_acknowledgements_records_them_in_audit_jsonl_and_report(gate_run):
    given = {"devops_notified_at": iso(26), "incident_commander": "Ana Lima", "rollback_criteria_defined": True}
    # an item for another gate is neither required nor recorded here
    checklist = CHECKLIST + [{"name": "restore_point_named", "question": "Restore point named", "type": "text",
                              "gates": ["production_rollback"]}]
    proc = gate_run(supabase_approval_at=iso(1), supabase_approval_required_acknowledgements=checklist,
                    supabase_approval_acknowledgements=given, **APPROVED)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count("PAST THE GATE headless") == 2
    for db in gate_run.dbs:
        assert acknowledgements(db) == [given]
    lines = [json.loads(line) for line in (gate_run.report_dir / "approvals.jsonl").read_text().splitlines()]
    assert [line["acknowledgements"] for line in lines] == [given, given]
    report = json.loads((gate_run.report_dir / "db1" / "approval.json").read_text())
    assert [c["name"] for c in report["checks"]] == [
        "approval apply_production", "acknowledged devops_notified_at", "acknowledged incident_commander",
        "acknowledged rollback_criteria_defined"]
    assert report["checks"][2]["detail"] == "Incident response team on standby (incident commander): Ana Lima"
    assert "[PASS] acknowledged rollback_criteria_defined: Rollback decision criteria defined: yes" in proc.stdout


def test_interactive_run_asks_every_checklist_question_and_records_the_answers(gate_run):
    notified = iso(30)
    rc, out = drive_pty_answers(
        gate_run.argv(supabase_approval_required_acknowledgements=CHECKLIST, supabase_approval_ticket="CHG-7"),
        [(b"[1/3] DevOps notified 24 hours in advance", notified),
         (b"[2/3] Incident response team on standby", "Ana Lima"),
         (b"[3/3] Rollback decision criteria defined (type yes)", "yes"),
         (b"Approve apply_production on production?", "yes")])
    assert rc == 0, out
    assert "1. DevOps notified 24 hours in advance [devops_notified_at]" in out
    assert "3. Rollback decision criteria defined [rollback_criteria_defined]" in out
    expected = {"devops_notified_at": notified, "incident_commander": "Ana Lima", "rollback_criteria_defined": True}
    for db in gate_run.dbs:
        assert acknowledgements(db) == [expected]
        assert approvals(db)[0][3:5] == ("interactive", "CHG-7")


def test_interactive_notice_too_recent_fails_closed_at_that_question(gate_run):
    rc, out = drive_pty_answers(gate_run.argv(supabase_approval_required_acknowledgements=CHECKLIST),
                                [(b"[1/3] DevOps notified 24 hours in advance", iso(2))])
    assert rc == 2, out
    assert "was not approved: devops_notified_at" in out and "is 2 h before now; the runbook requires 24 h notice" in out
    assert "[2/3]" not in out and "PAST THE GATE" not in out
    assert all(approvals(db) == [] for db in gate_run.dbs)
