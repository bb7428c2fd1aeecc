# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Down scripts: what to revert, the scripts that revert it, and running them with the history rows.

``supabase/rollbacks/<version>_<name>.down.sql`` per version (``rollback_dir``), or the runbook's single
``scripts/rollback_migrations_<date>.sql`` whose header names the versions it reverts:
``-- reverts: 20251019090000, 20251015090000`` (one or more such lines; versions separated by commas or
blanks). Each step runs in one transaction together with deleting its versions' history rows, so
``supabase migration list`` shows them as not applied.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import re

try:
    import psycopg2
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import transaction
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import delete_history
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import default_rollback_dir, find_down_script
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

_VERSION_RE = re.compile(r"^[0-9]+$")
_REVERTS_RE = re.compile(r"^\s*--\s*reverts\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
_COMMENTS_RE = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


class RollbackError(SupabaseError):
    """A rollback step failed; ``result`` says what was reverted before it and where the log is."""


def parse_reverts_header(text):
    """Versions named by ``-- reverts: v1, v2`` lines of a rollback script (in the order written)."""
    versions = []
    for match in _REVERTS_RE.finditer(text):
        for item in re.split(r"[\s,]+", match.group(1).strip()):
            if not item:
                continue
            if not _VERSION_RE.match(item):
                raise InvalidInput("rollback script header names %r, which is not a migration version; write "
                                   "'-- reverts: 20251019090000, 20251015090000'" % item)
            if item not in versions:
                versions.append(item)
    return versions


def versions_to_revert(applied, target_version=None, versions=None):
    """Applied versions to revert, newest first: those in ``versions``, or those newer than ``target_version``."""
    applied = set(applied)
    if versions:
        wanted = set(versions)
    elif target_version is not None:
        wanted = set(v for v in applied if v > target_version)
    else:
        wanted = set()
    return sorted(wanted & applied, reverse=True)


def read_script(path, what):
    try:
        with io.open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read %s %s: %s" % (what, path, getattr(exc, "strerror", None) or exc))
    except UnicodeDecodeError:
        raise InvalidInput("%s %s is not valid UTF-8; save it as UTF-8" % (what, path))
    # The splitter keeps a trailing comment as a piece of its own; a comment is not a statement to run.
    statements = [s for s in split_statements(text) if _COMMENTS_RE.sub("", s).strip()]
    if not statements:
        raise InvalidInput("%s %s contains no SQL statement" % (what, path))
    return text, statements


def plan_down_scripts(project_dir, to_revert, rollback_script=None, rollback_dir=None):
    """Steps ``[{versions, file, statements}]``, newest first; InvalidInput naming every missing script.

    Down scripts are looked up in ``rollback_dir`` (default ``<project>/supabase/rollbacks``).
    """
    if rollback_script:
        text, statements = read_script(rollback_script, "rollback script")
        listed = parse_reverts_header(text)
        if not listed:
            raise InvalidInput("rollback script %s names no versions; add a header line such as "
                               "'-- reverts: 20251019090000' so the history can be updated" % rollback_script)
        missing = [v for v in to_revert if v not in listed]
        if missing:
            raise InvalidInput("rollback script %s does not revert %s (its header names %s); extend the script or "
                               "choose a later target_version" % (rollback_script, ", ".join(missing),
                                                                  ", ".join(listed)))
        return [dict(versions=list(to_revert), file=rollback_script, statements=statements)] if to_revert else []
    steps, missing = [], []
    for version in to_revert:
        path = find_down_script(project_dir, version, rollback_dir=rollback_dir)
        if path is None:
            missing.append(version)
            continue
        steps.append(dict(versions=[version], file=path, statements=read_script(path, "down script")[1]))
    if missing:
        where = rollback_dir or default_rollback_dir(project_dir)
        raise InvalidInput("no down script for %s in %s (expected <version>_<name>.down.sql); "
                           "nothing was rolled back" % (", ".join(missing), where))
    return steps


def run_down_scripts(conn, steps, log, result):
    """Each step and the deletion of its history rows in one transaction, newest first; stop at the first failure."""
    for step in steps:
        name = os.path.basename(step["file"])
        log.write("running %s (%d statement(s)) to revert %s" % (name, len(step["statements"]), ", ".join(step["versions"])))
        with transaction(conn) as cur:
            for index, statement in enumerate(step["statements"], 1):
                try:
                    cur.execute(statement)
                except psycopg2.Error as exc:
                    raise RollbackError("down script %s failed at statement %d of %d: %s; it was rolled back and "
                                        "%s stays applied" % (name, index, len(step["statements"]), error_line(exc),
                                                              ", ".join(step["versions"])),
                                        failed_file=step["file"], failed_versions=step["versions"])
            for version in step["versions"]:
                delete_history(cur, version)
        result["reverted"].extend(step["versions"])
        log.write("reverted %s" % ", ".join(step["versions"]))
