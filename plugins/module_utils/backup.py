# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup freshness: where the newest backup comes from, and how old it is.

Providers (each returns a :func:`finding` dict ``{provider, newest_unix, newest, source, ...}``):

- ``supabase``: the Management API's backups list for a project (PITR enabled counts as fresh);
- ``pg_dump``: take a logical backup now (custom format), verify it with ``pg_restore --list``;
- ``path``: the newest file in a directory (matching a glob);
- ``command``: any command that prints an ISO 8601 timestamp on its last line.

The runbook's ``SELECT pg_backup_start_time()`` is gone since PostgreSQL 15 and only ever described an
exclusive base backup in progress, never the newest finished one: it is deliberately not used.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import os
import re
import shlex
import subprocess
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError

PROVIDERS = ("supabase", "pg_dump", "path", "command")
DEFAULT_MAX_AGE_HOURS = {"production": 12, "staging": 24}
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$")
_SAFE_LABEL = re.compile(r"[^A-Za-z0-9._-]+")


class BackupError(SupabaseError):
    """A backup could not be found, taken or verified."""


def parse_timestamp(text):
    """Parse an ISO 8601 timestamp (``Z``/offset optional: naive means UTC) into Unix seconds (float)."""
    value = str(text or "").strip()
    match = _ISO_RE.match(value)
    if not match:
        if re.match(r"^\d{9,11}(\.\d+)?$", value):  # plain Unix seconds
            return float(value)
        raise InvalidInput("not an ISO 8601 timestamp: %r (expected e.g. 2025-10-19T03:00:00Z)" % value[:80])
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                                   int((frac or "0")[:6].ljust(6, "0")), tzinfo=datetime.timezone.utc)
    except ValueError:
        raise InvalidInput("not a valid date/time: %r" % value[:80])
    offset = 0
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return moment.timestamp() - offset


def iso_utc(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def finding(provider, newest_unix, source, now=None, **extra):
    """The common shape every provider returns."""
    now = time.time() if now is None else now
    out = dict(provider=provider, source=source, newest_unix=newest_unix,
               newest=iso_utc(newest_unix) if newest_unix is not None else None,
               age_hours=round((now - newest_unix) / 3600.0, 2) if newest_unix is not None else None)
    out.update(extra)
    return out


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
    from ansible_collections.hotdash.supabase.plugins.module_utils.management_api import backup_freshness
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
    try:
        proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              timeout=timeout, env=env, universal_newlines=True)
    except OSError as exc:
        raise BackupError("backup command %s could not start: %s" % (shown, exc.strerror))
    except subprocess.TimeoutExpired:
        raise BackupError("backup command %s did not finish within %ss" % (shown, timeout))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        raise BackupError("backup command %s exited %d: %s" % (shown, proc.returncode, redact(last)[:200]))
    lines = [x.strip() for x in proc.stdout.splitlines() if x.strip()]
    if not lines:
        raise BackupError("backup command %s printed nothing; it must print an ISO 8601 timestamp" % shown)
    try:
        newest = parse_timestamp(lines[-1])
    except InvalidInput as exc:
        raise BackupError("backup command %s: %s" % (shown, exc))
    return finding("command", newest, shown, now=now)


def backup_filename(host, dbname, moment=None):
    """``<host>_<dbname>_<UTC ts>.dump``, each part restricted to file-name-safe characters."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return "%s_%s_%s.dump" % (_SAFE_LABEL.sub("-", host or "db"), _SAFE_LABEL.sub("-", dbname or "postgres"),
                              moment.strftime("%Y%m%dT%H%M%SZ"))


def planned_dump_path(backup_dir, host, dbname, moment=None):
    return os.path.join(os.path.abspath(backup_dir), backup_filename(host, dbname, moment))


def _run_tool(argv, settings, timeout, what):
    env = settings.child_env(dict(os.environ))
    try:
        proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                              env=env, timeout=timeout, universal_newlines=True)
    except OSError as exc:
        raise BackupError("%s could not start (%s): install the PostgreSQL client tools" % (what, exc.strerror))
    except subprocess.TimeoutExpired:
        raise BackupError("%s did not finish within %ss" % (what, timeout))
    if proc.returncode != 0:
        lines = [x for x in proc.stderr.strip().splitlines() if x.strip()]
        raise BackupError("%s failed (exit %d): %s" % (what, proc.returncode,
                                                       redact(lines[-1] if lines else "", settings.secrets())[:300]))
    return proc.stdout


def take_pg_dump(settings, backup_dir, host_label, timeout=3600, pg_dump="pg_dump", pg_restore="pg_restore",
                 extra_args=None, now=None):
    """Take a custom-format logical backup, verify it with ``pg_restore --list``, return a finding with ``path``.

    Written under a temporary name in the same directory and renamed when complete, so a crashed or
    failed dump never looks like a backup to the ``path`` provider or the rollback role.
    """
    try:
        os.makedirs(backup_dir, exist_ok=True)
    except OSError as exc:
        raise BackupError("cannot create backup directory %s: %s" % (backup_dir, exc.strerror))
    path = planned_dump_path(backup_dir, host_label, settings.dbname)
    tmp = os.path.join(os.path.dirname(path), ".tmp-%d-%s" % (os.getpid(), os.path.basename(path)))
    argv = [pg_dump, "--format=custom", "--no-password", "--file", tmp] + list(extra_args or []) + \
        settings.libpq_args()
    try:
        _run_tool(argv, settings, timeout, "pg_dump of %s" % settings.describe())
        listing = _run_tool([pg_restore, "--list", tmp], settings, timeout, "pg_restore --list of %s" % path)
        entries = [x for x in listing.splitlines() if x.strip() and not x.startswith(";")]
        if not entries:
            raise BackupError("pg_restore --list found no entries in %s: the dump is unusable" % path)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    stamp = time.time() if now is None else now
    return finding("pg_dump", stamp, settings.describe(), now=stamp, path=path, size_bytes=os.path.getsize(path),
                   toc_entries=len(entries), verified=True)
