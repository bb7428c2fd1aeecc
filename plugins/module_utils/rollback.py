# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Roll migrations back, prove it worked, and record that it was exercised.

Strategies (runbook "Rollback Procedures"), one row each of the table STRATEGY:

* ``down_scripts``: for each version to revert, newest first, run
  ``supabase/rollbacks/<version>_<name>.down.sql`` and delete its history row in one transaction, so
  ``supabase migration list`` shows it as not applied. Or run the runbook's single script
  ``scripts/rollback_migrations_<date>.sql`` (option ``rollback_script``) in one transaction with the
  history rows of the versions it names in its header: ``-- reverts: 20251019090000, 20251015090000``
  (one or more such lines; versions separated by commas or blanks).
* ``logical_restore``: restore the preflight's ``pg_dump -Fc`` file (``restore.py``) and check the
  row counts and the history against what the dump holds.
* ``supabase_pitr``: the Management API's point-in-time restore to ``recovery_margin`` seconds before the
  moment the apply started, then polled until the restore has begun and the project is ``ACTIVE_HEALTHY``
  again (a queued restore still reports ``ACTIVE_HEALTHY``).
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

import copy
import datetime
import json
import os
import re
import time

try:
    import psycopg2
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils import restore as restore_mod
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, run_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact, server_clock, transaction
from ansible_collections.hotdash.supabase.plugins.module_utils.down_scripts import (
    RollbackError,
    parse_reverts_header,
    plan_down_scripts,
    read_script,
    run_down_scripts,
    versions_to_revert,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import validate_environment
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import delete_history, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.management_api import ManagementApi
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.plan_digest import statements_checksum, step
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import NullLog, ProgressLog, rollback_log_path
from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import writable_session
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import PLAIN_NAME, qualified
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, module_result, validate_waivers
from ansible_collections.hotdash.supabase.plugins.module_utils.rollback_verify import (
    table_list,
    take_snapshot,
    verification_checks,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import UTC, iso, parse_unix

RESET_ENVIRONMENTS = ("staging", "local")
# The tables the runbook's smoke tests and "verify no data loss" read.
DEFAULT_COUNT_TABLES = ("public.product_categories", "public.customer_segments", "public.agents",
                        "public.agent_approvals", "public.facts")
DEFAULT_SCHEMAS = ("public",)
_VERSION_RE = re.compile(r"^[0-9]+$")


# -- the strategies -------------------------------------------------------------------------------------------------
#
# Each strategy is one row of STRATEGY: how it validates its options, which versions it reverts (and which
# history must remain), what it plans (nothing changes), and how it runs. The orchestration below is the
# same for all of them.

class Strategy(object):
    """A rollback strategy; the defaults are those of the strategies that revert named versions."""

    name = None
    # down_scripts reports what it reverted step by step; the others revert everything planned at once.
    reverts_stepwise = False

    def validate(self, options):
        """Raise InvalidInput for options this strategy cannot work with."""

    def needs_target(self, options):
        """Whether the caller must say what to revert (target_version or versions)."""
        return True

    def revert_set(self, conn, options, applied, result):
        """``(to_revert newest first, expected history, dump_counts)`` from the applied versions."""
        to_revert = versions_to_revert(applied, options.target_version, options.versions)
        return to_revert, [v for v in applied if v not in to_revert], None

    def plan(self, conn, options, expected, result):
        """The strategy's plan (a dict), with ``result["plan"]`` and ``result["queries"]`` filled in."""
        raise NotImplementedError

    def run(self, conn, settings, options, plan, log, result, api):
        raise NotImplementedError


def _plan_drop(conn, options, result):
    """What the application schemas hold now, and the statements that drop it (restore and reset)."""
    with conn.cursor() as cur:
        objects = restore_mod.schema_objects(cur, options.schemas)
        result["queries"] = [s.as_string(cur) for s in restore_mod.drop_statements(objects)]
    result["plan"] = [dict(drop=restore_mod.describe_objects(objects))]
    return objects


class DownScripts(Strategy):
    name = "down_scripts"
    reverts_stepwise = True

    def validate(self, options):
        if not options.project_dir:
            raise InvalidInput("down_scripts needs project_dir (the directory holding supabase/migrations)")
        if options.rollback_script and not os.path.isfile(options.rollback_script):
            raise InvalidInput("rollback_script %s not found" % options.rollback_script)

    def needs_target(self, options):
        return not options.rollback_script  # the script's header names the versions

    def revert_set(self, conn, options, applied, result):
        if options.rollback_script and not (options.versions or options.target_version):
            listed = parse_reverts_header(read_script(options.rollback_script, "rollback script")[0])
            to_revert = versions_to_revert(applied, versions=listed)
            return to_revert, [v for v in applied if v not in to_revert], None
        return Strategy.revert_set(self, conn, options, applied, result)

    def plan(self, conn, options, expected, result):
        steps = plan_down_scripts(options.project_dir, result["to_revert"], options.rollback_script,
                                  rollback_dir=options.rollback_dir)
        result["plan"] = [dict(versions=s["versions"], file=s["file"], statements=len(s["statements"]))
                          for s in steps]
        result["queries"] = [q for s in steps for q in s["statements"]]
        return dict(steps=steps)

    def run(self, conn, settings, options, plan, log, result, api):
        run_down_scripts(conn, plan["steps"], log, result)


class LogicalRestore(Strategy):
    name = "logical_restore"

    def validate(self, options):
        restore_mod.check_dump(options.backup_path)

    def needs_target(self, options):
        return False  # the dump's history says what remains

    def revert_set(self, conn, options, applied, result):
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
        result["restore"] = dict(backup_path=options.backup_path, backup_history=dump_versions,
                                 backup_counts=dump_counts)
        return to_revert, list(dump_versions), dump_counts

    def plan(self, conn, options, expected, result):
        objects = _plan_drop(conn, options, result)
        result["plan"].append(dict(restore=options.backup_path))
        return dict(objects=objects)

    def run(self, conn, settings, options, plan, log, result, api):
        with conn.cursor() as cur:
            drops = [s.as_string(cur) for s in restore_mod.drop_statements(plan["objects"])]
        restore_mod.restore_dump(settings, options.backup_path, options.schemas, drops, log=log,
                                 bin_dir=options.pg_bin_dir, timeout=options.timeout)


class SupabasePitr(Strategy):
    name = "supabase_pitr"

    def validate(self, options):
        if not options.project_ref:
            raise InvalidInput("supabase_pitr needs project_ref (the <ref> of https://<ref>.supabase.co)")
        if not options.access_token:
            raise InvalidInput("supabase_pitr needs access_token (or env SUPABASE_ACCESS_TOKEN)")
        if not options.recovery_time_target:
            raise InvalidInput("supabase_pitr needs recovery_time_target: a moment before the apply "
                               "(ISO 8601 UTC or Unix seconds)")

    def plan(self, conn, options, expected, result):
        target = recovery_target_unix(options.recovery_time_target, options.recovery_margin)
        result["plan"] = [dict(pitr=options.project_ref, recovery_time_target_unix=target,
                               recovery_margin=options.recovery_margin)]
        result["queries"] = []
        return {}

    def run(self, conn, settings, options, plan, log, result, api):
        run_pitr(conn, settings, options, log, result, api=api)


class StagingReset(Strategy):
    name = "staging_reset"

    def validate(self, options):
        if options.environment not in RESET_ENVIRONMENTS:
            raise InvalidInput("refusing staging_reset in environment %s: it drops and re-creates the schema, which "
                               "is allowed only in %s; use down_scripts, logical_restore or supabase_pitr"
                               % (options.environment, " or ".join(RESET_ENVIRONMENTS)))
        if not options.project_dir:
            raise InvalidInput("staging_reset needs project_dir (the directory holding supabase/migrations)")

    def plan(self, conn, options, expected, result):
        objects = _plan_drop(conn, options, result)
        result["plan"].append(dict(reapply_to=max(expected) if expected else None, seed=options.seed_path))
        return dict(objects=objects)

    def run(self, conn, settings, options, plan, log, result, api):
        run_staging_reset(conn, settings, options, plan["objects"], plan["expected"], log, result)


STRATEGY = dict((strategy.name, strategy) for strategy in (DownScripts(), LogicalRestore(), SupabasePitr(),
                                                           StagingReset()))
STRATEGIES = tuple(STRATEGY)


# -- options ------------------------------------------------------------------------------------------------------

class RollbackOptions(object):
    """What to roll back and how; defaults are the module's defaults."""

    def __init__(self, strategy, environment="local", project_dir=None, target_version=None, versions=None,
                 rollback_script=None, rollback_dir=None, backup_path=None, schemas=DEFAULT_SCHEMAS,
                 count_tables=DEFAULT_COUNT_TABLES, seed_path=None, project_ref=None, access_token=None,
                 api_url="https://api.supabase.com", recovery_time_target=None, recovery_margin=60, wait_timeout=1800,
                 begin_timeout=300, poll_interval=15, log_dir=None, trigger=None, run_id=None, host=None, record_exercise=True, fail_on_failed=True,
                 waivers=None, pg_bin_dir=None, timeout=3600):
        if strategy not in STRATEGY:
            raise InvalidInput("strategy must be one of %s, not %r" % (", ".join(STRATEGIES), strategy))
        validate_environment(environment)
        if target_version not in (None, "") and not _VERSION_RE.match(str(target_version)):
            raise InvalidInput("target_version must be a migration version (digits only), not %r" % (target_version,))
        bad = [v for v in (versions or []) if not _VERSION_RE.match(str(v))]
        if bad:
            raise InvalidInput("versions must be migration versions (digits only); not: %s" % ", ".join(map(str, bad)))
        for name in list(schemas or []):
            if not PLAIN_NAME.match(name):
                raise InvalidInput("schema %r is not a plain schema name" % (name,))
        if not schemas:
            raise InvalidInput("schemas must name at least one application schema (default: public)")
        self.strategy = strategy
        self.environment = environment
        self.project_dir = project_dir
        self.target_version = str(target_version) if target_version not in (None, "") else None
        self.versions = [str(v) for v in (versions or [])]
        self.rollback_script = rollback_script
        self.rollback_dir = rollback_dir or None
        self.backup_path = backup_path
        self.schemas = list(schemas)
        self.count_tables = [qualified(t, what="count table") for t in (count_tables or [])]
        self.seed_path = seed_path
        self.project_ref = project_ref
        self.access_token = access_token
        self.api_url = api_url
        self.recovery_time_target = recovery_time_target
        self.recovery_margin = _seconds(recovery_margin, "recovery_margin")
        self.wait_timeout = _seconds(wait_timeout, "wait_timeout")
        self.begin_timeout = _seconds(begin_timeout, "begin_timeout")
        self.poll_interval = _seconds(poll_interval, "poll_interval")
        self.log_dir = log_dir
        self.trigger = trigger or None
        self.run_id = run_id
        self.host = host
        self.record_exercise = record_exercise
        self.fail_on_failed = fail_on_failed
        self.waivers = validate_waivers(waivers)
        self.pg_bin_dir = pg_bin_dir
        self.timeout = timeout
        self.guard = None  # policy_guard.Guard, asked once the plan is known and before anything changes
        self.handler = STRATEGY[strategy]
        self.handler.validate(self)
        if seed_path and not os.path.isfile(seed_path):
            raise InvalidInput("seed_path %s not found" % seed_path)
        if self.handler.needs_target(self) and self.target_version is None and not self.versions:
            raise InvalidInput("say what to roll back: target_version (revert every applied version newer than it) "
                               "or versions (e.g. the versions the apply just applied)")


def _seconds(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s must be a number of seconds, not %r" % (name, value))
    if value < 0:
        raise InvalidInput("%s must be 0 or more seconds, not %s" % (name, value))
    return value


# -- strategy steps -------------------------------------------------------------------------------------------------

def run_staging_reset(conn, settings, options, objects, expected, log, result):
    """Drop the schemas' objects and the history rows in one transaction, then re-apply up to the target."""
    drops = restore_mod.drop_statements(objects)
    with transaction(conn) as cur:
        for statement in drops:
            cur.execute(statement)
        for version in [row.version for row in read_history(cur)]:
            delete_history(cur, version)
    result["dropped"] = ["%s %s.%s" % (o["kind"].lower(), o["schema"], o["name"]) for o in objects]
    log.write("dropped %d object(s) in %s and every history row" % (len(objects), ", ".join(options.schemas)))
    conn.autocommit = True
    if expected:
        applied = run_apply(settings, options.project_dir, ApplyOptions(
            engine="native", environment=options.environment, log_path=log.path, target_version=max(expected)))
        result["applied"] = applied["applied"]
    if options.seed_path:
        statements = read_script(options.seed_path, "seed file")[1]
        with transaction(conn) as cur:
            for statement in statements:
                cur.execute(statement)
        log.write("loaded seed %s (%d statement(s))" % (options.seed_path, len(statements)))


def recovery_target_unix(value, margin=0):
    """The Unix second to restore to: ``value`` (the moment the apply started) minus ``margin`` seconds."""
    target = int(parse_unix(value, name="recovery_time_target") - float(margin or 0))
    if target > time.time():
        raise InvalidInput("recovery_time_target %s is in the future; give the moment the apply started" % value)
    return target


def restarted_since(settings, moment):
    """A check for the PITR wait: has the database server started after ``moment`` (the server's own clock)?

    A restore replaces the server, so a start after the request proves it ran even when both of its statuses
    fell between two polls. While the database is down the answer is no.
    """
    probe = copy.copy(settings)
    probe.connect_timeout = min(probe.connect_timeout or 5, 5)

    def check():
        try:
            conn = connect(probe, application_name="hotdash.supabase migration_rollback", autocommit=True)
        except SupabaseError:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_postmaster_start_time() > %s::timestamptz", (moment,))
                return bool(cur.fetchone()[0])
        except psycopg2.Error:
            return False
        finally:
            conn.close()
    return check


def run_pitr(conn, settings, options, log, result, api=None):
    """Ask for the point-in-time restore, wait for it to begin and then to finish."""
    target = recovery_target_unix(options.recovery_time_target, options.recovery_margin)
    api = api or ManagementApi(options.access_token, base_url=options.api_url)
    with conn.cursor() as cur:
        requested = server_clock(cur)
    log.write("requesting point-in-time restore of project %s to %d (%s, %ss before %s)"
              % (options.project_ref, target, iso(datetime.datetime.fromtimestamp(target, UTC)), options.recovery_margin,
                 options.recovery_time_target))
    api.restore_pitr(options.project_ref, target)
    result["pitr"] = dict(project_ref=options.project_ref, request=dict(recovery_time_target_unix=target),
                          recovery_time_target=options.recovery_time_target, recovery_margin=options.recovery_margin,
                          requested_at=requested)
    project = api.wait_for_restore(options.project_ref, timeout=options.wait_timeout, begin_timeout=options.begin_timeout,
                                   interval=options.poll_interval, began=restarted_since(settings, requested))
    result["pitr"].update(statuses_seen=project["statuses_seen"], began_after=project["began_after"],
                          finished_after=project["finished_after"], requests_made=api.requests_made)
    log.write("restore of project %s began after %ss and finished after %ss (seen: %s)"
              % (options.project_ref, project["began_after"], project["finished_after"],
                 " -> ".join(project["statuses_seen"])))


# -- orchestration --------------------------------------------------------------------------------------------------

def open_log(options, secrets):
    return ProgressLog(rollback_log_path(options.log_dir, options.environment), exclusive=True, secrets=secrets)


def _record(settings, options, versions, succeeded, detail, secrets):
    conn = connect(settings, application_name="hotdash.supabase migration_rollback")
    try:
        writable_session(conn)
        with transaction(conn) as cur:
            return audit.record_rollback_exercise(
                cur, environment=options.environment, strategy=options.strategy, versions=sorted(versions),
                succeeded=succeeded, trigger=(options.trigger or {}).get("reason") if options.trigger else None,
                detail=redact(json.dumps(detail, sort_keys=True, default=str), secrets)[:4000],
                run_id=options.run_id, host=options.host)
    finally:
        conn.close()


def _plan(conn, options, result):
    """Work out the versions to revert, the expected history and the strategy's plan; nothing changes."""
    with conn.cursor() as cur:
        rows = read_history(cur)
    applied = [row.version for row in rows]
    to_revert, expected, dump_counts = options.handler.revert_set(conn, options, applied, result)
    result.update(applied_before=applied, to_revert=to_revert, expected_history=sorted(expected))
    if not to_revert:
        return None
    plan = options.handler.plan(conn, options, expected, result)
    statements = dict((row.version, list(row.statements or [])) for row in rows)
    plan.update(dump_counts=dump_counts, expected=expected,
                digest_steps=[step(v, statements_checksum(statements.get(v, []))) for v in to_revert])
    return plan


def _ask_guard(options, plan, result, check_mode):
    """The database's policy on this rollback: the versions it undoes, and what it runs to undo them."""
    if options.guard is not None:
        result["policy_check"] = options.guard(
            plan["digest_steps"], check_mode,
            extra={"strategy": options.strategy, "plan": result["plan"],
                   "queries": statements_checksum(result["queries"])})


def run_rollback(settings, options, check_mode=False, api=None):
    """Plan, run the strategy, verify, log and record; returns the module result or raises SupabaseError."""
    secrets = settings.secrets() + ([options.access_token] if options.access_token else [])
    result = dict(changed=False, strategy=options.strategy, environment=options.environment, reverted=[],
                  queries=[], plan=[], checks=[], passed=True, counts={}, succeeded=True, log_path=None, exercise_id=None,
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
            # Nothing to roll back is the same answer with or without check mode: the check is ``rollback``.
            return _with_summary_check(result, options, False)
        result["changed"] = True
        _ask_guard(options, plan, result, check_mode)
        if check_mode:
            result["summary"] = "would roll back %s with %s" % (", ".join(result["to_revert"]), options.strategy)
            return _with_summary_check(result, options, check_mode)
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
            options.handler.run(conn, settings, options, plan, log, result, api)
        except (SupabaseError, psycopg2.Error) as exc:
            message = str(exc) if isinstance(exc, SupabaseError) else "database error during rollback: %s" % error_line(exc)
            log.write("FAILED: %s" % message)
            extra = dict(getattr(exc, "result", {}))
            if options.record_exercise:
                extra["exercise_id"] = _safe_record(settings, options, result["to_revert"], dict(error=message),
                                                    secrets, log)
            extra.update(reverted=result["reverted"], log_path=log.path, changed=True, succeeded=False)
            raise RollbackError(redact(message, secrets), **extra)
        if not options.handler.reverts_stepwise:
            result["reverted"] = list(result["to_revert"])
        conn.close()
        conn = connect(settings, application_name="hotdash.supabase migration_rollback", autocommit=True)
        writable_session(conn)
        after = take_snapshot(conn, options.count_tables, options.schemas)
        after["tables"] = table_list(conn, options.schemas)
        result["checks"] = verification_checks(options.strategy, before, after, plan["expected"], plan["dump_counts"])
        _with_summary_check(result, options, check_mode)
        failed = [c for c in result["checks"] if c["status"] == "fail"]
        result["succeeded"] = not failed
        for check in result["checks"][1:]:
            log.write("verify %s: %s %s" % (check["name"], check["status"], check["detail"]))
        result["summary"] = "rolled back %s with %s; verification %s" % (
            ", ".join(result["reverted"]), options.strategy,
            "passed" if not failed else "FAILED (%s)" % ", ".join(c["name"] for c in failed))
        if options.record_exercise:
            result["exercise_id"] = _record(settings, options, result["reverted"], result["succeeded"], dict(
                summary=result["summary"], trigger=options.trigger, log=log.path), secrets)
            log.write("recorded rollback exercise %s in hotdash_audit.rollback_exercises" % result["exercise_id"])
        log.write(result["summary"])
        result["checks"][0]["detail"] = result["summary"]
        if failed and options.fail_on_failed:
            raise CheckFailed("rollback verification failed: %s" % "; ".join(
                "%s: %s" % (c["name"], c["detail"]) for c in failed), **result)
        return result
    finally:
        if not conn.closed:
            conn.close()
        log.close()


def rollback_check_name(check_mode):
    return "rollback (check mode)" if check_mode else "rollback"


def _with_summary_check(result, options, check_mode):
    """Put the ``rollback`` check (what was, or would be, rolled back) before the verification checks, waivers
    applied to all of them; returns ``result``."""
    checks = [make_check(rollback_check_name(check_mode), "ok", result.get("summary") or "",
                         data={"strategy": options.strategy, "reverted": list(result["reverted"])})]
    verdict = module_result(checks + list(result["checks"]), waivers=options.waivers)
    result.update(checks=verdict["checks"], passed=verdict["passed"], counts=verdict["counts"])
    return result


def error_checks(message, status, result):
    """A rollback that stopped (while planning or running), as its report check ``rollback``: the error and where
    its log is."""
    log = result.get("log_path")
    return [make_check("rollback", status, message,
                       "read the log %s" % log if log else "fix what the message names and run again",
                       data={"reverted": list(result.get("reverted") or [])})]


def _safe_record(settings, options, versions, detail, secrets, log):
    try:
        row_id = _record(settings, options, versions, False, detail, secrets)
        log.write("recorded failed rollback exercise %s" % row_id)
        return row_id
    except SupabaseError as exc:  # the database may be unreachable after a failed restore
        log.write("could not record the failed exercise: %s" % exc)
        return None
