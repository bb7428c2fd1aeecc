# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup freshness: where the newest backup comes from, and how old it is.

Providers (each returns a :func:`finding` dict ``{provider, newest_unix, newest, source, ...}``):

- ``supabase``: the Management API's backups list for a project (PITR enabled counts as fresh);
- ``pg_dump``: take a logical backup now (custom format), verify it with ``pg_restore --list`` (``pg_dump.py``);
- ``path``: the newest file in a directory (matching a glob);
- ``command``: any command that prints an ISO 8601 timestamp on its last line.

The runbook's ``SELECT pg_backup_start_time()`` is gone since PostgreSQL 15 and only ever described an
exclusive base backup in progress, never the newest finished one: it is deliberately not used.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import os
import shlex
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_audit import record_backup
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.process import run_process
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import from_unix, iso, parse_unix

PROVIDERS = ("supabase", "pg_dump", "path", "command")
DEFAULT_MAX_AGE_HOURS = {"production": 12, "staging": 24}


class BackupError(SupabaseError):
    """A backup could not be found, taken or verified."""


def finding(provider, newest_unix, source, now=None, **extra):
    """The common shape every provider returns."""
    now = time.time() if now is None else now
    out = dict(provider=provider, source=source, newest_unix=newest_unix,
               newest=iso(from_unix(newest_unix)) if newest_unix is not None else None,
               age_hours=round((now - newest_unix) / 3600.0, 2) if newest_unix is not None else None)
    out.update(extra)
    return out


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def record_in_database(settings, found, host=None):
    """Record the backup a finding names in ``hotdash_audit.backups`` of the database (what the database's policy
    reads for ``backup_max_age``); ``(id, inserted)``, or ``(None, False)`` when no backup was found."""
    if found.get("newest_unix") is None:
        return None, False
    path = found.get("path")
    conn = connect(settings, application_name="hotdash.supabase backup (record)")
    try:
        with conn:
            with conn.cursor() as cur:
                cur.execute("SET LOCAL default_transaction_read_only = off")
                return record_backup(cur, from_unix(found["newest_unix"]), found["provider"],
                                     location=path or found.get("source"), size_bytes=found.get("size_bytes"),
                                     sha256=file_sha256(path) if path else None, host=host)
    finally:
        conn.close()


def default_max_age_hours(environment):
    return DEFAULT_MAX_AGE_HOURS.get(environment, 24)


def evaluate(found, max_age_hours):
    """``(status, detail, remedy)`` for a finding against the limit: ok or fail."""
    if found.get("newest_unix") is None:
        return ("fail", "no backup found (%s: %s)" % (found["provider"], found["source"]),
                "take a backup (provider pg_dump does it now) or point the check at where backups are kept")
    age = found["age_hours"]
    pitr = " (point-in-time recovery enabled)" if found.get("pitr_enabled") else ""
    if age > max_age_hours:
        return ("fail", "newest backup %s is %.1f h old, limit %s h (%s: %s)"
                % (found["newest"], age, max_age_hours, found["provider"], found["source"]),
                "take a fresh backup before applying (Supabase dashboard > Database > Backups, or provider pg_dump)")
    return ("ok", "newest backup %s is %.1f h old, limit %s h%s (%s)"
            % (found["newest"], max(age, 0.0), max_age_hours, pitr, found["provider"]), "")


# -- providers --------------------------------------------------------------------------------------------------------

def from_supabase(api, ref, now=None):
    """Newest backup from the Management API (``api`` is a management_api.ManagementApi)."""
    now = time.time() if now is None else now
    data = api.list_backups(ref)
    newest, pitr, completed = backup_freshness(data, now)
    return finding("supabase", newest, "project %s" % ref, now=now, pitr_enabled=pitr, walg_enabled=bool(
        data.get("walg_enabled")), completed_backups=completed,
        physical_backup_data=data.get("physical_backup_data") or {})


def from_path(directory, pattern="*", now=None):
    """Newest regular file (by modification time) in ``directory`` matching ``pattern``."""
    if not directory or not os.path.isdir(directory):
        raise BackupError("backup directory not found: %s; set the path provider's directory to where backups "
                          "are written" % directory)
    newest, newest_file = None, None
    for entry in os.listdir(directory):
        full = os.path.join(directory, entry)
        if not fnmatch.fnmatch(entry, pattern) or not os.path.isfile(full) or entry.startswith(".tmp-"):
            continue
        mtime = os.path.getmtime(full)
        if newest is None or mtime > newest:
            newest, newest_file = mtime, full
    return finding("path", newest, "%s/%s" % (directory.rstrip("/"), pattern), now=now, file=newest_file)


def from_command(command, timeout=60, now=None, env=None):
    """Run ``command`` (a list, or a string split like a shell would, no shell) and parse its last line."""
    argv = shlex.split(command) if isinstance(command, str) else list(command or [])
    if not argv:
        raise InvalidInput("the command provider needs a command that prints an ISO 8601 timestamp")
    shown = redact(" ".join(argv))[:120]
    outcome = run_process(argv, "backup command %s" % shown, timeout=timeout, env=env, error=BackupError)
    lines = [x.strip() for x in outcome.stdout.splitlines() if x.strip()]
    if not lines:
        raise BackupError("backup command %s printed nothing; it must print an ISO 8601 timestamp" % shown)
    try:
        newest = parse_unix(lines[-1], name="the last line")
    except InvalidInput as exc:
        raise BackupError("backup command %s: %s" % (shown, exc))
    return finding("command", newest, shown, now=now)


def backup_freshness(data, now_unix):
    """From a Management API ``list_backups`` answer: ``(newest_unix or None, pitr_enabled, completed_count)``.

    PITR counts as a backup taken now (WAL is archived continuously); otherwise the newest
    ``COMPLETED`` backup's ``inserted_at`` or the physical backup data's latest time is used.
    """
    pitr = bool(data.get("pitr_enabled"))
    times = []
    completed = 0
    for item in data.get("backups") or []:
        if str(item.get("status", "")).upper() != "COMPLETED":
            continue
        completed += 1
        if item.get("inserted_at"):
            times.append(parse_unix(item["inserted_at"], name="inserted_at"))
    latest = (data.get("physical_backup_data") or {}).get("latest_physical_backup_date_unix")
    if latest:
        times.append(float(latest))
    if pitr:
        times.append(float(now_unix))
    return (max(times) if times else None), pitr, completed
