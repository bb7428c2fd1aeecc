# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files the collection writes (reports, logs, samples, charts, dumps, approvals): names and modes.

* An option that becomes part of a path (a report ``name``, a ``basename``) is a simple name:
  letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit - never ``../x`` or ``a/b``.
* Files are created with ``ARTIFACT_MODE`` (0640), dumps and approval records with ``PRIVATE_MODE``
  (0600), directories with ``DIRECTORY_MODE`` (0750); the process umask applies on top (umask 077
  gives 0600 and 0700). Nothing is ever widened afterwards with chmod.
* Whole files are written atomically (a temporary file in the same directory, then a rename), so a
  reader never sees half a report.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

ARTIFACT_MODE = 0o640
PRIVATE_MODE = 0o600
DIRECTORY_MODE = 0o750
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def simple_name(value, option):
    """``value`` when it is a simple file name; otherwise InvalidInput naming the option and the value."""
    if not isinstance(value, str) or not _SIMPLE_NAME.match(value) or ".." in value:
        raise InvalidInput("%s must be a simple name (letters, digits, '.', '_', '-'; no '/' or '..'), got %r"
                           % (option, value))
    return value


def make_directories(path, mode=DIRECTORY_MODE):
    """Create ``path`` and any missing parent with ``mode`` (minus the umask); existing ones are left as they are."""
    path = os.path.abspath(path)
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise


def write_file(path, data, mode=ARTIFACT_MODE):
    """Write ``data`` (text or bytes) to ``path`` atomically; the file is created with ``mode`` minus the umask."""
    directory = os.path.dirname(os.path.abspath(path))
    make_directories(directory)
    tmp = os.path.join(directory, ".%s.tmp-%d" % (os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with io.open(fd, "wb" if isinstance(data, bytes) else "w", closefd=True,
                     **({} if isinstance(data, bytes) else {"encoding": "utf-8"})) as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def open_append(path, mode=ARTIFACT_MODE, readable=False):
    """A text handle appending to ``path`` (a JSON-lines log); a new file is created with ``mode`` minus the umask.

    ``readable=True`` opens it ``a+`` (read what is there, append after it), for a locked check-and-append.
    """
    make_directories(os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, (os.O_RDWR if readable else os.O_WRONLY) | os.O_CREAT | os.O_APPEND, mode)
    return io.open(fd, "a+" if readable else "a", encoding="utf-8", closefd=True)


def open_new(path, mode=ARTIFACT_MODE, replace=False):
    """A text handle on a NEW file, created with ``mode`` minus the umask.

    An existing file is FileExistsError, or with ``replace=True`` removed first (so it gets the mode, too).
    """
    make_directories(os.path.dirname(os.path.abspath(path)))
    if replace and os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    return io.open(fd, "w", encoding="utf-8", closefd=True)


def create_private(path):
    """An empty file created ``PRIVATE_MODE`` before a child process writes into it (a dump never readable by others)."""
    make_directories(os.path.dirname(os.path.abspath(path)))
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE))
    return path
