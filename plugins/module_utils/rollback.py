# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roll migrations back, prove it worked, and record that it was exercised.

Strategies (runbook "Rollback Procedures"):

* ``down_scripts``: for each version to revert, newest first, run
  ``supabase/rollbacks/<version>_<name>.down.sql`` and delete its history row in one transaction, so
  ``supabase migration list`` shows it as not applied. Or run the runbook's single script
  ``scripts/rollback_migrations_<date>.sql`` (option ``rollback_script``) in one transaction with the
  history rows of the versions it names in its header: ``-- reverts: 20251019090000, 20251015090000``
  (one or more such lines; versions separated by commas or blanks).
* ``logical_restore``: restore the preflight's ``pg_dump -Fc`` file (see ``restore.py``) and check the
  row counts and the history against what the dump holds.
* ``supabase_pitr``: the Management API's point-in-time restore to a moment before the apply, polled
  until the project is ``ACTIVE_HEALTHY`` again.
* ``staging_reset`` (staging/local only): drop the objects of the application schemas and the history
  rows, then re-apply the migrations up to the target with the native apply engine (the runbook's
  ``supabase db reset``, without Docker).

Every strategy is followed by the same verification (history equals the target state, smoke reads,
row counts did not drop, RLS still enabled where it was), appends to a log
``<log_dir>/<environment>_rollback_<UTC ts>.log`` and records the exercise in
``hotdash_audit.rollback_exercises`` of the target database, which the production preflight reads
from staging.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import os
import re
import time

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils import restore as restore_mod
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyLog, ApplyOptions, NullLog, run_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import delete_history, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import default_rollback_dir, find_down_script
from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import writable_session
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, utc_stamp
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

STRATEGIES = ("down_scripts", "logical_restore", "supabase_pitr", "staging_reset")
RESET_ENVIRONMENTS = ("staging", "local")
# The tables the runbook's smoke tests and "verify no data loss" read.
DEFAULT_COUNT_TABLES = ("public.product_categories", "public.customer_segments", "public.agents",
                        "public.agent_approvals", "public.facts")
DEFAULT_SCHEMAS = ("public",)
_VERSION_RE = re.compile(r"^[0-9]+$")
_REVERTS_RE = re.compile(r"^\s*--\s*reverts\s*:(.*)$", re.IGNORECASE | re.MULTILINE)
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_COMMENTS_RE = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


class RollbackError(SupabaseError):
    """A rollback step failed; ``result`` says what was reverted before it and where the log is."""


# -- options ------------------------------------------------------------------------------------------------------

