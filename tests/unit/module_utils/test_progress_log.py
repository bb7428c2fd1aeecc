"""Unit tests of the progress logs of apply and rollback."""
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import LogUnwritable
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


def test_a_full_disk_names_the_log_once():
    log = ProgressLog("/dev/full")
    with pytest.raises(LogUnwritable) as full:
        log.write("applying 20250101_a.sql")
    assert str(full.value) == "cannot write the log /dev/full: No space left on device"
    assert full.value.result == {"log_path": "/dev/full"}
    log.write("FAILED: ...")  # saying why the run stopped does not fail a second time
    log.close()
