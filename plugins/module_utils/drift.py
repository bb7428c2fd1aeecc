# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a database stands against the local migrations directory.

Each version gets one state:

* ``applied``: in the history and the recorded statements equal the local file's;
* ``content_changed``: in the history but the recorded statements differ from the file (the
  local file was edited after it was applied; the CLI has no checksum, supabase/cli#3491);
* ``pending``: only local, newer than everything applied;
* ``out_of_order``: only local but older than the newest applied version (``db push`` refuses it
  without ``--include-all``);
* ``remote_only``: only in the history (the runbook's drift: applied from another checkout).

A history row without statements (written by a very old CLI) cannot be compared and counts as
``applied`` with ``verified: false``. Work is linear in the number of files and rows: one dict
lookup per version, no pairwise comparison.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.history import history_exists, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import (LocalDirectory, load_directory,
                                                                                  version_sort_key)
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check

STATES = ("applied", "pending", "out_of_order", "content_changed", "remote_only")


def _difference(recorded, local):
    if len(recorded) != len(local):
        return "history has %d statements, the file has %d" % (len(recorded), len(local))
    for index, (left, right) in enumerate(zip(recorded, local)):
        if left != right:
            return "statement %d of %d differs" % (index + 1, len(local))
    return ""


class DriftReport(object):
    """The classification; :meth:`as_dict` is what ``migration_info`` returns."""

    def __init__(self, local, remote, history_table_exists=None):
        self.local = local
        self.remote = remote
        self.history_table_exists = bool(remote) if history_table_exists is None else history_table_exists
        self.entries = []
        self.pending = []
        self.remote_only = []
        self.content_changed = []
        self.out_of_order = []
        self.unverified = []
        self.newest_applied = None
        for row in remote:
            if self.newest_applied is None or version_sort_key(row.version) > version_sort_key(self.newest_applied):
                self.newest_applied = row.version
        self._classify()
        self.state_counts = dict((state, 0) for state in STATES)
        for entry in self.entries:
            self.state_counts[entry["state"]] += 1
        self.state_counts["total"] = len(self.entries)
        self.in_sync = not (self.pending or self.remote_only or self.content_changed)
        versions = set(m.version for m in local.migrations)
        versions.update(row.version for row in remote)
        self.mixed_widths = len(set(len(v) for v in versions)) > 1

    def _recorded_file(self, version, row, migrations_of_version):
        """For a duplicated version: the file the history row belongs to (same name, else the first)."""
        for migration in migrations_of_version:
            if migration.name == row.name:
                return migration.filename
        return migrations_of_version[0].filename

    def _classify(self):
        remote_by_version = dict((row.version, row) for row in self.remote)
        newest = self.newest_applied
        local_versions = set()
        shared = {}
        for migration in self.local.migrations:
            if migration.version in self.local.duplicates:
                shared.setdefault(migration.version, []).append(migration)
        for migration in self.local.migrations:
            version = migration.version
            local_versions.add(version)
            entry = {"version": version, "name": migration.name, "file": migration.filename}
            if version in self.local.duplicates:
                entry["duplicate"] = True
            row = remote_by_version.get(version)
            if row is not None and (version not in self.local.duplicates
                                    or self._recorded_file(version, row, shared[version]) == migration.filename):
                entry["recorded_name"] = row.name
                if row.statements is None:
                    entry["state"] = "applied"
                    entry["verified"] = False
                    self.unverified.append(version)
                else:
                    local_statements = migration.statements()
                    if list(row.statements) == local_statements:
                        entry["state"] = "applied"
                    else:
                        entry["state"] = "content_changed"
                        entry["detail"] = _difference(row.statements, local_statements)
                        self.content_changed.append(version)
            else:
                # Validate pending files now: an unreadable or empty file fails here, before any apply.
                migration.statements()
                if newest is not None and version_sort_key(version) < version_sort_key(newest):
                    entry["state"] = "out_of_order"
                    self.out_of_order.append(version)
                else:
                    entry["state"] = "pending"
                self.pending.append(migration)
            self.entries.append(entry)
        for row in self.remote:
            if row.version not in local_versions:
                self.remote_only.append(row)
                self.entries.append({"version": row.version, "name": row.name, "file": None,
                                     "state": "remote_only"})
        # Python's sort is stable: local files sharing a version keep their order.
        self.entries.sort(key=lambda entry: version_sort_key(entry["version"]))

    def drift_message(self):
        """One line about remote-only versions and changed files; None when there are none."""
        parts = []
        if self.remote_only:
            parts.append("%d version(s) in the history are missing from %s: %s (fetch them with "
                         "migration_repair state=fetch, or mark them reverted)"
                         % (len(self.remote_only), self.local.path,
                            brief(row.version for row in self.remote_only)))
        if self.content_changed:
            parts.append("%d applied migration(s) were edited after they were applied: %s (restore the "
                         "files, or write a new migration for the change)"
                         % (len(self.content_changed), brief(self._file_of(v) for v in self.content_changed)))
        return ("migration drift: " + "; ".join(parts)) if parts else None

    def _file_of(self, version):
        migration = self.local.by_version.get(version)
        return migration.filename if migration is not None else version

    def as_dict(self):
        local = self.local
        return {
            "migrations_dir": local.path,
            "entries": self.entries,
            "state_counts": self.state_counts,
            "in_sync": self.in_sync,
            "pending": [m.as_dict() for m in self.pending],
            "remote_only": [{"version": row.version, "name": row.name} for row in self.remote_only],
            "content_changed": list(self.content_changed),
            "out_of_order": list(self.out_of_order),
            "unverified": list(self.unverified),
            "naming": local.naming,
            "duplicates": dict(local.duplicates),
            "duplicate_message": local.duplicate_message(row.version for row in self.remote),
            "ignored_files": list(local.ignored_files),
            "hazards": list(local.hazards),
            "mixed_widths": self.mixed_widths,
            "newest_applied": self.newest_applied,
            "history_table_exists": self.history_table_exists,
        }


def classify(local, remote, history_table_exists=None):
    """Classify every local file and history row; see the module docstring for the states."""
    return DriftReport(local, list(remote), history_table_exists=history_table_exists)


# What each state check reports when it finds something, unless the caller decides otherwise (``severities``).
SEVERITIES = {"pending": "warn", "drift": "warn", "naming": "warn", "hazards": "warn", "duplicates": "fail"}
_SEVERITY_CHOICES = ("ok", "warn", "fail")


def validate_severities(severities):
    """The default SEVERITIES updated with ``severities``; InvalidInput naming an unknown check or status."""
    merged = dict(SEVERITIES)
    for name, status in (severities or {}).items():
        if name not in SEVERITIES:
            raise InvalidInput("severities has no check %r; use %s" % (name, ", ".join(sorted(SEVERITIES))))
        if status not in _SEVERITY_CHOICES:
            raise InvalidInput("severities: %s must be one of %s, not %r" % (name, ", ".join(_SEVERITY_CHOICES), status))
        merged[name] = status
    return merged


def state_checks(report, severities=None):
    """The state of a database against the directory as report checks: pending, drift, naming, hazards, duplicates.

    A finding gets the status ``severities`` names for its check (SEVERITIES by default); nothing found is ``ok``.
    """
    severity = validate_severities(severities)
    local = report.local
    applied = report.state_counts["applied"] + report.state_counts["content_changed"]
    pending = [m.version for m in report.pending]
    checks = []
    if pending:
        checks.append(make_check("pending", severity["pending"], "%d applied, %d pending: %s"
                                 % (applied, len(pending), brief(pending)),
                                 "apply them (role hotdash.supabase.apply), or roll back what should not be there",
                                 data={"pending": pending}))
    else:
        checks.append(make_check("pending", "ok", "%d applied, nothing pending" % applied, data={"pending": []}))
    drift = report.drift_message()
    remote_only = [row.version for row in report.remote_only]
    data = {"remote_only": remote_only, "content_changed": list(report.content_changed)}
    if drift:
        checks.append(make_check("drift", severity["drift"], drift,
                                 "resolve the drift first (playbooks/resolve_drift.yml: option A fetch, B repair, "
                                 "C baseline); put changes to applied files in a new migration", data=data))
    else:
        checks.append(make_check("drift", "ok", "no remote-only version, no applied file changed", data=data))
    naming = naming_message(local)
    if naming:
        checks.append(make_check("naming", severity["naming"], naming,
                                 "rename the files to the suggested 14-digit versions before they are applied anywhere",
                                 data=dict(local.naming)))
    else:
        checks.append(make_check("naming", "ok", "%d of %d files have a 14-digit YYYYMMDDHHMMSS version"
                                 % (local.naming["compliant"], local.naming["total"]), data=dict(local.naming)))
    hazards = hazard_message(local)
    checks.append(make_check("hazards", severity["hazards"] if hazards else "ok",
                             hazards or "no down or rollback script among the migrations",
                             "move down scripts to supabase/rollbacks/<version>_<name>.down.sql" if hazards else "",
                             data={"hazards": list(local.hazards)}))
    duplicates = local.duplicate_message(row.version for row in report.remote)
    checks.append(make_check("duplicates", severity["duplicates"] if duplicates else "ok",
                             duplicates or "no duplicate versions",
                             "rename as suggested before anything is applied" if duplicates else "",
                             data={"duplicates": dict(local.duplicates)}))
    return checks


def naming_message(local):
    """One line naming the non-compliant files and what to rename them to; None when all comply.

    ``.sql`` files the CLI ignores because their name does not fit ``<version>_<name>.sql`` count too: they
    look like migrations, and nothing would ever apply them.
    """
    items = local.naming["non_compliant"]
    parts = []
    if items:
        renames = ["%s -> %s" % (item["file"], item["suggested"] or "<YYYYMMDDHHMMSS>_<name>.sql") for item in items]
        parts.append("migration naming: %d of %d files (%.1f %%) have a 14-digit YYYYMMDDHHMMSS version; rename %s"
                     % (local.naming["compliant"], local.naming["total"], local.naming["percent"],
                        brief(renames, 10)))
    if local.misnamed:
        parts.append(misnamed_message(local))
    return "; ".join(parts) or None


def misnamed_message(local):
    """One line naming the ``.sql`` files the CLI ignores for their name; None when there are none."""
    if not local.misnamed:
        return None
    return ("the CLI ignores %s; rename to <YYYYMMDDHHMMSS>_<name>.sql"
            % brief(["%s (%s)" % (item["file"], item["reason"]) for item in local.misnamed], 10))


def hazard_message(local):
    if not local.hazards:
        return None
    return "; ".join(item["message"] for item in local.hazards)


def read_state(conn_or_cursor, project):
    """Read the history in one query and classify it against the local directory.

    ``project`` is a project (or migrations) directory, or a LocalDirectory already loaded. Returns
    ``(LocalDirectory, rows, DriftReport)``; a database without the history table has applied nothing.
    """
    local = project if isinstance(project, LocalDirectory) else load_directory(project)
    if hasattr(conn_or_cursor, "cursor"):
        with conn_or_cursor.cursor() as cur:
            exists = history_exists(cur)
            rows = read_history(cur) if exists else []
    else:
        exists = history_exists(conn_or_cursor)
        rows = read_history(conn_or_cursor) if exists else []
    return local, rows, classify(local, rows, history_table_exists=exists)
