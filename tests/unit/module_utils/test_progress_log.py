"""Unit tests of the progress logs of apply and rollback."""
import datetime

from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import ProgressLog, apply_log_path


def test_apply_log_path():
    now = datetime.datetime(2025, 10, 19, 2, 3, 4, tzinfo=datetime.timezone.utc)
    assert apply_log_path("production", "/srv", now) == \
        "/srv/artifacts/data/production_migration_apply_20251019_020304.log"


def test_log_is_exclusive_per_run_and_redacted(tmp_path):
    path = str(tmp_path / "a" / "x.log")
    first = ProgressLog(path, exclusive=True, secrets=["hunter22"])
    second = ProgressLog(path, exclusive=True)
    assert first.path != second.path and second.path.endswith("x_2.log")
    first.write("connecting to postgresql://u:hunter22@h/db")
    first.close()
    second.close()
    text = open(first.path).read()
    assert "hunter22" not in text and text.endswith("\n")
