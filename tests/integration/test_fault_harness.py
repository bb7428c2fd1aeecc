"""The fault-injection harness (tests/support/faults.py) does what the fault tests rely on."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

from faults import GATE_TABLE_SQL, file_size_limit, gate_sql, open_gate, wait_at_gate, write_migrations  # noqa: E402
from module_process import ModuleProcess  # noqa: E402


def test_a_gate_holds_an_apply_in_the_middle_of_a_migration(db, project, tmp_path):
    db.execute(GATE_TABLE_SQL)
    write_migrations(project, [("20250101000001", "one", "create table public.one (id int);\n"),
                               ("20250101000002", "two", "create table public.two (id int);\n" + gate_sql("two"))])
    proc = ModuleProcess.start("migration_apply", dict(db_url=db.url, project_dir=str(project),
                                                       log_path=str(tmp_path / "apply.log")), str(tmp_path / "m"))
    pid = wait_at_gate(db, "two", process=proc)
    # Mid-migration: the first one committed, the second's transaction is open and unseen.
    assert db.scalar("select application_name from pg_stat_activity where pid = %s", (pid,)).startswith("hotdash")
    assert sorted(db.history()) == ["20250101000001"]
    assert not db.table_exists("public.two") and proc.running()
    open_gate(db, "two")
    result = proc.wait()
    assert [item["version"] for item in result["applied"]] == ["20250101000001", "20250101000002"], result
    assert db.table_exists("public.two")


def test_file_size_limit_fails_writes_past_it(tmp_path):
    target = str(tmp_path / "log")
    proc = subprocess.run([sys.executable, "-c", "f = open(%r, 'a', 1)\nfor i in range(100): f.write('x' * 9 + '\\n')"
                           % target], preexec_fn=file_size_limit(55), stderr=subprocess.PIPE, text=True, check=False)
    assert proc.returncode != 0 and "File too large" in proc.stderr
    assert os.path.getsize(target) == 55