class RollbackOptions(object):
    """What to roll back and how; defaults are the module's defaults."""

    def __init__(self, strategy, environment="local", project_dir=None, target_version=None, versions=None,
                 rollback_script=None, rollback_dir=None, backup_path=None, schemas=DEFAULT_SCHEMAS, count_tables=DEFAULT_COUNT_TABLES,
                 seed_path=None, project_ref=None, access_token=None, api_url="https://api.supabase.com",
                 recovery_time_target=None, wait_timeout=1800, poll_interval=15, log_dir=None, trigger=None,
                 run_id=None, host=None, record_exercise=True, fail_on_verify=True, pg_bin_dir=None, timeout=3600):
        if strategy not in STRATEGIES:
            raise InvalidInput("strategy must be one of %s, not %r" % (", ".join(STRATEGIES), strategy))
        if not environment or not re.match(r"^[A-Za-z0-9_.-]+$", environment):
            raise InvalidInput("environment must be a simple name such as staging, not %r" % (environment,))
        if target_version not in (None, "") and not _VERSION_RE.match(str(target_version)):
            raise InvalidInput("target_version must be a migration version (digits only), not %r" % (target_version,))
        bad = [v for v in (versions or []) if not _VERSION_RE.match(str(v))]
        if bad:
            raise InvalidInput("versions must be migration versions (digits only); not: %s" % ", ".join(map(str, bad)))
        for name in list(schemas or []):
            if not _NAME_RE.match(name):
                raise InvalidInput("schema %r is not a plain schema name" % (name,))
        if not schemas:
            raise InvalidInput("schemas must name at least one application schema (default: public)")
        if strategy == "staging_reset" and environment not in RESET_ENVIRONMENTS:
            raise InvalidInput("refusing staging_reset in environment %s: it drops and re-creates the schema, which "
                               "is allowed only in %s; use down_scripts, logical_restore or supabase_pitr"
                               % (environment, " or ".join(RESET_ENVIRONMENTS)))
        if strategy in ("down_scripts", "staging_reset") and not project_dir:
            raise InvalidInput("%s needs project_dir (the directory holding supabase/migrations)" % strategy)
        if strategy == "down_scripts" and rollback_script and not os.path.isfile(rollback_script):
            raise InvalidInput("rollback_script %s not found" % rollback_script)
        if strategy == "supabase_pitr":
            if not project_ref:
                raise InvalidInput("supabase_pitr needs project_ref (the <ref> of https://<ref>.supabase.co)")
            if not access_token:
                raise InvalidInput("supabase_pitr needs access_token (or env SUPABASE_ACCESS_TOKEN)")
            if not recovery_time_target:
                raise InvalidInput("supabase_pitr needs recovery_time_target: a moment before the apply "
                                   "(ISO 8601 UTC or Unix seconds)")
        if strategy == "logical_restore":
            restore_mod.check_dump(backup_path)
        if seed_path and not os.path.isfile(seed_path):
            raise InvalidInput("seed_path %s not found" % seed_path)
        if (strategy not in ("logical_restore",) and not (strategy == "down_scripts" and rollback_script)
                and target_version in (None, "") and not versions):
            raise InvalidInput("say what to roll back: target_version (revert every applied version newer than it) "
                               "or versions (e.g. the versions the apply just applied)")
        self.strategy = strategy
        self.environment = environment
        self.project_dir = project_dir
        self.target_version = str(target_version) if target_version not in (None, "") else None
        self.versions = [str(v) for v in (versions or [])]
        self.rollback_script = rollback_script
        self.rollback_dir = rollback_dir or None
        self.backup_path = backup_path
        self.schemas = list(schemas)
        self.count_tables = [qualify(t) for t in (count_tables or [])]
        self.seed_path = seed_path
        self.project_ref = project_ref
        self.access_token = access_token
        self.api_url = api_url
        self.recovery_time_target = recovery_time_target
        self.wait_timeout = wait_timeout
        self.poll_interval = poll_interval
        self.log_dir = log_dir
        self.trigger = trigger or None
        self.run_id = run_id
        self.host = host
        self.record_exercise = record_exercise
        self.fail_on_verify = fail_on_verify
        self.pg_bin_dir = pg_bin_dir
        self.timeout = timeout


def qualify(table):
    """``schema.table`` (``public`` when no schema is given); InvalidInput for anything else."""
    parts = str(table).split(".")
    if len(parts) == 1:
        parts = ["public"] + parts
    if len(parts) != 2 or not all(_NAME_RE.match(p) for p in parts):
        raise InvalidInput("count table %r is not a plain [schema.]table name" % (table,))
    return ".".join(parts)


# -- what to revert -----------------------------------------------------------------------------------------------

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


# -- snapshot and verification ----------------------------------------------------------------------------------

def take_snapshot(conn, count_tables, schemas):
    """History versions, row count (or the read error) per table, and the tables with RLS enabled."""
    out = dict(history=[], counts={}, errors={}, rls=[])
    conn.autocommit = True
    with conn.cursor() as cur:
        out["history"] = [row.version for row in read_history(cur)]
        for table in count_tables:
            schema, name = table.split(".")
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if not cur.fetchone()[0]:
                out["counts"][table] = None
                out["errors"][table] = "does not exist"
                continue
            try:
                cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
                out["counts"][table] = cur.fetchone()[0]
            except psycopg2.Error as exc:
                out["counts"][table] = None
                out["errors"][table] = (str(exc).strip().splitlines() or ["error"])[0]
        cur.execute("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND n.nspname = ANY(%s) ORDER BY 1",
                    (list(schemas),))
        out["rls"] = [row[0] for row in cur.fetchall()]
    return out


def _brief(items, limit=6):
    items = list(items)
    return ", ".join(items[:limit]) + (" (+%d more)" % (len(items) - limit) if len(items) > limit else "")


