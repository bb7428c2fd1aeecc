"""ControllerWatch with real processes: signals are remembered instead of killing, and the controller's
death (kill -9, no signal reaches the module) is noticed."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.controller_watch import (
    ControllerWatch,
    controller_chain,
    is_ansible_process,
)

COLLECTIONS = [p for p in sys.path if p.endswith(os.path.join(".build", "collections"))][0]

PROBE = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, %r)
    from ansible_collections.hotdash.supabase.plugins.module_utils.controller_watch import ControllerWatch
    out = sys.argv[1]
    with ControllerWatch() as watch:
        with open(out + ".chain", "w") as handle:
            json.dump([label for _pid, _start, label in watch.chain], handle)
        deadline = time.time() + 60
        while time.time() < deadline and watch.stop_reason() is None:
            time.sleep(0.05)
        with open(out, "w") as handle:
            handle.write(str(watch.stop_reason()))
""")


@pytest.fixture
def fake_controller(tmp_path):
    """A stand-in ``ansible-playbook`` that starts the probe through ``/bin/sh -c``, as Ansible starts a module."""
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE % COLLECTIONS)
    launcher = tmp_path / "ansible-playbook"
    launcher.write_text("#!%s\nimport subprocess, sys\nsubprocess.call(['/bin/sh', '-c', '%s %s %s; sleep 0'])\n"
                        % (sys.executable, sys.executable, probe, tmp_path / "reason"))
    launcher.chmod(0o755)
    proc = subprocess.Popen([str(launcher)], start_new_session=True)
    chain_file = tmp_path / "reason.chain"
    deadline = time.time() + 30
    while not chain_file.exists() or not chain_file.read_text():
        assert time.time() < deadline and proc.poll() is None, "the probe did not start"
        time.sleep(0.05)
    yield proc, tmp_path / "reason", json.loads(chain_file.read_text())
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait()


def wait_for(path, timeout=30):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, "no stop reason written"
        time.sleep(0.05)
    time.sleep(0.05)
    return path.read_text()


def test_chain_stops_at_the_topmost_ansible_process(fake_controller):
    _proc, _reason, chain = fake_controller
    assert chain == ["sh", "ansible-playbook"]


def test_controller_killed_without_a_signal_is_noticed(fake_controller):
    proc, reason, _chain = fake_controller
    os.kill(proc.pid, signal.SIGKILL)  # the probe gets no signal; its controller is a zombie, then gone
    assert wait_for(reason) == "the controller process %d (ansible-playbook) is gone" % proc.pid


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_to_the_module_is_remembered(fake_controller, signum):
    proc, reason, _chain = fake_controller
    os.killpg(proc.pid, signum)  # what ansible's worker does: the whole group, module included
    assert wait_for(reason) == "received %s" % signal.Signals(signum).name


def test_signal_in_process_is_not_fatal_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with ControllerWatch() as watch:
        assert watch.stop_reason() is None
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert watch.stop_reason() == "received SIGTERM"
        os.kill(os.getpid(), signal.SIGHUP)
        assert watch.stop_reason() == "received SIGTERM"  # the first reason is kept
    assert signal.getsignal(signal.SIGTERM) is before


def test_without_an_ansible_ancestor_only_the_parent_is_watched():
    chain = controller_chain()
    assert [pid for pid, _start, _label in chain] == [os.getppid()]
    assert ControllerWatch(chain=[(os.getppid(), -1, "x")]).stop_reason() == (
        "the controller process %d (x) is gone" % os.getppid())


@pytest.mark.parametrize("argv,expected", [
    (["/usr/bin/python3", "/usr/local/bin/ansible-playbook", "-i", "inv", "site.yml"], True),
    (["ansible-runner", "run", "/tmp/x"], True),
    (["/bin/sh", "-c", "/usr/bin/python3 /root/.ansible/tmp/ansible-tmp-1/AnsiballZ_migration_apply.py && sleep 0"],
     True),
    (["/bin/bash", "-l"], False),
    (["/usr/bin/python3", "-m", "pytest"], False),
])
def test_is_ansible_process(argv, expected):
    assert is_ansible_process(argv) is expected
