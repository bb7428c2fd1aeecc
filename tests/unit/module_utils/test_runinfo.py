"""Unit tests of the run directory convention and index.md (files only)."""
import datetime
import os

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import runinfo
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

MOMENT = datetime.datetime(2025, 10, 19, 9, 46, 0, tzinfo=datetime.timezone.utc)


def test_run_id_and_unique_directories(tmp_path):
    assert runinfo.make_run_id("production", MOMENT) == "production_20251019T094600Z"
    first = runinfo.create_run_dir(str(tmp_path), "production", moment=MOMENT)
    second = runinfo.create_run_dir(str(tmp_path), "production", moment=MOMENT)
    assert first[0] == "production_20251019T094600Z" and first[2]
    assert second[0] == "production_20251019T094600Z_2" and os.path.isdir(second[1])
    reused = runinfo.create_run_dir(str(tmp_path), "production", run_id=first[0])
    assert reused == (first[0], first[1], False)
    assert runinfo.planned_run_dir(str(tmp_path), "staging", moment=MOMENT)[2] is True
    assert not os.path.exists(os.path.join(str(tmp_path), "staging_20251019T094600Z"))


@pytest.mark.parametrize("environment", ["", "../prod", "prod/eu"])
def test_unsafe_environment_names_are_refused(tmp_path, environment):
    with pytest.raises(InvalidInput, match="label must be a simple name"):
        runinfo.create_run_dir(str(tmp_path), environment)
    with pytest.raises(InvalidInput, match="run_id must be a simple name"):
        runinfo.create_run_dir(str(tmp_path), "prod", run_id="../x")


def test_phase_of_report_files():
    assert runinfo.phase_of("preflight.junit.xml") == "preflight"
    assert runinfo.phase_of("monitor.png") == "monitor"
    assert runinfo.phase_of("apply.log") == "apply"
    assert runinfo.phase_of("README") == "README"


def _touch(root, rel):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("x")


def test_index_links_every_file_by_host_and_phase_and_is_stable(tmp_path):
    run = str(tmp_path / "production_20251019T094600Z")
    for rel in ["approvals.jsonl", "apply.log", "prod-eu/preflight.json", "prod-eu/preflight.md",
                "prod-eu/preflight.junit.xml", "prod-eu/monitor.png", "prod-us/verify.md", ".tmp-abc",
                "prod-us/my file (1).md"]:
        _touch(run, rel)
    path, changed, files = runinfo.write_index(run, meta={"environment": "production"})
    assert changed and ".tmp-abc" not in files and "index.md" not in files and len(files) == 8
    text = open(path).read()
    assert text.startswith("# Run production_20251019T094600Z\n")
    assert "- **environment**: production" in text
    assert "| approvals | [approvals.jsonl](approvals.jsonl) |" in text
    assert "## Host prod-eu" in text and "## Host prod-us" in text
    assert ("| preflight | [preflight.json](prod-eu/preflight.json) · [preflight.junit.xml](prod-eu/preflight.junit.xml)"
            " · [preflight.md](prod-eu/preflight.md) |") in text
    assert "(prod-us/my%20file%20%281%29.md)" in text
    assert text.index("Run-level files") < text.index("Host prod-eu") < text.index("Host prod-us")
    # unchanged files: same text, nothing written; a new file changes it
    assert runinfo.write_index(run, meta={"environment": "production"})[1] is False
    _touch(run, "prod-us/rollback.json")
    assert runinfo.write_index(run, meta={"environment": "production"}, check_mode=True)[1] is True
    assert "rollback.json" not in open(path).read()


def test_index_of_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist; create it with hotdash.supabase.run_directory"):
        runinfo.write_index(str(tmp_path / "nope"))