def verification_checks(strategy, before, after, expected_history, dump_counts=None):
    """The rollback verification as report checks (pure: snapshots in, checks out)."""
    checks = []
    expected = sorted(expected_history)
    have = sorted(after["history"])
    extra = [v for v in have if v not in expected]
    missing = [v for v in expected if v not in have]
    if not extra and not missing:
        checks.append(make_check("rollback history", "ok", "history matches the target: %d version(s), newest %s"
                                 % (len(have), have[-1] if have else "none"), data=dict(history=have)))
    else:
        parts = []
        if extra:
            parts.append("still applied: %s" % _brief(extra))
        if missing:
            parts.append("missing: %s" % _brief(missing))
        checks.append(make_check("rollback history", "fail", "history differs from the target state (%s)" % "; ".join(parts),
                                 "compare with migration_info and repair the history (migration_repair) after checking "
                                 "the schema", data=dict(history=have, expected=expected)))
    existed = [t for t, n in before["counts"].items() if n is not None]
    unreadable = dict((t, after["errors"].get(t, "unreadable")) for t in existed if after["counts"].get(t) is None)
    if unreadable:
        checks.append(make_check("smoke reads", "fail", "cannot read %s" % _brief("%s (%s)" % kv for kv in sorted(
            unreadable.items())), "a table that existed before the rollback is gone or unreadable: restore it "
                                  "from the backup", data=dict(errors=unreadable)))
    else:
        checks.append(make_check("smoke reads", "ok", "read %d table(s): %s" % (len(existed), _brief(
            "%s=%s" % (t, after["counts"][t]) for t in existed)) if existed else "no configured table existed", data={}))
    dropped = dict((t, [before["counts"][t], after["counts"].get(t)]) for t in existed
                   if after["counts"].get(t) is not None and after["counts"][t] < before["counts"][t])
    dropped.update((t, [before["counts"][t], None]) for t in unreadable)
    if not dropped:
        checks.append(make_check("no data loss", "ok", "row counts did not drop in %d table(s)" % len(existed),
                                 data=dict(before=before["counts"], after=after["counts"])))
    else:
        detail = "row counts dropped: %s" % _brief("%s %s -> %s" % (t, b, a if a is not None else "gone")
                                                   for t, (b, a) in sorted(dropped.items()))
        if strategy == "down_scripts":
            status, remedy = "fail", "a down script lost data: restore the rows from the backup and fix the script"
        elif strategy == "staging_reset":
            status, remedy = "warn", "staging_reset re-creates the schema from migrations; load a seed (seed_path)"
            detail += " (expected: a reset keeps no data)"
        else:
            status, remedy = "warn", "rows written after the restore point are gone; replay them if they matter"
            detail += " (rows written after the restore point)"
        checks.append(make_check("no data loss", status, detail, remedy,
                                 data=dict(before=before["counts"], after=after["counts"])))
    if dump_counts is not None:
        wrong = dict((t, [dump_counts[t], after["counts"].get(t)]) for t in sorted(dump_counts)
                     if t in before["counts"] and after["counts"].get(t) != dump_counts[t])
        compared = [t for t in dump_counts if t in before["counts"]]
        if wrong:
            checks.append(make_check("backup row counts", "fail", "row counts differ from the backup: %s" % _brief(
                "%s backup %s, now %s" % (t, b, a) for t, (b, a) in wrong.items()),
                "the restore is incomplete: inspect the log and restore again", data=dict(backup=dump_counts)))
        else:
            checks.append(make_check("backup row counts", "ok", "%d table(s) match the backup: %s" % (len(compared), _brief(
                "%s=%s" % (t, dump_counts[t]) for t in sorted(compared))), data=dict(backup=dump_counts)))
    tables_after = set(after.get("tables", before["rls"]))
    lost_rls = [t for t in before["rls"] if t not in after["rls"] and t in tables_after]
    gone = [t for t in before["rls"] if t not in tables_after]
    if lost_rls:
        checks.append(make_check("rls enabled", "fail", "row level security is off on %s" % _brief(lost_rls),
                                 "ALTER TABLE ... ENABLE ROW LEVEL SECURITY and check the policies", data=dict(rls=after["rls"])))
    else:
        detail = "RLS still enabled on %d table(s)" % len([t for t in before["rls"] if t in after["rls"]])
        if gone:
            detail += "; no longer present: %s" % _brief(gone)
        checks.append(make_check("rls enabled", "ok", detail, data=dict(rls=after["rls"])))
    return checks


