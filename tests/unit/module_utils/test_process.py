"""The one way to run a child process: its result and its one-line errors."""
import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError
from ansible_collections.hotdash.supabase.plugins.module_utils.process import last_line, run_process


def test_output_is_returned_redacted():
    result = run_process(["sh", "-c", "echo postgresql://u:hunter22@h/db; echo warn >&2"], "echo", secrets=["x"])
    assert result.rc == 0 and "hunter22" not in result.stdout and result.stderr == "warn\n"


def test_non_zero_exit_names_the_program_and_its_last_line():
    with pytest.raises(CliError) as err:
        run_process(["sh", "-c", "echo one >&2; echo two >&2; exit 3"], "backup command x", error=CliError)
    assert str(err.value) == "backup command x exited 3: two"
    assert run_process(["sh", "-c", "exit 4"], "x", check=False).rc == 4


def test_missing_program_says_what_to_install():
    with pytest.raises(CliError) as err:
        run_process(["/nonexistent/pg_dump"], "pg_dump of db", error=CliError, install_hint="install the client")
    assert str(err.value).startswith("pg_dump of db could not start (") and str(err.value).endswith(": install the client")


def test_timeout_ends_the_whole_process_group(tmp_path):
    marker = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(CliError, match="^sleeper did not finish within 0.5 s$"):
        run_process(["sh", "-c", "sleep 30 & echo $! > %s; wait" % marker], "sleeper", timeout=0.5, error=CliError)
    assert time.monotonic() - started < 10
    child = int(marker.read_text())
    assert not alive(child)  # the grandchild was killed with its group


def alive(pid):
    """True while ``pid`` runs (a killed process not reaped yet is a zombie: not alive)."""
    for _attempt in range(50):
        try:
            with open("/proc/%d/stat" % pid) as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (IOError, OSError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def test_last_line():
    assert last_line("a\n\nb  \n") == "b" and last_line("") == "no output" and last_line("x" * 10, 5) == "xx..."


def test_a_killed_child_is_said_to_be_killed():
    with pytest.raises(CliError, match="^x was killed by SIGKILL: no output$"):
        run_process(["sh", "-c", "kill -9 $$"], "x", error=CliError)


def test_stop_ends_the_child_group_and_returns_what_it_wrote(tmp_path):
    marker = tmp_path / "child.pid"
    asked = []

    def stop():
        asked.append(1)
        return "received SIGTERM" if len(asked) >= 3 else None
    started = time.monotonic()
    result = run_process(["sh", "-c", "echo started; sleep 30 & echo $! > %s; wait" % marker], "sleeper", stop=stop,
                         check=False)
    assert time.monotonic() - started < 10 and len(asked) == 3
    assert result.rc < 0 and result.stdout == "started\n"
    assert not alive(int(marker.read_text()))
