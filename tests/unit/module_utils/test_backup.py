"""Backup freshness providers and their check (no database)."""
import os
import sys

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import backup


def test_evaluate_fresh_stale_and_missing():
    now = 1760842800.0
    fresh = backup.finding("path", now - 3 * 3600, "/b/*", now=now)
    assert backup.evaluate(fresh, 12)[0] == "ok"
    stale = backup.finding("path", now - 13 * 3600, "/b/*", now=now)
    status, detail, remedy = backup.evaluate(stale, 12)
    assert status == "fail" and "13.0 h old, limit 12 h" in detail and remedy
    assert backup.evaluate(backup.finding("path", None, "/b/*"), 12)[0] == "fail"
    assert backup.default_max_age_hours("production") == 12 and backup.default_max_age_hours("staging") == 24


def test_from_path_ignores_temporary_dumps_and_other_patterns(tmp_path):
    (tmp_path / "a.dump").write_text("a")
    (tmp_path / ".tmp-1-b.dump").write_text("b")
    (tmp_path / "c.log").write_text("c")
    os.utime(str(tmp_path / "a.dump"), (1000, 1000))
    found = backup.from_path(str(tmp_path), "*.dump", now=1000 + 3600)
    assert found["file"] == str(tmp_path / "a.dump") and found["age_hours"] == 1.0
    assert backup.from_path(str(tmp_path), "*.sql")["newest_unix"] is None


def test_from_command_parses_last_line_and_reports_failures():
    found = backup.from_command([sys.executable, "-c", "print('noise'); print('2025-10-19T03:00:00Z')"],
                                now=1760842800.0 + 7200)
    assert found["age_hours"] == 2.0
    with pytest.raises(backup.BackupError) as err:
        backup.from_command([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert "exited 3" in str(err.value)
    with pytest.raises(backup.BackupError):
        backup.from_command(["/nonexistent/tool"])


def test_backup_freshness_from_documented_shape():
    data = {"pitr_enabled": False, "walg_enabled": True,
            "backups": [{"is_physical_backup": True, "status": "COMPLETED", "inserted_at": "2025-10-19T03:00:00.000Z"},
                        {"is_physical_backup": True, "status": "FAILED", "inserted_at": "2025-10-19T09:00:00.000Z"}],
            "physical_backup_data": {}}
    newest, pitr, completed = backup.backup_freshness(data, now_unix=1760900000)
    assert newest == 1760842800.0 and pitr is False and completed == 1
    data["pitr_enabled"] = True
    assert backup.backup_freshness(data, now_unix=1760900000)[0] == 1760900000