def table_list(conn, schemas):
    with conn.cursor() as cur:
        cur.execute("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)", (list(schemas),))
        return [row[0] for row in cur.fetchall()]


# -- log ------------------------------------------------------------------------------------------------------------

def log_path_for(log_dir, environment, moment=None):
    """``<log_dir>/<environment>_rollback_<UTC ts>.log``."""
    return os.path.join(log_dir or os.path.join(os.getcwd(), "artifacts", "data"),
                        "%s_rollback_%s.log" % (environment, utc_stamp(moment)))


def open_log(options, secrets):
    return ApplyLog(log_path_for(options.log_dir, options.environment), exclusive=True, secrets=secrets)


# -- strategies -----------------------------------------------------------------------------------------------------

def _pg_line(exc):
    diag = getattr(exc, "diag", None)
    text = getattr(diag, "message_primary", None) or (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    return "%s (SQLSTATE %s)" % (text, exc.pgcode) if getattr(exc, "pgcode", None) else text


def run_down_scripts(conn, steps, log, result):
    """Each step and the deletion of its history rows in one transaction, newest first; stop at the first failure."""
    for step in steps:
        name = os.path.basename(step["file"])
        log.write("running %s (%d statement(s)) to revert %s" % (name, len(step["statements"]), ", ".join(step["versions"])))
        conn.autocommit = False
        try:
            with conn.cursor() as cur:
                for index, statement in enumerate(step["statements"], 1):
                    try:
                        cur.execute(statement)
                    except psycopg2.Error as exc:
                        raise RollbackError("down script %s failed at statement %d of %d: %s; it was rolled back and "
                                            "%s stays applied" % (name, index, len(step["statements"]), _pg_line(exc),
                                                                  ", ".join(step["versions"])),
                                            failed_file=step["file"], failed_versions=step["versions"])
                for version in step["versions"]:
                    delete_history(cur, version)
            conn.commit()
        except BaseException:
            if not conn.closed:
                conn.rollback()
            raise
        result["reverted"].extend(step["versions"])
        log.write("reverted %s" % ", ".join(step["versions"]))


def run_staging_reset(conn, settings, options, objects, expected, log, result):
    """Drop the schemas' objects and the history rows in one transaction, then re-apply up to the target."""
    drops = restore_mod.drop_statements(objects)
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            for statement in drops:
                cur.execute(statement)
            for version in [row.version for row in read_history(cur)]:
                delete_history(cur, version)
        conn.commit()
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise
    result["dropped"] = ["%s %s.%s" % (o["kind"].lower(), o["schema"], o["name"]) for o in objects]
    log.write("dropped %d object(s) in %s and every history row" % (len(objects), ", ".join(options.schemas)))
    conn.autocommit = True
    if expected:
        applied = run_apply(settings, options.project_dir, ApplyOptions(
            engine="native", environment=options.environment, log_path=log.path, target_version=max(expected)))
        result["applied"] = applied["applied"]
    if options.seed_path:
        statements = read_script(options.seed_path, "seed file")[1]
        conn.autocommit = False
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
        conn.commit()
        log.write("loaded seed %s (%d statement(s))" % (options.seed_path, len(statements)))


def recovery_target_unix(value):
    from ansible_collections.hotdash.supabase.plugins.module_utils.backup import parse_timestamp
    target = int(parse_timestamp(value))
    if target > time.time():
        raise InvalidInput("recovery_time_target %s is in the future; give a moment before the apply" % value)
    return target


def run_pitr(options, log, result, api=None):
    """Start the point-in-time restore and poll until the project is ACTIVE_HEALTHY again."""
    from ansible_collections.hotdash.supabase.plugins.module_utils.management_api import ManagementApi
    target = recovery_target_unix(options.recovery_time_target)
    api = api or ManagementApi(options.access_token, base_url=options.api_url)
    log.write("requesting point-in-time restore of project %s to %d" % (options.project_ref, target))
    api.restore_pitr(options.project_ref, target)
    project = api.wait_for_status(options.project_ref, "ACTIVE_HEALTHY", timeout=options.wait_timeout,
                                  interval=options.poll_interval)
    result["pitr"] = dict(project_ref=options.project_ref, request=dict(recovery_time_target_unix=target),
                          statuses_seen=project.get("statuses_seen", []), requests_made=api.requests_made)
    seen = " -> ".join(project.get("statuses_seen", []))
    log.write("project %s is %s (seen: %s)" % (options.project_ref, project.get("status"), seen))


# -- orchestration --------------------------------------------------------------------------------------------------

def _record(settings, options, versions, succeeded, detail, secrets):
    conn = connect(settings, application_name="hotdash.supabase migration_rollback")
    try:
        writable_session(conn)
        conn.autocommit = False
        with conn.cursor() as cur:
            row_id = audit.record_rollback_exercise(
                cur, environment=options.environment, strategy=options.strategy, versions=sorted(versions),
                succeeded=succeeded, trigger=(options.trigger or {}).get("reason") if options.trigger else None,
                detail=redact(json.dumps(detail, sort_keys=True, default=str), secrets)[:4000],
                run_id=options.run_id, host=options.host)
        conn.commit()
        return row_id
    finally:
        conn.close()


def _plan(conn, options, result):
    """Work out the versions to revert, the expected history and the strategy's plan; nothing changes."""
    with conn.cursor() as cur:
        applied = [row.version for row in read_history(cur)]
    dump_counts = None
    if options.strategy == "logical_restore":
        counts, dump_versions = restore_mod.dump_contents(options.backup_path, options.schemas, options.pg_bin_dir,
                                                          options.timeout)
        dump_counts = dict((t, n) for t, n in counts.items() if t in options.count_tables)
        if options.versions or options.target_version:
            to_revert = versions_to_revert(applied, options.target_version, options.versions)
            inside = [v for v in to_revert if v in dump_versions]
            if inside:
                raise InvalidInput("backup %s was taken after %s was applied, so restoring it cannot roll that back; "
                                   "use the dump taken before the apply" % (options.backup_path, ", ".join(inside)))
        else:
            to_revert = sorted(set(applied) - set(dump_versions), reverse=True)
        expected = list(dump_versions)
        result["restore"] = dict(backup_path=options.backup_path, backup_history=dump_versions,
                                 backup_counts=dump_counts)
    elif options.strategy == "down_scripts" and options.rollback_script and not (options.versions or options.target_version):
        listed = parse_reverts_header(read_script(options.rollback_script, "rollback script")[0])
        to_revert = versions_to_revert(applied, versions=listed)
        expected = [v for v in applied if v not in to_revert]
    else:
        to_revert = versions_to_revert(applied, options.target_version, options.versions)
        expected = [v for v in applied if v not in to_revert]
    result.update(applied_before=applied, to_revert=to_revert, expected_history=sorted(expected))
    if not to_revert:
        return None
    plan = dict(dump_counts=dump_counts, expected=expected)
    if options.strategy == "down_scripts":
        plan["steps"] = plan_down_scripts(options.project_dir, to_revert, options.rollback_script,
                                          rollback_dir=options.rollback_dir)
        result["plan"] = [dict(versions=s["versions"], file=s["file"], statements=len(s["statements"]))
                          for s in plan["steps"]]
        result["queries"] = [q for s in plan["steps"] for q in s["statements"]]
    elif options.strategy in ("logical_restore", "staging_reset"):
        with conn.cursor() as cur:
            plan["objects"] = restore_mod.schema_objects(cur, options.schemas)
            result["queries"] = [s.as_string(cur) for s in restore_mod.drop_statements(plan["objects"])]
        result["plan"] = [dict(drop=restore_mod.describe_objects(plan["objects"]))]
        if options.strategy == "staging_reset":
            result["plan"].append(dict(reapply_to=max(expected) if expected else None, seed=options.seed_path))
        else:
            result["plan"].append(dict(restore=options.backup_path))
    else:
        target = recovery_target_unix(options.recovery_time_target)
        result["plan"] = [dict(pitr=options.project_ref, recovery_time_target_unix=target)]
        result["queries"] = []
    return plan


def run_rollback(settings, options, check_mode=False, api=None):
    """Plan, run the strategy, verify, log and record; returns the module result or raises SupabaseError."""
    secrets = settings.secrets() + ([options.access_token] if options.access_token else [])
    result = dict(changed=False, strategy=options.strategy, environment=options.environment, reverted=[],
                  queries=[], plan=[], checks=[], succeeded=True, log_path=None, exercise_id=None,
                  trigger=options.trigger)
    conn = connect(settings, application_name="hotdash.supabase migration_rollback", autocommit=True)
    log = NullLog()
    try:
        writable_session(conn)
        plan = _plan(conn, options, result)
        if plan is None:
            result["summary"] = "nothing to roll back: no applied version matches (%s)" % (
                "versions %s" % ", ".join(options.versions) if options.versions else
                "newer than %s" % options.target_version if options.target_version else "backup history")
            return result
        result["changed"] = True
        if check_mode:
            result["summary"] = "would roll back %s with %s" % (", ".join(result["to_revert"]), options.strategy)
            return result
        log = open_log(options, secrets)
        result["log_path"] = log.path
        log.write("rollback strategy=%s environment=%s database=%s versions=%s"
                  % (options.strategy, options.environment, settings.describe(), ", ".join(result["to_revert"])))
        if options.trigger:
            log.write("triggered automatically: %s" % json.dumps(options.trigger, sort_keys=True, default=str))
        before = take_snapshot(conn, options.count_tables, options.schemas)
        newest = before["history"][-1] if before["history"] else "none"
        log.write("before: history newest %s; counts %s" % (newest, json.dumps(before["counts"], sort_keys=True)))
        try:
            _execute(conn, settings, options, plan, log, result, api)
        except (SupabaseError, psycopg2.Error) as exc:
            message = str(exc) if isinstance(exc, SupabaseError) else "database error during rollback: %s" % _pg_line(exc)
            log.write("FAILED: %s" % message)
            extra = dict(getattr(exc, "result", {}))
            if options.record_exercise:
                extra["exercise_id"] = _safe_record(settings, options, result["to_revert"], dict(error=message),
                                                    secrets, log)
            extra.update(reverted=result["reverted"], log_path=log.path, changed=True, succeeded=False)
            raise RollbackError(redact(message, secrets), **extra)
        if options.strategy != "down_scripts":
            result["reverted"] = list(result["to_revert"])
        conn.close()
        conn = connect(settings, application_name="hotdash.supabase migration_rollback", autocommit=True)
        writable_session(conn)
        after = take_snapshot(conn, options.count_tables, options.schemas)
        after["tables"] = table_list(conn, options.schemas)
        result["checks"] = verification_checks(options.strategy, before, after, plan["expected"], plan["dump_counts"])
        failed = [c for c in result["checks"] if c["status"] == "fail"]
        result["succeeded"] = not failed
        for check in result["checks"]:
            log.write("verify %s: %s %s" % (check["name"], check["status"], check["detail"]))
        result["summary"] = "rolled back %s with %s; verification %s" % (
            ", ".join(result["reverted"]), options.strategy,
            "passed" if not failed else "FAILED (%s)" % ", ".join(c["name"] for c in failed))
        if options.record_exercise:
            result["exercise_id"] = _record(settings, options, result["reverted"], result["succeeded"], dict(
                summary=result["summary"], trigger=options.trigger, log=log.path), secrets)
            log.write("recorded rollback exercise %s in hotdash_audit.rollback_exercises" % result["exercise_id"])
        log.write(result["summary"])
        if failed and options.fail_on_verify:
            raise CheckFailed("rollback verification failed: %s" % "; ".join(
                "%s: %s" % (c["name"], c["detail"]) for c in failed), **result)
        return result
    finally:
        if not conn.closed:
            conn.close()
        log.close()


def _safe_record(settings, options, versions, detail, secrets, log):
    try:
        row_id = _record(settings, options, versions, False, detail, secrets)
        log.write("recorded failed rollback exercise %s" % row_id)
        return row_id
    except SupabaseError as exc:  # the database may be unreachable after a failed restore
        log.write("could not record the failed exercise: %s" % exc)
        return None


def _execute(conn, settings, options, plan, log, result, api):
    if options.strategy == "down_scripts":
        run_down_scripts(conn, plan["steps"], log, result)
    elif options.strategy == "staging_reset":
        run_staging_reset(conn, settings, options, plan["objects"], plan["expected"], log, result)
    elif options.strategy == "logical_restore":
        with conn.cursor() as cur:
            drops = [s.as_string(cur) for s in restore_mod.drop_statements(plan["objects"])]
        restore_mod.restore_dump(settings, options.backup_path, options.schemas, drops, log=log,
                                 bin_dir=options.pg_bin_dir, timeout=options.timeout)
    else:
        run_pitr(options, log, result, api=api)
