"""Unit tests of the native apply engine's retry loop (no database)."""
from collections import namedtuple

from ansible_collections.hotdash.supabase.plugins.module_utils import apply_native
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, PlannedMigration
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import LOCK_NOT_AVAILABLE


def test_apply_one_retries_lock_timeouts_with_backoff(monkeypatch):
    """apply_one's retry loop, with the segment runner replaced: two lock timeouts, then success."""
    class LockError(Exception):
        pgcode = LOCK_NOT_AVAILABLE

    calls = []

    def fake_run(conn, planned, segment, options, write_history):
        calls.append(write_history)
        if len(calls) < 3:
            raise apply_native._StatementFailed(1, LockError("lock timeout"), True)

    monkeypatch.setattr(apply_native, "_run_segment", fake_run)
    planned = PlannedMigration(
        namedtuple("M", "version name filename")("1", "a", "1_a.sql"), ["alter table t add c int"], [],
        [dict(transactional=True, indexes=[1])])
    sleeps = []
    result = apply_native.apply_one(NoBlockers(), planned, ApplyOptions(lock_retries=3, lock_retry_backoff=0.5),
                                    sleep=sleeps.append)
    # Jittered exponential backoff: each wait between half and all of 0.5 s, then of 1 s.
    assert result["attempts"] == 3 and calls == [True, True, True]
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


class NoBlockers(object):
    """A connection whose pg_locks shows nobody in the way (for apply_one's checks between attempts)."""
    autocommit = True

    def cursor(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, query, params=None):
        pass

    def fetchall(self):
        return []
