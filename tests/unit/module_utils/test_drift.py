"""Drift classification without a database: states, counts, messages."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.drift import (
    classify,
    hazard_message,
    naming_message,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import MigrationDirectoryError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements


def project(tmp_path, files):
    mig = tmp_path / "supabase" / "migrations"
    mig.mkdir(parents=True)
    for name, text in files.items():
        (mig / name).write_text(text)
    return load_directory(str(tmp_path))


def row(version, name, text):
    return HistoryRow(version, name, split_statements(text) if text is not None else None)


def test_every_state(tmp_path):
    local = project(tmp_path, {
        "20251011000000_a.sql": "select 1;",
        "20251012000000_b.sql": "select 2;",          # edited after apply
        "20251013000000_c.sql": "select 3;",          # older than the newest applied: out of order
        "20251016000000_e.sql": "select 5;",          # pending
    })
    remote = [row("20251011000000", "a", "select 1;"), row("20251012000000", "b", "select 22;"),
              row("20251014000000", "d", "select 4;"), row("20251015000000", "old", None)]
    report = classify(local, remote)
    states = dict((e["version"], e["state"]) for e in report.entries)
    assert states == {"20251011000000": "applied", "20251012000000": "content_changed",
                      "20251013000000": "out_of_order", "20251014000000": "remote_only",
                      "20251015000000": "remote_only", "20251016000000": "pending"}
    assert [e["version"] for e in report.entries] == sorted(states)
    assert report.state_counts == {"applied": 1, "pending": 1, "out_of_order": 1, "content_changed": 1,
                                   "remote_only": 2, "total": 6}
    assert [m.version for m in report.pending] == ["20251013000000", "20251016000000"]
    assert report.newest_applied == "20251015000000"
    assert report.in_sync is False
    changed = [e for e in report.entries if e["state"] == "content_changed"][0]
    assert changed["detail"] == "statement 1 of 1 differs"
    message = report.drift_message()
    assert "\n" not in message and "20251014000000, 20251015000000" in message
    assert "20251012000000_b.sql" in message
    result = report.as_dict()
    assert result["remote_only"] == [{"version": "20251014000000", "name": "d"},
                                     {"version": "20251015000000", "name": "old"}]
    assert result["content_changed"] == ["20251012000000"] and result["out_of_order"] == ["20251013000000"]


def test_in_sync_and_unverified_rows(tmp_path):
    local = project(tmp_path, {"20251011000000_a.sql": "select 1;", "20251012000000_b.sql": "select 2;"})
    report = classify(local, [row("20251011000000", "a", "select 1;"), row("20251012000000", "b", None)])
    assert report.in_sync is True and report.drift_message() is None
    assert report.unverified == ["20251012000000"]
    assert report.state_counts["applied"] == 2


def test_empty_history_everything_pending(tmp_path):
    local = project(tmp_path, {"20251011000000_a.sql": "select 1;"})
    report = classify(local, [], history_table_exists=False)
    assert report.state_counts["pending"] == 1 and report.newest_applied is None
    assert report.as_dict()["history_table_exists"] is False


def test_duplicate_version_matches_the_recorded_file_by_name(tmp_path):
    local = project(tmp_path, {"20251015_dashboard_rpc_functions.sql": "select 1;",
                               "20251015_dashboard_tile_queries.sql": "select 2;"})
    # The CLI applied the first file, then failed on the second: the seed's situation.
    report = classify(local, [row("20251015", "dashboard_rpc_functions", "select 1;")])
    states = [(e["file"], e["state"], e.get("duplicate")) for e in report.entries]
    assert states == [("20251015_dashboard_rpc_functions.sql", "applied", True),
                      ("20251015_dashboard_tile_queries.sql", "pending", True)]
    result = report.as_dict()
    assert "rename 20251015_dashboard_tile_queries.sql to 20251015000100_dashboard_tile_queries.sql" \
        in result["duplicate_message"]
    assert "20251015000000_dashboard_rpc_functions" not in result["duplicate_message"]


def test_mixed_widths_count_remote_versions(tmp_path):
    local = project(tmp_path, {"20251011000000_a.sql": "select 1;"})
    assert classify(local, []).mixed_widths is False
    assert classify(local, [row("20251010", "x", "select 1;")]).mixed_widths is True


def test_unreadable_pending_file_fails_before_anything(tmp_path):
    local = project(tmp_path, {"20251011000000_a.sql": "   \n"})
    with pytest.raises(MigrationDirectoryError) as err:
        classify(local, [])
    assert "is empty" in str(err.value)


def test_naming_and_hazard_messages(tmp_path):
    local = project(tmp_path, {"20251015_a.sql": "select 1;", "20251016000000_b.sql": "select 1;",
                               "20251017000000_b.down.sql": "select 1;"})
    message = naming_message(local)
    assert message.startswith("migration naming: 2 of 3 files (66.7 %)")
    assert "20251015_a.sql -> 20251015000000_a.sql" in message and "\n" not in message
    assert "20251017000000_b.down.sql" in hazard_message(local)


def test_classify_is_linear(tmp_path):
    files = dict(("2025%010d_m.sql" % i, "select %d;" % i) for i in range(1000))
    local = project(tmp_path, files)
    remote = [row("2025%010d" % i, "m", "select %d;" % i) for i in range(1000)]
    report = classify(local, remote)
    assert report.in_sync and report.state_counts["applied"] == 1000
