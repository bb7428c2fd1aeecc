# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local ``supabase/migrations`` directory, seen exactly as the Supabase CLI sees it.

* A file is a migration when its name matches ``^([0-9]+)_(.*)\\.sql$`` (the CLI's pattern);
  every other entry is reported in ``ignored_files`` with the reason, since the CLI skips it with only
  a warning on stderr.
* Order: by version compared as text, files sharing a version by file name (what
  ``supabase db push`` 2.122.1 does; older releases ordered by file name, which differs when one
  version is a prefix of another, e.g. ``20251015`` and ``20251015093000``: supabase/cli#6036).
* Naming compliance: a 14-digit ``YYYYMMDDHHMMSS`` version that is a real timestamp.
* Duplicates: two files with one version make ``db push`` apply the first and fail on the second
  with a duplicate key on the history table; :meth:`LocalDirectory.duplicate_message` says which
  file to rename to what.
* Hazards: files that match the pattern but are obviously not forward migrations
  (``…down.sql``, ``…rollback.sql``): the CLI would apply them.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import io
import os
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import MigrationDirectoryError
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

MIGRATION_FILE_RE = re.compile(r"^([0-9]+)_(.*)\.sql$")
# The CLI silently skips a legacy "<14 digits>_init.sql" when it is the first entry of the directory.
_LEGACY_INIT_RE = re.compile(r"([0-9]{14})_init\.sql")
_LEGACY_INIT_BEFORE = 20211209000000
_COMPLIANT_RE = re.compile(r"^[0-9]{14}$")
_DOWN_NAME_RE = re.compile(r"(?:^|[._-])(down|rollback|revert|undo)$", re.IGNORECASE)
ROLLBACK_DIR = os.path.join("supabase", "rollbacks")
DOWN_SUFFIX = ".down.sql"


def is_compliant_version(version):
    """True for a 14-digit YYYYMMDDHHMMSS version that is a valid timestamp."""
    if not _COMPLIANT_RE.match(version or ""):
        return False
    year, month, day = int(version[0:4]), int(version[4:6]), int(version[6:8])
    hour, minute, second = int(version[8:10]), int(version[10:12]), int(version[12:14])
    if year < 1 or not 1 <= month <= 12 or hour > 23 or minute > 59 or second > 59:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def version_sort_key(version):
    """How the CLI orders versions: as text (the history table's ``ORDER BY version``)."""
    return version


class LocalMigration(object):
    """One migration file: ``version``, ``name``, ``filename``, ``path``; text read on demand."""

    __slots__ = ("version", "name", "filename", "path", "_text", "_statements", "_compliant")

    def __init__(self, path, version=None, name=None):
        self.path = path
        self.filename = os.path.basename(path)
        if version is None:
            match = MIGRATION_FILE_RE.match(self.filename)
            if not match:
                raise MigrationDirectoryError("%s is not a migration file name (expected <version>_<name>.sql)"
                                              % self.filename)
            version, name = match.group(1), match.group(2)
        self.version = version
        self.name = name
        self._text = None
        self._statements = None
        self._compliant = None

    def __repr__(self):
        return "LocalMigration(%r)" % self.filename

    @property
    def is_compliant(self):
        if self._compliant is None:
            self._compliant = is_compliant_version(self.version)
        return self._compliant

    def read_text(self):
        """The file's text; one-line MigrationDirectoryError for unreadable, non-UTF-8 or empty files."""
        if self._text is None:
            try:
                with io.open(self.path, "rb") as handle:
                    raw = handle.read()
            except (IOError, OSError) as exc:
                raise MigrationDirectoryError("cannot read migration %s: %s" % (self.filename, exc.strerror or exc),
                                              file=self.filename)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[:exc.start].count(b"\n") + 1
                raise MigrationDirectoryError("migration %s is not valid UTF-8 (byte 0x%02x at line %d); "
                                              "save it as UTF-8" % (self.filename, raw[exc.start], line),
                                              file=self.filename)
            if not text.strip():
                raise MigrationDirectoryError("migration %s is empty; add its SQL or delete the file"
                                              % self.filename, file=self.filename)
            self._text = text
        return self._text

    def statements(self):
        """What the CLI records in the history's ``statements`` for this file (cached)."""
        if self._statements is None:
            self._statements = split_statements(self.read_text())
            if not self._statements:
                raise MigrationDirectoryError("migration %s contains no SQL statement (only blanks or ';')"
                                              % self.filename, file=self.filename)
        return self._statements

    def as_dict(self):
        return {"version": self.version, "name": self.name, "file": self.filename}


def _valid_prefix_timestamp(version):
    """For a shorter, date-like version (YYYYMMDD[HH[MM]]): the datetime it starts with, else None."""
    for width, fmt in ((12, "%Y%m%d%H%M"), (10, "%Y%m%d%H"), (8, "%Y%m%d")):
        if len(version) == width:
            try:
                return datetime.datetime.strptime(version, fmt)
            except ValueError:
                return None
    return None


def _plan_renames(migrations):
    """Suggested 14-digit versions for non-compliant files: {filename: suggested filename or None}.

    A date-like version (``20251015``) gets ``YYYYMMDD`` + a time, one minute apart per file in
    apply order and below any existing 14-digit version of the same day, so that the new names
    keep the order the files apply in today and collide with nothing.
    """
    taken = set(m.version for m in migrations if m.is_compliant)
    groups = {}
    suggestions = {}
    for migration in migrations:
        if migration.is_compliant:
            continue
        stamp = _valid_prefix_timestamp(migration.version)
        if stamp is None:
            suggestions[migration.filename] = None
            continue
        groups.setdefault(migration.version, []).append(migration)
    for version, members in groups.items():
        base = _valid_prefix_timestamp(version)
        width = len(version)
        # Upper bound: the first compliant version that shares this prefix (it sorts after us today).
        later = sorted(v for v in taken if v.startswith(version))
        limit = datetime.datetime.strptime(later[0], "%Y%m%d%H%M%S") if later else None
        for step in (datetime.timedelta(minutes=1), datetime.timedelta(seconds=1)):
            if width == 12:
                step = datetime.timedelta(seconds=1)
            last = base + step * (len(members) - 1)
            if limit is None or last < limit:
                break
        candidate = base
        for migration in members:
            while candidate.strftime("%Y%m%d%H%M%S") in taken:
                candidate += step
            new_version = candidate.strftime("%Y%m%d%H%M%S")
            taken.add(new_version)
            suggestions[migration.filename] = "%s_%s.sql" % (new_version, migration.name)
            candidate += step
    return suggestions


class LocalDirectory(object):
    """The migrations directory: ordered migrations, ignored files, duplicates, naming, hazards."""

    def __init__(self, path, migrations, ignored_files, project_dir=None):
        self.path = path
        self.project_dir = project_dir
        self.migrations = migrations
        # Not "skipped": a result key of that name makes Ansible read the task as skipped.
        self.ignored_files = ignored_files
        self.by_version = {}
        self.duplicates = {}
        for migration in migrations:
            if migration.version in self.by_version:
                self.duplicates.setdefault(migration.version, [self.by_version[migration.version].filename])
                self.duplicates[migration.version].append(migration.filename)
            else:
                self.by_version[migration.version] = migration
        self.mixed_widths = len(set(len(m.version) for m in migrations)) > 1
        self.widths = sorted(set(len(m.version) for m in migrations))
        suggestions = _plan_renames(migrations)
        non_compliant = [{"file": m.filename, "suggested": suggestions.get(m.filename)}
                         for m in migrations if not m.is_compliant]
        total = len(migrations)
        compliant = total - len(non_compliant)
        self.naming = {
            "compliant": compliant,
            "total": total,
            "percent": round(100.0 * compliant / total, 1) if total else 100.0,
            "non_compliant": non_compliant,
        }
        self.hazards = []
        for migration in migrations:
            if _DOWN_NAME_RE.search(migration.name):
                self.hazards.append({
                    "file": migration.filename,
                    "message": "%s looks like a down/rollback script but matches the migration pattern, so "
                               "supabase db push would apply it as migration %r; move it to %s/%s_<name>%s"
                               % (migration.filename, migration.name, ROLLBACK_DIR, migration.version,
                                  DOWN_SUFFIX),
                })

    @property
    def rollback_dir(self):
        """Where down scripts live: ``<project>/supabase/rollbacks`` (None without a project dir)."""
        if self.project_dir is None:
            return None
        return os.path.join(self.project_dir, ROLLBACK_DIR)

    def duplicate_message(self, applied_versions=()):
        """One line naming every shared version, the files, and what to rename them to; None if none.

        ``applied_versions``: versions already in the history; the file recorded there keeps its
        name (renaming it would turn the recorded version into a remote-only one).
        """
        if not self.duplicates:
            return None
        suggestions = dict((item["file"], item["suggested"]) for item in self.naming["non_compliant"])
        applied = set(applied_versions or ())
        parts = []
        for version in sorted(self.duplicates, key=version_sort_key):
            files = self.duplicates[version]
            keep, others = files[0], files[1:]
            renames = []
            for filename in others:
                renames.append("%s to %s" % (filename, suggestions.get(filename) or self._fallback_name(filename)))
            advice = "rename " + ", ".join(renames)
            if version not in applied and suggestions.get(keep):
                advice += " (and %s to %s for a compliant name)" % (keep, suggestions[keep])
            parts.append("%s share version %s (supabase db push would apply the first and fail on the next "
                         "with a duplicate key); %s" % (" and ".join(files), version, advice))
        return "duplicate migration versions: " + "; ".join(parts)

    def _fallback_name(self, filename):
        migration = next(m for m in self.migrations if m.filename == filename)
        return "a unique 14-digit YYYYMMDDHHMMSS version (%s_%s.sql)" % ("<YYYYMMDDHHMMSS>", migration.name)

    @property
    def misnamed(self):
        """Ignored ``.sql`` files meant as migrations (not the CLI's legacy init): the CLI never applies them."""
        return [item for item in self.ignored_files
                if item["file"].lower().endswith(".sql") and not item["reason"].startswith("legacy")]

    def as_dict(self):
        return {
            "path": self.path,
            "migrations": [m.as_dict() for m in self.migrations],
            "ignored_files": list(self.ignored_files),
            "duplicates": dict(self.duplicates),
            "mixed_widths": self.mixed_widths,
            "naming": self.naming,
            "hazards": list(self.hazards),
        }


def _skip_reason(filename, is_dir):
    if filename.lower().endswith(".sql") and not filename.endswith(".sql"):
        return "extension must be lowercase .sql"
    if not filename.endswith(".sql"):
        return "not a .sql file"
    stem = filename[:-4]
    if re.match(r"^[0-9]+$", stem):
        return "no _<name> after the version"
    if not re.match(r"^[0-9]", stem):
        return "does not start with a numeric version"
    return "the version must be followed by '_' (pattern <version>_<name>.sql)"


def resolve_migrations_dir(path, option="project_dir"):
    """(migrations_dir, project_dir or None) for a project dir or a migrations dir itself.

    A directory that neither holds ``supabase/migrations`` nor is a migrations directory (named
    ``supabase/migrations``, or holding ``<version>_<name>.sql`` files itself) is refused: reading it as an
    empty migrations directory would report "nothing to apply" for a wrong path.
    """
    if path is None or str(path).strip() == "":
        raise MigrationDirectoryError("migrations directory not found: no path given")
    path = os.path.abspath(os.path.expanduser(str(path)))
    nested = os.path.join(path, "supabase", "migrations")
    if os.path.isdir(nested):
        return nested, path
    if os.path.isdir(path):
        parent = os.path.dirname(path)
        if os.path.basename(path) == "migrations" and os.path.basename(parent) == "supabase":
            return path, os.path.dirname(parent)
        if os.path.basename(path) == "supabase" and os.path.isdir(os.path.join(path, "migrations")):
            return os.path.join(path, "migrations"), parent
        if any(MIGRATION_FILE_RE.match(name) for name in os.listdir(path)):
            return path, None
        raise MigrationDirectoryError("%s %s has no supabase/migrations directory (and no <version>_<name>.sql files); "
                                      "give the Supabase project root, the directory that holds supabase/"
                                      % (option, path))
    raise MigrationDirectoryError("migrations directory not found: %s (expected <project>/supabase/migrations)"
                                  % path)


def load_directory(path):
    """Read a project dir (containing ``supabase/migrations``) or a migrations dir; no file is read yet."""
    migrations_dir, project_dir = resolve_migrations_dir(path)
    try:
        entries = sorted((entry.name, entry.is_dir()) for entry in os.scandir(migrations_dir))
    except OSError as exc:
        raise MigrationDirectoryError("cannot list migrations directory %s: %s"
                                      % (migrations_dir, exc.strerror or exc))
    migrations = []
    ignored = []
    for index, (filename, is_dir) in enumerate(entries):
        if is_dir:
            continue
        if index == 0:
            legacy = _LEGACY_INIT_RE.search(filename)
            if legacy and int(legacy.group(1)) < _LEGACY_INIT_BEFORE:
                ignored.append({"file": filename, "reason": "legacy <timestamp>_init.sql before 20211209000000 "
                                                            "as the first file (the CLI never applies it)"})
                continue
        match = MIGRATION_FILE_RE.match(filename)
        if not match:
            ignored.append({"file": filename, "reason": _skip_reason(filename, False)})
            continue
        migrations.append(LocalMigration(os.path.join(migrations_dir, filename), match.group(1), match.group(2)))
    # Stable: files sharing a version stay in file-name order.
    migrations.sort(key=lambda m: version_sort_key(m.version))
    return LocalDirectory(migrations_dir, migrations, ignored, project_dir=project_dir)


def default_rollback_dir(project_dir):
    """``<project>/supabase/rollbacks`` for a project dir or a migrations dir (where down scripts live)."""
    migrations_dir, project = resolve_migrations_dir(project_dir)
    base = project if project is not None else os.path.dirname(os.path.dirname(migrations_dir))
    return os.path.join(base, ROLLBACK_DIR)


def find_down_script(project_dir, version, rollback_dir=None):
    """Path of ``<rollback_dir>/<version>_<name>.down.sql`` for this version, or None.

    ``rollback_dir`` defaults to ``<project>/supabase/rollbacks``. Raises MigrationDirectoryError when
    several down scripts claim the version.
    """
    if rollback_dir is None:
        rollback_dir = default_rollback_dir(project_dir)
    if not os.path.isdir(rollback_dir):
        return None
    prefix = "%s_" % version
    found = sorted(name for name in os.listdir(rollback_dir)
                   if name.startswith(prefix) and name.endswith(DOWN_SUFFIX))
    if len(found) > 1:
        raise MigrationDirectoryError("several down scripts for version %s in %s: %s; keep one"
                                      % (version, rollback_dir, ", ".join(found)))
    return os.path.join(rollback_dir, found[0]) if found else None
