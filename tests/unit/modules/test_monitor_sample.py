"""monitor_sample and db_inspect input checks without a database (docs vs spec: test_module_documentation.py)."""
import pytest


@pytest.mark.parametrize("basename", ["../x", ".hidden", ""])
def test_bad_basename_fails_before_connecting(basename, run_module, tmp_path):
    # Port 1 is never listening: reaching the database would fail with "cannot connect" instead.
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               basename=basename))
    assert result["failed"] and "basename must be a plain file name" in result["msg"]
    assert "\n" not in result["msg"]


def test_bad_threshold_fails_before_connecting(run_module, tmp_path):
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               error_rate_warn=0.2, error_rate_rollback=0.1))
    assert result["failed"] and result["msg"] == "error_rate_warn (0.2) must not exceed error_rate_rollback (0.1)"


def test_unknown_report_is_refused_by_the_spec(run_module):
    result = run_module("db_inspect", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", reports=["cache-hits"]))
    assert result["failed"] and "cache-hits" in result["msg"]
