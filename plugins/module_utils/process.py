# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one way the engine runs a child process (pg_dump, pg_restore, squawk, the Supabase CLI, a backup command).

One error policy for all of them: no shell; stdin closed, so a prompt can never hang a run; the child in a
process group of its own, so a timeout ends it and whatever it started (the CLI's npm launcher starts the Go
binary); output decoded leniently and redacted; and failures as one line of the caller's error class that says
which program, and why: it could not start (with what to install), it did not finish in time, or it exited
non-zero (with the last line it wrote on stderr).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import subprocess
import time
from collections import namedtuple

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError

ProcessResult = namedtuple("ProcessResult", ["rc", "stdout", "stderr"])


def last_line(text, limit=300):
    """The last non-blank line of ``text``, bounded; "no output" when there is none."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    line = lines[-1] if lines else "no output"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def exit_description(rc):
    """``exited 3`` for an exit status, ``was killed by SIGKILL`` for a negative one (the signal's number)."""
    if rc is not None and rc < 0:
        try:
            return "was killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "was killed by signal %d" % -rc
    return "exited %s" % rc


def _end_group(proc, grace):
    """SIGTERM the child's process group, then SIGKILL whatever is left after ``grace`` seconds."""
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, signum)
        except OSError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _could_not_start(what, exc, install_hint):
    return "%s could not start (%s)%s" % (what, exc.strerror or exc, ": %s" % install_hint if install_hint else "")


def start_process(argv, what, error=SupabaseError, install_hint=None, **popen_kwargs):
    """``subprocess.Popen`` for a streaming pipeline (pg_restore into psql), with run_process's start failure."""
    try:
        return subprocess.Popen([str(arg) for arg in argv], **popen_kwargs)
    except OSError as exc:
        raise error(_could_not_start(what, exc, install_hint))


def stderr_lines(handle):
    """The non-blank lines a child wrote to ``handle`` (a binary temporary file given as its stderr)."""
    handle.seek(0)
    return [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]


def run_process(argv, what, timeout=None, env=None, cwd=None, secrets=(), error=SupabaseError, check=True,
                install_hint=None, stop=None, stop_grace=5.0, input_data=None):
    """Run ``argv``; return ProcessResult(rc, stdout, stderr) with both texts redacted.

    ``input_data`` (bytes) is written to the child's stdin, which is then closed; without it stdin is /dev/null.

    ``what`` names the program in messages (``"pg_dump of postgres@db:5432/app"``). Raises ``error``:
    ``<what> could not start (<reason>)[: <install_hint>]``, ``<what> did not finish within <timeout> s``,
    and with ``check`` ``<what> exited <rc>: <last stderr line>`` (``was killed by SIGKILL`` for a signal).
    ``stop``: a function polled while the child runs; when it returns a reason the child's process group gets
    SIGTERM, then SIGKILL after ``stop_grace`` seconds, and the result is returned (its rc negative).
    """
    argv = [str(arg) for arg in argv]
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL if input_data is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise error(_could_not_start(what, exc, install_hint))
    deadline = None if timeout is None else time.monotonic() + timeout
    pending_input = input_data  # communicate() takes the input once; a retry after a timeout must not pass it again
    while True:
        step = None if deadline is None else max(0.0, deadline - time.monotonic())
        if stop is not None:
            step = 0.25 if step is None else min(step, 0.25)
        try:
            out, err = proc.communicate(input=pending_input, timeout=step)
            break
        except subprocess.TimeoutExpired:
            pending_input = None
            if deadline is not None and time.monotonic() >= deadline:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.communicate()
                raise error("%s did not finish within %s s" % (what, timeout))
            if stop is not None and stop():
                _end_group(proc, stop_grace)
                out, err = proc.communicate()
                break
    result = ProcessResult(proc.returncode, redact(out.decode("utf-8", "replace"), secrets),
                           redact(err.decode("utf-8", "replace"), secrets))
    if check and result.rc != 0:
        raise error("%s %s: %s" % (what, exit_description(result.rc), last_line(result.stderr or result.stdout)))
    return result
