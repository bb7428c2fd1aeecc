# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The progress logs of apply and rollback: one file per run, appended line by line as things happen.

``artifacts/data/<environment>_migration_apply_<YYYYmmdd_HHMMSS>.log`` (the runbook's name) and
``<log_dir>/<environment>_rollback_<UTC stamp>.log``. Every line is redacted before it is written.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import ARTIFACT_MODE, make_directories
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, LogUnwritable
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import iso_precise, stamp, utc_now


def apply_log_path(environment, base_dir=None, now=None):
    """``artifacts/data/<environment>_migration_apply_<YYYYmmdd_HHMMSS>.log`` under ``base_dir`` (cwd)."""
    moment = (now or utc_now()).strftime("%Y%m%d_%H%M%S")
    return os.path.join(base_dir or os.getcwd(), "artifacts", "data",
                        "%s_migration_apply_%s.log" % (environment, moment))


def rollback_log_path(log_dir, environment, moment=None):
    """``<log_dir>/<environment>_rollback_<UTC stamp>.log`` (``artifacts/data`` under the cwd by default)."""
    return os.path.join(log_dir or os.path.join(os.getcwd(), "artifacts", "data"),
                        "%s_rollback_%s.log" % (environment, stamp(moment)))


class ProgressLog(object):
    """An append-only progress log, flushed line by line so ``tail -f`` shows the run as it happens.

    The default name carries only a second-resolution timestamp, so several hosts of one play can
    compute the same name: the file is created with O_EXCL and a numbered suffix is taken if it exists.
    An explicit ``path`` is appended to.
    """

    def __init__(self, path, exclusive=False, secrets=()):
        self.secrets = list(secrets)
        self.broken = None
        directory = os.path.dirname(os.path.abspath(path))
        try:
            make_directories(directory)
        except OSError as exc:
            raise InvalidInput("cannot create the log directory %s: %s" % (directory, exc.strerror))
        self.path = self._open(path, exclusive)

    def _open(self, path, exclusive):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        candidates = [path]
        if exclusive:
            flags |= os.O_EXCL
            stem, ext = os.path.splitext(path)
            candidates += ["%s_%d%s" % (stem, n, ext) for n in range(2, 100)]
        for candidate in candidates:
            try:
                fd = os.open(candidate, flags, ARTIFACT_MODE)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise InvalidInput("cannot write the log %s: %s" % (candidate, exc.strerror))
            self._handle = os.fdopen(fd, "a", 1, encoding="utf-8")
            return os.path.abspath(candidate)
        raise InvalidInput("cannot create a new log next to %s: too many runs in the same second" % path)

    def write(self, message):
        """Append one line; LogUnwritable (naming the log) when it cannot be written, then never again: a run
        that stops because its log failed must not fail a second time while it says so."""
        if self.broken:
            return
        line = "%s %s\n" % (iso_precise(), redact(message, self.secrets))
        try:
            self._handle.write(line)
            self._handle.flush()
        except (IOError, OSError) as exc:
            self.broken = "cannot write the log %s: %s" % (self.path, exc.strerror or exc)
            raise LogUnwritable(self.broken, log_path=self.path)

    def close(self):
        if not self._handle.closed:
            try:
                self._handle.close()
            except (IOError, OSError):
                pass  # a failed write was already reported


class NullLog(object):
    path = None

    def write(self, message):
        pass

    def close(self):
        pass
