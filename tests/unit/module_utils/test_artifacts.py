"""Artifact names and modes: simple names only, 0640/0600 files and 0750 directories under the umask."""
import os
import stat
import sys

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import artifacts
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
from file_modes import umask  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


@pytest.mark.parametrize("name", ["verify", "preflight.staging", "monitor_2026-11-30", "A1"])
def test_simple_names_pass(name):
    assert artifacts.simple_name(name, "name") == name


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", ".", ".hidden", "", "x\x00", "a\\b", "x..y", " x", 3, None,
                                  "n" * 129])
def test_anything_else_is_refused_naming_the_option_and_value(name):
    with pytest.raises(InvalidInput) as info:
        artifacts.simple_name(name, "name")
    assert str(info.value).startswith("name must be a simple name (letters, digits, '.', '_', '-'; no '/' or '..'), "
                                      "got %r" % (name,))


@pytest.mark.parametrize("mask,file_mode,private_mode,dir_mode", [
    (0o022, 0o640, 0o600, 0o750), (0o077, 0o600, 0o600, 0o700), (0o027, 0o640, 0o600, 0o750)])
def test_modes_honour_the_umask(tmp_path, mask, file_mode, private_mode, dir_mode):
    with umask(mask):
        report = artifacts.write_file(str(tmp_path / "run" / "host" / "verify.json"), "{}")
        dump = artifacts.write_file(str(tmp_path / "run" / "dump.sql"), b"-- dump", mode=artifacts.PRIVATE_MODE)
        with artifacts.open_append(str(tmp_path / "run" / "approvals.jsonl"), mode=artifacts.PRIVATE_MODE) as handle:
            handle.write("{}\n")
        with artifacts.open_new(str(tmp_path / "run" / "apply.log")) as handle:
            handle.write("log\n")
    assert mode(report) == file_mode and mode(tmp_path / "run" / "apply.log") == file_mode
    assert mode(dump) == private_mode and mode(tmp_path / "run" / "approvals.jsonl") == private_mode
    assert mode(tmp_path / "run") == dir_mode and mode(tmp_path / "run" / "host") == dir_mode


def test_rewrite_is_atomic_and_does_not_keep_a_wider_mode(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("old")
    os.chmod(str(path), 0o666)
    with umask(0o022):
        artifacts.write_file(str(path), "new")
    assert path.read_text() == "new" and mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_append_keeps_what_is_there_and_open_new_refuses_an_existing_file(tmp_path):
    path = str(tmp_path / "samples.jsonl")
    for line in ("a\n", "b\n"):
        with artifacts.open_append(path) as handle:
            handle.write(line)
    assert open(path).read() == "a\nb\n"
    with pytest.raises(FileExistsError):
        artifacts.open_new(path)


def test_existing_directories_are_left_as_they_are(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    with umask(0o022):
        artifacts.make_directories(str(tmp_path / "a" / "b"))
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "a") == 0o750 and mode(tmp_path / "a" / "b") == 0o750
