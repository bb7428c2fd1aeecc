"""Artifact files as the modules write them: simple names only, modes 0640 (0600 for dumps and approvals), run
directories 0750, all under the process umask."""
import os
import stat
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from file_modes import umask  # noqa: E402

CHECKS = [{"name": "drift", "status": "ok", "detail": "in sync"}]


def modes(root):
    """{relative path: mode} of everything below ``root``."""
    out = {}
    for base, dirs, files in os.walk(str(root)):
        for name in dirs + files:
            path = os.path.join(base, name)
            out[os.path.relpath(path, str(root))] = stat.S_IMODE(os.lstat(path).st_mode)
    return out


@pytest.mark.parametrize("name", ["../../escaped", "sub/report", "..", ".hidden"])
def test_check_report_name_is_a_simple_name(tmp_path, run_module, name):
    report_dir = tmp_path / "run" / "host"
    report_dir.mkdir(parents=True)
    result = run_module("check_report", {"name": name, "report_dir": str(report_dir), "checks": CHECKS})
    assert result.get("failed") is True, result
    assert result["msg"] == ("name must be a simple name (letters, digits, '.', '_', '-'; no '/' or '..'), got %r"
                             % name)
    assert sorted(modes(tmp_path)) == ["run", "run/host"]  # nothing written, inside or outside


@pytest.mark.parametrize("module,args,option", [
    ("monitor_sample", {"basename": "../monitor", "window": 0}, "basename"),
    ("run_directory", {"label": "staging", "run_id": "../x"}, "run_id"),
])
def test_other_path_options_are_simple_names(db, tmp_path, run_module, module, args, option):
    args = dict(args, **({"output_dir": str(tmp_path / "out")} if module == "monitor_sample" else
                         {"base_dir": str(tmp_path / "out")}))
    if module == "monitor_sample":
        args.update(db.connection_args(), chart=False)
    result = run_module(module, args)
    assert result.get("failed") is True and result["msg"].startswith("%s must be a simple name" % option), result
    assert not (tmp_path / "x").exists() and not (tmp_path / "monitor.jsonl").exists()


@pytest.mark.parametrize("mask,file_mode,private_mode,dir_mode", [
    (0o022, 0o640, 0o600, 0o750), (0o077, 0o600, 0o600, 0o700)])
def test_modules_create_artifacts_with_modes_under_the_umask(db, tmp_path, run_module, mask, file_mode, private_mode,
                                                             dir_mode):
    base = tmp_path / "artifacts"
    with umask(mask):
        run = run_module("run_directory", {"base_dir": str(base / "data"), "label": "staging", "run_id": "r1"})
        assert not run.get("failed"), run
        host_dir = base / "data" / "r1" / "db1"
        report = run_module("check_report", {"name": "preflight", "report_dir": str(host_dir), "checks": CHECKS})
        assert not report.get("failed"), report
        sample = run_module("monitor_sample", dict(db.connection_args(), output_dir=str(host_dir), window=0,
                                                   chart=True))
        assert not sample.get("failed"), sample
        record = {"gate": "apply_staging", "environment": "staging", "approver": "maria",
                  "approved_at": "2025-10-19T02:05:00Z", "mode": "headless", "ticket": "CHG-1", "versions": ["1"]}
        approval = run_module("approval_record", {"db_url": db.url, "inventory_host": "db1", "record": record,
                                                  "run_id": "r1", "report_dir": str(base / "data" / "r1")})
        assert not approval.get("failed"), approval
        dump = run_module("backup", dict(db.connection_args(), provider="pg_dump", backup_dir=str(base / "backups"),
                                         host_label="db1", environment="staging"))
        assert not dump.get("failed"), dump
    found = modes(base)
    private = [p for p in found if p.endswith((".dump", "approvals.jsonl"))]
    directories = [p for p in found if os.path.isdir(str(base / p))]
    assert len(private) == 2 and set(found[p] for p in private) == {private_mode}, found
    assert "data/r1" in directories and set(found[p] for p in directories) == {dir_mode}, found
    files = [p for p in found if p not in private and p not in directories]
    assert any(p.endswith("monitor.png") for p in files) and any(p.endswith("preflight.junit.xml") for p in files)
    assert set(found[p] for p in files) == {file_mode}, found
