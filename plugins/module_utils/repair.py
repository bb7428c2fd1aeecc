# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repair the migration history without running migrations (the runbook's drift options).

- ``applied``: like ``supabase migration repair --status applied``: upsert version, name and statements
  of the local file; the file is not run.
- ``reverted``: like ``--status reverted``: delete the row; the schema is left as it is.
- ``fetch`` (option A): write the missing local files from the statements the history recorded, so the
  CLI reports no remote-only version afterwards.
- ``baseline`` (option C): a schema-only ``pg_dump`` of the remote into one new migration, marked applied
  (optionally marking the older remote-only versions reverted).

History changes run in one transaction under the same advisory lock as migration_apply.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import simple_name
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import (
    acquire_apply_lock,
    refuse_transaction_pooler,
    release_apply_lock,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, transaction
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import read_state
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import (
    HISTORY_QUALIFIED,
    delete_history,
    ensure_history_table,
    upsert_history,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.plan_digest import statements_checksum, step
from ansible_collections.hotdash.supabase.plugins.module_utils.process import run_process
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import utc_now

STATES = ("applied", "reverted", "fetch", "baseline")
_NAME_SAFE = re.compile(r"[^A-Za-z0-9_]+")
# pg_dump preamble lines that must not end up in a migration: session settings that would leak into the
# migrations applied after it on the same connection, and psql meta-commands (\restrict, 15.14+).
_DUMP_DROP = re.compile(r"^(SET \w+ = .*;|SELECT pg_catalog\.set_config\('search_path', '', false\);|\\.*)$")


_CREATE_SCHEMA = re.compile(r"^CREATE SCHEMA (?!IF NOT EXISTS)(.*;)$")


class RepairError(SupabaseError):
    """A repair could not be done as asked."""


def _describe_row(row):
    if row is None:
        return ""
    count = len(row.statements) if row.statements is not None else 0
    return "%s %s (%d statement(s))\n" % (row.version, row.name, count)


def statements_to_file(statements):
    """SQL text that the CLI's splitter turns back into exactly ``statements``."""
    parts = []
    for statement in statements:
        last_line = statement.rstrip().splitlines()[-1] if statement.strip() else ""
        # A statement ending inside a line comment needs its ';' on the next line.
        parts.append(statement + ("\n;" if "--" in last_line else ";"))
    return "\n\n".join(parts) + "\n"


def file_name_for(version, name):
    """``<version>_<name>.sql``; the version (read from a history row, which anyone with write access to the table
    can set) must be digits, so it can never lead the file out of the migrations directory."""
    if not re.match(r"^[0-9]+\Z", str(version or "")):
        raise RepairError("cannot fetch version %r: a migration file's version must be digits (the CLI's "
                          "<version>_<name>.sql); mark it reverted instead" % (version,))
    clean = _NAME_SAFE.sub("_", name or "").strip("_") or "remote_history"
    return "%s_%s.sql" % (version, clean)


def clean_dump(text):
    """A schema-only pg_dump as a migration: without the session preamble and psql meta-commands."""
    lines = [line for line in text.splitlines() if not _DUMP_DROP.match(line.strip())]
    # A dump names its schemas with CREATE SCHEMA; "public" (and any schema a fresh project already has)
    # must not make the baseline fail when it is replayed on a new database.
    lines = [_CREATE_SCHEMA.sub(r"CREATE SCHEMA IF NOT EXISTS \1", line) for line in lines]
    body = "\n".join(lines).strip()
    body = re.sub(r"(\n--\n-- PostgreSQL database dump complete\n--)+$", "", body).strip()
    return body + "\n"


def dump_schema(settings, schemas, pg_dump="pg_dump", timeout=600):
    """``pg_dump --schema-only`` of ``schemas``; password through PGPASSWORD; one-line RepairError on failure."""
    argv = [pg_dump, "--schema-only", "--no-owner", "--no-privileges", "--quote-all-identifiers"]
    for schema in schemas:
        argv += ["--schema", schema]
    argv += settings.libpq_args()
    outcome = run_process(argv, "pg_dump of %s for the baseline" % settings.describe(), timeout=timeout,
                          env=settings.child_env(dict(os.environ)), secrets=settings.secrets(), error=RepairError,
                          install_hint="install the PostgreSQL client")
    return outcome.stdout


class RepairRequest(object):
    def __init__(self, state, versions=None, remote_only=False, baseline_version=None, baseline_name="remote_baseline",
                 schemas=None, revert_remote_only=False, apply_lock_wait=30.0, pg_dump="pg_dump", guard=None):
        if state not in STATES:
            raise InvalidInput("state must be one of %s, not %r" % (", ".join(STATES), state))
        versions = [str(v).strip() for v in (versions or [])]
        bad = [v for v in versions if not re.match(r"^[0-9]+$", v)]
        if bad:
            raise InvalidInput("versions must be migration versions (digits only); got %s" % ", ".join(repr(v) for v in bad))
        if state in ("applied", "reverted") and not versions and not remote_only:
            raise InvalidInput("state=%s needs versions (or remote_only=true for reverted)" % state)
        if remote_only and state != "reverted":
            raise InvalidInput("remote_only=true only goes with state=reverted")
        if baseline_version is not None and not re.match(r"^[0-9]{14}$", str(baseline_version)):
            raise InvalidInput("baseline_version must be a 14-digit YYYYMMDDHHMMSS version, not %r" % (baseline_version,))
        self.state = state
        self.versions = versions
        self.remote_only = remote_only
        self.baseline_version = str(baseline_version) if baseline_version else None
        # It becomes part of a file name (<version>_<name>.sql): a simple name, never ../x.
        self.baseline_name = simple_name(baseline_name or "remote_baseline", "baseline_name")
        self.schemas = list(schemas or ["public"])
        self.revert_remote_only = revert_remote_only
        self.apply_lock_wait = apply_lock_wait
        self.pg_dump = pg_dump
        self.guard = guard  # policy_guard.Guard, asked before the history or the directory changes


def run_repair(settings, project_dir, request, check_mode=False, diff=False):
    """Plan and (unless ``check_mode``) carry out a repair; returns the module's result dict."""
    local = load_directory(project_dir)
    refuse_transaction_pooler(settings)
    conn = connect(settings, application_name="hotdash.supabase migration_repair")
    result = dict(changed=False, state=request.state, actions=[], files=[], queries=[])
    diffs = []
    try:
        conn.autocommit = True
        remote, report = read_state(conn, local)[1:]
        if request.state == "fetch":
            _fetch(local, report, result, diffs, check_mode)
        else:
            if not check_mode:
                acquire_apply_lock(conn, request.apply_lock_wait)
                remote, report = read_state(conn, local)[1:]  # re-read under the lock
            if request.state in ("applied", "reverted"):
                _status(conn, local, remote, report, request, result, diffs, check_mode)
            else:
                _baseline(conn, settings, local, remote, report, request, result, diffs, check_mode)
        if diff:
            result["diff"] = diffs
        result["summary"] = "%s: %d change(s)%s" % (request.state, sum(1 for a in result["actions"]
                                                                       if a["action"] != "unchanged"),
                                                    " (check mode)" if check_mode else "")
        result["remote_only_before"] = [row.version for row in report.remote_only]
        if not check_mode:  # what is left, read again (a fetch wrote files, so the directory too)
            after = read_state(conn, load_directory(project_dir))[2]
            result["remote_only_after"] = [row.version for row in after.remote_only]
        return result
    finally:
        release_apply_lock(conn)
        conn.close()


def repair_checks(result, check_mode=False):
    """The repair as report checks: ``repair`` with the summary, and (after a real repair) ``remote-only versions``,
    failed while the history still has versions without a local file."""
    checks = [make_check("repair (check mode)" if check_mode else "repair", "ok", result["summary"])]
    if "remote_only_after" in result:
        left = result["remote_only_after"]
        checks.append(make_check("remote-only versions", "fail" if left else "ok",
                                 "before %d, after %d%s" % (len(result["remote_only_before"]), len(left),
                                                            (": " + brief(left)) if left else ""),
                                 "run the playbook with another strategy, or repair by hand with "
                                 "hotdash.supabase.migration_repair"))
    return checks


def _ask_guard(request, changes, check_mode, result):
    """The database's policy on these history changes (each: kind, version, name and statements checksummed)."""
    if changes and request.guard is not None:
        result["policy_check"] = request.guard(
            [step(version, statements_checksum([kind, name or ""] + list(statements or [])))
             for kind, version, name, statements in changes], check_mode)


def _history_change(conn, result, changes, check_mode, request=None):
    """Run ``changes`` [(kind, version, name, statements)] in one transaction (creating the table if needed).

    With ``request``, its guard (policy_guard.Guard) decides on them first, in check mode too (the plan digest).
    """
    for kind, version, name, statements in changes:
        if kind == "upsert":
            result["queries"].append("INSERT INTO %s (version, name, statements) VALUES ('%s', '%s', <%d statement(s)>) "
                                     "ON CONFLICT (version) DO UPDATE" % (HISTORY_QUALIFIED, version,
                                                                          name.replace("'", "''"), len(statements)))
        else:
            result["queries"].append("DELETE FROM %s WHERE version = '%s'" % (HISTORY_QUALIFIED, version))
    if request is not None:
        _ask_guard(request, changes, check_mode, result)
    if check_mode or not changes:
        return
    with transaction(conn) as cur:
        if any(kind == "upsert" for kind, _v, _n, _s in changes):
            ensure_history_table(cur)
        for kind, version, name, statements in changes:
            if kind == "upsert":
                upsert_history(cur, version, name, statements)
            else:
                delete_history(cur, version)


def _status(conn, local, remote, report, request, result, diffs, check_mode):
    by_version = dict((row.version, row) for row in remote)
    versions = list(request.versions)
    if request.remote_only:
        versions += [row.version for row in report.remote_only if row.version not in versions]
    changes = []
    if request.state == "applied":
        missing = [v for v in versions if v not in local.by_version]
        if missing:
            raise InvalidInput("cannot mark %s applied: no local migration file has that version in %s"
                               % (", ".join(missing), local.path))
        dup = [v for v in versions if v in local.duplicates]
        if dup:
            raise InvalidInput("cannot mark %s applied: %s" % (", ".join(dup), local.duplicate_message()))
        for version in versions:
            migration = local.by_version[version]
            statements = migration.statements()
            row = by_version.get(version)
            same = row is not None and row.name == migration.name and list(row.statements or []) == statements
            result["actions"].append(dict(version=version, name=migration.name,
                                          action="unchanged" if same else ("updated" if row else "inserted")))
            if not same:
                changes.append(("upsert", version, migration.name, statements))
                diffs.append(dict(before_header="%s history row %s" % (HISTORY_QUALIFIED, version),
                                  after_header="%s history row %s" % (HISTORY_QUALIFIED, version),
                                  before=_describe_row(row),
                                  after="%s %s (%d statement(s))\n" % (version, migration.name, len(statements))))
    else:
        for version in versions:
            row = by_version.get(version)
            result["actions"].append(dict(version=version, name=row.name if row else None,
                                          action="deleted" if row else "unchanged"))
            if row is not None:
                changes.append(("delete", version, row.name, None))
                diffs.append(dict(before_header="%s history row %s" % (HISTORY_QUALIFIED, version),
                                  after_header="%s history row %s" % (HISTORY_QUALIFIED, version),
                                  before=_describe_row(row), after=""))
    _history_change(conn, result, changes, check_mode, request)
    result["changed"] = bool(changes)


def _fetch(local, report, result, diffs, check_mode):
    planned = []
    for row in report.remote_only:
        if row.statements is None:
            raise RepairError("cannot fetch version %s: its history row has no statements (written by an old CLI); "
                              "use state=baseline or mark it reverted" % row.version)
        filename = file_name_for(row.version, row.name)
        path = os.path.join(local.path, filename)
        if os.path.exists(path):
            raise RepairError("cannot fetch version %s: %s already exists" % (row.version, filename))
        content = statements_to_file(row.statements)
        if split_statements(content) != list(row.statements):
            raise RepairError("cannot fetch version %s: its recorded statements do not survive a round trip through "
                              "the CLI's splitter; write the file by hand" % row.version)
        planned.append((row, filename, path, content))
    for row, filename, path, content in planned:
        if not check_mode:
            with io.open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(content)
        result["files"].append(path)
        result["actions"].append(dict(version=row.version, name=row.name, action="written", file=filename))
        diffs.append(dict(before_header=path, after_header=path, before="", after=content))
    result["changed"] = bool(planned)


def _baseline(conn, settings, local, remote, report, request, result, diffs, check_mode):
    version = request.baseline_version or utc_now().strftime("%Y%m%d%H%M%S")
    if version in local.by_version:
        raise InvalidInput("baseline_version %s is already the version of %s" % (version, local.by_version[version].filename))
    if version in set(row.version for row in remote):
        raise InvalidInput("baseline_version %s is already in the remote history" % version)
    filename = file_name_for(version, request.baseline_name)
    path = os.path.join(local.path, filename)
    content = clean_dump(dump_schema(settings, request.schemas, pg_dump=request.pg_dump))
    statements = split_statements(content)
    if not statements:
        raise RepairError("the schema-only dump of %s (schemas %s) is empty; nothing to baseline"
                          % (settings.describe(), ", ".join(request.schemas)))
    changes = [("upsert", version, request.baseline_name, statements)]
    result["actions"].append(dict(version=version, name=request.baseline_name, action="written", file=filename))
    if request.revert_remote_only:
        for row in report.remote_only:
            if row.version < version:
                changes.append(("delete", row.version, row.name, None))
                result["actions"].append(dict(version=row.version, name=row.name, action="deleted"))
    result["files"].append(path)
    result["baseline_version"] = version
    diffs.append(dict(before_header=path, after_header=path, before="", after=content))
    if not check_mode:
        _ask_guard(request, changes, False, result)  # the policy decides before the file is written
        with io.open(path, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        try:
            _history_change(conn, result, changes, check_mode)
        except Exception:
            os.unlink(path)  # the file without its history row would be pending and re-create everything
            raise
    else:
        _history_change(conn, result, changes, check_mode, request)
    result["changed"] = True
