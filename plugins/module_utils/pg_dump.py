# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take a logical backup now: ``pg_dump --format=custom``, verified with ``pg_restore --list``.

The backup module's ``pg_dump`` provider; the rollback role's ``logical_restore`` restores the file
(``restore.py``). The password reaches pg_dump and pg_restore through ``PGPASSWORD`` only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import create_private
from ansible_collections.hotdash.supabase.plugins.module_utils.backup import BackupError, finding
from ansible_collections.hotdash.supabase.plugins.module_utils.process import run_process
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import stamp

_SAFE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")
_INSTALL = "install the PostgreSQL client tools"


def backup_filename(host, dbname, moment=None):
    """``<host>_<dbname>_<UTC ts>.dump``, each part restricted to file-name-safe characters."""
    return "%s_%s_%s.dump" % (_SAFE_LABEL.sub("-", host or "db"), _SAFE_LABEL.sub("-", dbname or "postgres"),
                              stamp(moment))


def planned_dump_path(backup_dir, host, dbname, moment=None):
    return os.path.join(os.path.abspath(backup_dir), backup_filename(host, dbname, moment))


def take_pg_dump(settings, backup_dir, host_label, timeout=3600, pg_dump="pg_dump", pg_restore="pg_restore",
                 extra_args=None, now=None):
    """Take a custom-format logical backup, verify it with ``pg_restore --list``, return a finding with ``path``.

    Written under a temporary name in the same directory and renamed when complete, so a crashed or
    failed dump never looks like a backup to the ``path`` provider or the rollback role.
    """
    path = planned_dump_path(backup_dir, host_label, settings.dbname)
    tmp = os.path.join(os.path.dirname(path), ".tmp-%d-%s" % (os.getpid(), os.path.basename(path)))
    try:
        create_private(tmp)  # 0600 before pg_dump writes a byte into it
    except OSError as exc:
        raise BackupError("cannot create backup directory %s: %s" % (backup_dir, exc.strerror))
    argv = [pg_dump, "--format=custom", "--no-password", "--file", tmp] + list(extra_args or []) + \
        settings.libpq_args()
    env = settings.child_env(dict(os.environ))
    try:
        run_process(argv, "pg_dump of %s" % settings.describe(), timeout=timeout, env=env,
                    secrets=settings.secrets(), error=BackupError, install_hint=_INSTALL)
        listing = run_process([pg_restore, "--list", tmp], "pg_restore --list of %s" % path, timeout=timeout,
                              env=env, secrets=settings.secrets(), error=BackupError, install_hint=_INSTALL).stdout
        entries = [x for x in listing.splitlines() if x.strip() and not x.startswith(";")]
        if not entries:
            raise BackupError("pg_restore --list found no entries in %s: the dump is unusable" % path)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    taken = time.time() if now is None else now
    return finding("pg_dump", taken, settings.describe(), now=taken, path=path, size_bytes=os.path.getsize(path),
                   toc_entries=len(entries), verified=True)
