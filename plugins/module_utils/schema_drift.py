# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema drift at the level of objects: what the target holds that the migrations do not build, and back.

The history table only says which versions ran. A policy changed in the dashboard, a function edited by
hand, a table created from the SQL editor leave it untouched. ``supabase db diff`` answers this with Docker
only; here:

1. the target's schema is read with ``pg_dump --schema-only`` (read-only, shadow.snapshot_target);
2. a shadow database (shadow.py: a local cluster by default) gets what the platform provides and the
   migrations do not create: roles, extensions, the schemas not compared (auth, storage, extensions, ...),
   and the public schema itself with its grants and default privileges;
3. the local migrations are applied to it with the native engine: by default the ones the target's history
   records as applied (``migrations=applied``, so a pending release is not reported as drift), or every
   file (``migrations=all``); a file that fails is reported and the others still run;
4. both schemas are dumped the same way and compared per pg_dump entry (type, schema, name) on their
   normalised SQL (schema_dump.DumpEntry.normalised: owners and session settings left out).

Each object is ``remote_only`` (on the target, not built by the migrations), ``local_only`` (built by the
migrations, missing on the target) or ``differs`` (both, different definition; a short diff says how).
Compared schemas: every schema that is not platform-managed (schema_dump.MANAGED_SCHEMAS), or those given.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import os
import shutil
import tempfile
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import refuse_transaction_pooler
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import classify
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, severity_status
from ansible_collections.hotdash.supabase.plugins.module_utils.schema_dump import (
    dump_schema,
    is_managed,
    objects_in,
    pg_tool,
    read_entries,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import (
    apply_to_shadow,
    fill_shadow,
    open_shadow,
    planned_migrations,
    snapshot_target,
)

MIGRATION_SETS = ("applied", "all")
STATES = ("remote_only", "local_only", "differs")
DIFF_LINES = 40
_SHOWN = 5


def compared_schemas(entries, given=None):
    """The schemas to compare: ``given``, else every schema in ``entries`` that is not platform-managed, + public."""
    if given:
        return sorted(set(given))
    found = set(entry.scope for entry in entries if entry.scope and not is_managed(entry.scope))
    found.add("public")
    return sorted(found)


def is_platform_entry(entry, schemas):
    """What the shadow copies from the target before the migrations run (see the module docstring)."""
    if entry.scope not in schemas:
        return True  # roles-level, extensions, and the schemas not compared
    if entry.scope == "public":
        # The public schema exists in every database; its grants and default privileges come with the platform.
        return entry.type in ("SCHEMA", "DEFAULT ACL") or entry.name == "SCHEMA public"
    return False


def migrations_to_build(local, report, which):
    """The local files the shadow is built from: those the history records (``applied``) or every file."""
    if which not in MIGRATION_SETS:
        raise InvalidInput("migrations must be one of %s, not %r" % (", ".join(MIGRATION_SETS), which))
    if which == "all":
        return list(local.migrations)
    recorded = set(entry["file"] for entry in report.entries
                   if entry.get("file") and entry["state"] in ("applied", "content_changed"))
    return [migration for migration in local.migrations if migration.filename in recorded]


def _diff(remote, local):
    lines = list(difflib.unified_diff(remote.splitlines(), local.splitlines(), "remote", "local", lineterm="", n=1))
    if len(lines) > DIFF_LINES:
        lines = lines[:DIFF_LINES] + ["... (%d more diff lines)" % (len(lines) - DIFF_LINES)]
    return lines


def compare(remote_entries, local_entries, schemas):
    """``[{object, type, schema, name, state, diff}]`` for every object that is not the same on both sides."""
    remote = objects_in(remote_entries, schemas)
    local = objects_in(local_entries, schemas)
    differences = []
    same = 0
    for key in sorted(set(remote) | set(local)):
        left, right = remote.get(key), local.get(key)
        entry = left or right
        item = {"object": entry.label(), "type": entry.type, "schema": entry.scope, "name": entry.name}
        if right is None:
            item["state"] = "remote_only"
        elif left is None:
            item["state"] = "local_only"
        else:
            left_text, right_text = left.normalised(), right.normalised()
            if left_text == right_text:
                same += 1
                continue
            item["state"] = "differs"
            item["diff"] = _diff(left_text, right_text)
        differences.append(item)
    return differences, same


def schema_drift(settings, project_dir, options, statement_timeout=300.0, schemas=None, migrations="applied"):
    """Build the migrations into a shadow and compare its objects with the target's; returns the report dict.

    Statements that cannot run in a transaction run on their own (the shadow has no other session to
    block); ``statement_timeout`` (seconds, 0 for none) bounds each statement.
    """
    started = time.monotonic()
    apply_options = ApplyOptions(environment=options.environment, non_transactional="isolate",
                                 statement_timeout=statement_timeout, lock_retries=0)
    local = load_directory(project_dir)
    if migrations not in MIGRATION_SETS:
        raise InvalidInput("migrations must be one of %s, not %r" % (", ".join(MIGRATION_SETS), migrations))
    refuse_transaction_pooler(settings)
    options.check_target(settings)
    if schemas:
        options.exclude_schemas = [name for name in options.exclude_schemas if name not in schemas]
    workdir = tempfile.mkdtemp(prefix="hotdash-schema-drift-")
    try:
        snapshot = snapshot_target(settings, options, workdir)
        report = classify(local, snapshot.history, history_table_exists=snapshot.history_exists)
        chosen = migrations_to_build(local, report, migrations)
        planned = planned_migrations(chosen)
        wanted = compared_schemas(snapshot.entries, schemas)
        platform = [entry for entry in snapshot.entries if is_platform_entry(entry, wanted)]
        with open_shadow(settings, options, snapshot.major) as shadow:
            restore_errors = fill_shadow(shadow, snapshot, platform)
            applied, failures = apply_to_shadow(shadow, planned, apply_options, stop_at_failure=False)
            path = dump_schema(shadow.settings, os.path.join(workdir, "shadow.dump"),
                               pg_tool("pg_dump", options.bin_dir), options.exclude_schemas,
                               options.lock_wait_timeout, options.timeout)
            shadow_entries = read_entries(path, pg_tool("pg_restore", options.bin_dir), options.timeout)[1]
            described = shadow.describe()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not schemas:
        wanted = compared_schemas(list(snapshot.entries) + list(shadow_entries))
    objects, same = compare(snapshot.entries, shadow_entries, wanted)
    counts = dict((state, sum(1 for item in objects if item["state"] == state)) for state in STATES)
    counts["same"] = same
    return {
        "in_sync": not objects and not failures,
        "schemas": wanted,
        "migrations": migrations,
        "built": [item["file"] for item in applied],
        "build_failures": failures,
        "recorded_versions": len(snapshot.history),
        "objects": objects,
        "counts": counts,
        "shadow": described,
        "restore_errors": restore_errors,
        "duration_ms": int((time.monotonic() - started) * 1000),
    }


def _names(items, limit=_SHOWN):
    shown = ", ".join(item["object"] for item in items[:limit])
    return shown + (" (+%d more)" % (len(items) - limit) if len(items) > limit else "")


def drift_check(report, environment, severity="auto"):
    """``schema_drift``: ok when the migrations build exactly the target's objects; else what differs."""
    objects = report["objects"]
    data = dict(report)
    if report["in_sync"]:
        detail = ("the %d migration(s) %s build the target's schema (%s) object for object: %d object(s) compared"
                  % (len(report["built"]), _which(report), ", ".join(report["schemas"]), report["counts"]["same"]))
        return make_check("schema_drift", "ok", detail, data=data)
    parts = []
    for state, label in (("remote_only", "only on the target"), ("local_only", "only built by the migrations"),
                         ("differs", "defined differently")):
        items = [item for item in objects if item["state"] == state]
        if items:
            parts.append("%d %s: %s" % (len(items), label, _names(items)))
    if report["build_failures"]:
        first = report["build_failures"][0]
        parts.append("%d migration(s) do not build from scratch (first: %s: %s)"
                     % (len(report["build_failures"]), first["file"], first["error"]))
    if not report["recorded_versions"] and report["migrations"] == "applied":
        parts.append("the target's history records no version, so nothing was built (migrations=all compares "
                     "against every local file)")
    return make_check("schema_drift", severity_status(environment, severity), "schema drift: " + "; ".join(parts),
                      "capture objects made outside the migrations in a new migration (or drop them), restore "
                      "hand-edited objects from the migrations or write a migration for the change; the check's "
                      "data has a diff per object", data=data)


def _which(report):
    return "the target has applied" if report["migrations"] == "applied" else "in the project"
