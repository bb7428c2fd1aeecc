"""The apply role through ansible-playbook against real PostgreSQL: check mode, apply, second run, failure export."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")

PLAYBOOK = """
- name: Apply role under test
  hosts: db1
  gather_facts: false
  roles:
    - role: hotdash.supabase.apply
  post_tasks:
    - name: Keep what the role exported
      check_mode: false
      ansible.builtin.copy:
        dest: "{{ supabase_report_dir }}/exported.json"
        mode: "0600"
        content: "{{ {'applied': supabase_apply_result.applied, 'planned': supabase_apply_result.planned,
                      'log': supabase_apply_result.log_path, 'failed': supabase_apply_result.failed,
                      'error': supabase_apply_result.error, 'partial': supabase_apply_result.partial,
                      'failed_file': supabase_apply_result.failed_file, 'cause': supabase_apply_result.cause,
                      'applied_verified': supabase_apply_result.applied_verified,
                      'blocker': supabase_apply_result.blocker} | to_json }}"
"""


def play(tmp_path, db_url, project, check=False, **extra):
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts").write_text("db1 ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    variables = dict(supabase_db_url=db_url, supabase_project_dir=str(project),
                     supabase_report_dir=str(tmp_path / "run"), supabase_environment="staging")
    variables.update(extra)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".build", "collections"))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(tmp_path / "hosts"),
            str(tmp_path / "site.yml"), "-e", "@" + str(tmp_path / "vars.json")] + (["--check"] if check else [])
    proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)
    exported = tmp_path / "run" / "exported.json"
    data = json.loads(exported.read_text()) if exported.exists() else None
    if exported.exists():
        exported.unlink()
    return proc, data


def role_changed(output):
    """Tasks of the role reported as changed (the test's own copy task is not counted)."""
    lines = output.splitlines()
    changed = []
    for index, line in enumerate(lines):
        if line.startswith("TASK [hotdash.supabase.apply : "):
            status = next((x for x in lines[index + 1:] if x.strip()), "")
            if status.startswith("changed:"):
                changed.append(line)
    return changed


def test_check_mode_lists_then_apply_then_nothing_changes(db, tmp_path):
    proc, data = play(tmp_path, db.url, EXAMPLE, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "pending on db1: 6 migration(s)" in proc.stdout
    assert data["planned"][0] == "20251011090000" and len(data["planned"]) == 6
    assert data["applied"] == [] and data["failed"] is False
    assert db.history() == {}

    proc, data = play(tmp_path, db.url, EXAMPLE)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(role_changed(proc.stdout)) == 1
    assert len(data["applied"]) == 6 and sorted(db.history()) == data["applied"]
    assert os.path.basename(data["log"]).startswith("staging_migration_apply_")
    assert os.path.dirname(data["log"]) == str(tmp_path / "run" / "db1")
    report = json.loads((tmp_path / "run" / "db1" / "apply.json").read_text())
    assert report["summary"]["passed"]
    assert db.password not in proc.stdout.replace("postgres@", "").replace("postgres:", "")

    proc, data = play(tmp_path, db.url, EXAMPLE)
    assert proc.returncode == 0 and role_changed(proc.stdout) == []
    assert data["applied"] == [] and data["log"] is None


def test_an_apply_error_is_exported_or_fails_the_play(db, tmp_path):
    project = tmp_path / "project"
    (project / "supabase" / "migrations").mkdir(parents=True)
    (project / "supabase" / "migrations" / "20250101000001_ok.sql").write_text("create table public.a (id int);\n")
    (project / "supabase" / "migrations" / "20250101000002_bad.sql").write_text("create table public.a (id int);\n")

    proc, data = play(tmp_path, db.url, project, supabase_apply_fail_on_failed=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["failed"] is True and data["applied"] == ["20250101000001"]
    assert "20250101000002_bad.sql" in data["error"] and "already exists" in data["error"]
    assert "\n" not in data["error"]
    assert data["failed_file"] == "20250101000002_bad.sql" and data["partial"] is False
    report = json.loads((tmp_path / "run" / "db1" / "apply.json").read_text())
    assert report["summary"]["failed_checks"] == ["apply"]
    assert sorted(db.history()) == ["20250101000001"]

    proc, data = play(tmp_path, db.url, project)
    assert proc.returncode != 0
    assert "migration apply failed on db1: migration 20250101000002_bad.sql" in proc.stdout
    assert data is None  # the play stopped in the role


def test_a_partially_applied_file_is_exported_as_partial(db, tmp_path):
    project = tmp_path / "project"
    (project / "supabase" / "migrations").mkdir(parents=True)
    (project / "supabase" / "migrations" / "20251011000000_x.sql").write_text(
        "create table x (id int);\ncreate index concurrently x_id on x (id);\ncreate table x (id int);\n")

    proc, data = play(tmp_path, db.url, project, supabase_apply_fail_on_failed=False,
                      supabase_apply_non_transactional="isolate")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["failed"] is True and data["partial"] is True and data["applied"] == []
    assert data["failed_file"] == "20251011000000_x.sql" and "PARTIALLY" in data["error"]
    report = json.loads((tmp_path / "run" / "db1" / "apply.json").read_text())
    apply_check = [c for c in report["checks"] if c["name"] == "apply"][0]
    assert apply_check["status"] == "fail" and apply_check["data"]["partial"] is True


def test_check_mode_dry_run_names_the_statement_that_would_fail_before_the_window(db, tmp_path):
    project = tmp_path / "project"
    (project / "supabase" / "migrations").mkdir(parents=True)
    (project / "supabase" / "migrations" / "20250101000001_ok.sql").write_text("create table public.a (id int);\n")
    (project / "supabase" / "migrations" / "20250101000002_bad.sql").write_text(
        "alter table public.a add column b int;\ncreate table public.a (id int);\n")
    before = db.schema_fingerprint()
    # ansible-playbook --check with the dry run, the shadow a scratch database on the test cluster.
    proc, data = play(tmp_path, db.url, project, check=True, supabase_apply_dry_run=True,
                      supabase_apply_fail_on_failed=False, supabase_shadow="server",
                      supabase_shadow_server_url=db.cluster["url"])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["failed"] is True and data["applied"] == [] and data["failed_file"] == "20250101000002_bad.sql"
    assert ("migration 20250101000002_bad.sql would fail at statement 2 of 2 (create table public.a (id int)): "
            "relation \"a\" already exists (SQLSTATE 42P07); nothing was changed on the target") in data["error"]
    report = json.loads((tmp_path / "run" / "db1" / "apply.json").read_text())
    assert report["summary"]["failed_checks"] == ["apply (check mode)"]
    assert db.history() == {} and db.schema_fingerprint() == before
    assert ":%s@" % db.password not in proc.stdout


def test_a_long_reader_is_waited_for_within_the_budget_then_named(db, tmp_path):
    """With the role's defaults the apply never queues behind a reader's old transaction: it waits, and when
    supabase_apply_lock_retry_budget is spent the export, the error and the apply report name the reader, with
    what committed before it re-read from the history."""
    project = tmp_path / "project"
    (project / "supabase" / "migrations").mkdir(parents=True)
    (project / "supabase" / "migrations" / "20250101000001_one.sql").write_text("create table public.one (id int);\n")
    (project / "supabase" / "migrations" / "20250101000002_note.sql").write_text(
        "alter table public.accounts add column note text;\n")
    db.execute("create table public.accounts (id int, email text)")
    reader = db.connect(autocommit=False)
    pid = "pid %d" % reader.get_backend_pid()
    try:
        with reader.cursor() as cur:
            cur.execute("set application_name = 'nightly-export'")
            cur.execute("select * from public.accounts where email = 'someone@example.com'")
        proc, data = play(tmp_path, db.url, project, supabase_apply_fail_on_failed=False,
                          supabase_apply_lock_retry_budget=2)
    finally:
        reader.rollback()
        reader.close()
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["failed"] is True and data["failed_file"] == "20250101000002_note.sql", data
    assert data["applied"] == ["20250101000001"] and data["applied_verified"] is True
    assert sorted(db.history()) == ["20250101000001"]
    assert not db.scalar("select count(*) from information_schema.columns where column_name = 'note'")
    for text in (data["blocker"], data["error"]):
        assert pid in text and "'nightly-export'" in text and "idle in transaction" in text, text
        assert "someone@example.com" not in text
    assert "2 s lock budget" in data["error"] and "lock budget" in data["cause"]
    report = (tmp_path / "run" / "db1" / "apply.md").read_text()
    assert pid in report and "applied before the failure: 20250101000001" in report, report
