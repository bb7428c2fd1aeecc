# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notice that the run which started this module is gone, so an apply stops between migrations.

A module outlives its controller in two ways. Signals: ``ansible-playbook`` passes SIGINT and SIGTERM on to
its worker, which signals the module's process group and exits; a closed terminal sends SIGHUP. Python's
default then kills the module at once (SIGTERM, SIGHUP) or in the middle of whatever it does (SIGINT),
while the migration it had sent keeps running on the server and commits with nobody to record it. Death
without a signal: ``kill -9`` of ``ansible-playbook`` or of its worker leaves the module running on its own,
applying the rest of the migrations after the run is over.

:class:`ControllerWatch` turns both into a question the engine asks between migrations (and while it
waits): :meth:`ControllerWatch.stop_reason`. Signals are caught and remembered, never fatal. The controller is
the chain of ancestor processes up to the topmost Ansible process (``/bin/sh -c``, the worker,
``ansible-playbook``, ``ansible-runner``); a process above it (the shell that started a ``nohup`` run) may
come and go. A process counts as gone when its pid is no longer there or belongs to a newer process (start
time from ``/proc``); without ``/proc`` the watch falls back to noticing that the parent changed.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import threading

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT") if hasattr(signal, name))
MAX_DEPTH = 8
_ANSIBLE_MARKERS = ("AnsiballZ_", "async_wrapper")


def _proc_stat(pid):
    """(ppid, start time in clock ticks, comm) of a living process from /proc; None when there is none, or
    only its zombie (it exited and waits for its parent to collect it)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None
    # "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so split at the last ")".
    head, _sep, rest = text.rpartition(")")
    fields = rest.split()
    try:
        if fields[0] in ("Z", "X"):
            return None
        return int(fields[1]), int(fields[19]), head.partition("(")[2]
    except (IndexError, ValueError):
        return None


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return [part.decode("utf-8", "replace") for part in handle.read().split(b"\0") if part]
    except (IOError, OSError):
        return []


def is_ansible_process(argv):
    """True for ansible-playbook / ansible / ansible-runner / ansible-navigator (also run as ``python <path>``),
    and for the ``/bin/sh -c`` wrapper Ansible starts a module with."""
    for arg in argv[:3]:
        if os.path.basename(arg).startswith("ansible"):
            return True
    return any(marker in arg for arg in argv for marker in _ANSIBLE_MARKERS)


def _label(argv, comm):
    for arg in argv[:3]:
        name = os.path.basename(arg)
        if name.startswith("ansible"):
            return name
    return comm or (os.path.basename(argv[0]) if argv else "?")


def controller_chain(pid=None, depth=MAX_DEPTH):
    """``[(pid, start time, label)]`` of the ancestors that make up the controller, nearest first.

    The chain runs from the parent up to the topmost Ansible process within ``depth`` levels; when there is no
    Ansible ancestor (a module run by hand or by a test) it is the parent alone. Empty without ``/proc``.
    """
    chain = []
    current = os.getpid() if pid is None else pid
    for _level in range(depth):
        stat = _proc_stat(current)
        if stat is None or stat[0] <= 1:
            break
        parent = stat[0]
        parent_stat = _proc_stat(parent)
        if parent_stat is None:
            break
        argv = _cmdline(parent)
        chain.append((parent, parent_stat[1], _label(argv, parent_stat[2]), is_ansible_process(argv)))
        current = parent
    last_ansible = max([i for i, item in enumerate(chain) if item[3]] or [0])
    return [item[:3] for item in chain[:last_ansible + 1]]


class ControllerWatch(object):
    """Catch SIGTERM/SIGHUP/SIGINT and watch the controller's processes; a context manager.

    ``stop_reason()`` is None while the run is alive, else one line such as ``received SIGTERM`` or ``the
    controller process 4242 (ansible-playbook) is gone``. Handlers are installed only in the main thread
    and restored on exit.
    """

    def __init__(self, chain=None):
        self.chain = controller_chain() if chain is None else list(chain)
        self.parent = os.getppid()
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):  # pylint: disable=unused-argument
        if self.received is None:
            self.received = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous = {}
        return False

    def gone(self):
        """The first controller process that is no longer running, as ``(pid, label)``, else None."""
        if not self.chain:
            return (self.parent, "parent") if os.getppid() != self.parent else None
        for pid, started, label in self.chain:
            stat = _proc_stat(pid)
            if stat is None or stat[1] != started:
                return pid, label
        return None

    def stop_reason(self):
        if self.received is not None:
            return "received %s" % signal.Signals(self.received).name
        gone = self.gone()
        if gone is not None:
            return "the controller process %d (%s) is gone" % gone
        return None
