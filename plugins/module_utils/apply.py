# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply pending migrations: plan, take the apply lock, run an engine, report what committed.

The order of work, for both engines:

1. Plan without touching the database's schema: load the local directory, read the history, classify
   drift; refuse duplicates, remote-only versions (unless allowed) and out-of-order files (unless
   ``include_all``); stop at ``target_version``; read and split every pending file and find the
   statements that cannot run inside a transaction (``non_transactional.py``), so a bad file is refused before
   anything runs.
2. Refuse Supabase's transaction-mode pooler (port 6543): it cannot hold a session advisory lock.
3. Take a session advisory lock (bounded wait, ``apply_lock.py``) so two runners never apply to the same
   database at once.
4. Native (``apply_native.py``): each migration and its history row in one transaction; on a live database it
   never queues behind a long transaction (``lock_conflicts.py``: a short ``lock_timeout`` per attempt, no
   attempt while an old transaction is in the way, jittered backoff within ``lock_retry_budget``, the blocker
   named when it is spent). Stop at the first failure; what committed stays. CLI (``apply_cli.py``): run
   ``supabase db push`` and read back what it recorded.
5. Between migrations, stop when the run is gone (``controller_watch.py``: SIGTERM/SIGHUP/SIGINT, or the
   Ansible processes above the module dead), and say so in the log.
6. After any failure, re-read the history on a fresh connection and report exactly what committed, the file
   that failed, whether it is partial, and the cause in words (``apply_outcome.py``).
7. Every step is appended to a log file as it happens (``progress_log.py``; ``tail -f`` works).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import psycopg2
except ImportError:  # pragma: no cover - modules report missing_required_lib
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_cli import apply_with_cli
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import acquire_apply_lock, refuse_transaction_pooler, release_apply_lock
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_native import apply_native
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_outcome import (
    APPLICATION_NAME,
    committed,
    connection_lost,
    failure_cause,
    reread_history,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import MINIMUM_CLI_VERSION, SupabaseCli
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, server_clock
from ansible_collections.hotdash.supabase.plugins.module_utils.controller_watch import ControllerWatch
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import read_state
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import validate_environment
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import (
    ApplyError,
    ConnectionFailed,
    DriftError,
    InvalidInput,
    LogUnwritable,
    PolicyRefused,
    SupabaseError,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.history import read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.lock_conflicts import LockPolicy
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.non_transactional import describe_findings, find_non_transactional, segments_for
from ansible_collections.hotdash.supabase.plugins.module_utils.plan_digest import statements_checksum, step
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import NullLog, ProgressLog, apply_log_path
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check

ENGINES = ("native", "cli")
NON_TRANSACTIONAL_MODES = ("refuse", "isolate")
# How long the report after a failure waits for a restarting server before it says it could not re-read.
REREAD_WAIT = 30.0


class ApplyOptions(object):
    """Everything that shapes an apply; defaults are the module's defaults."""

    def __init__(self, engine="native", environment="local", log_path=None, include_all=False,
                 allow_remote_only=False, target_version=None, lock_timeout=0.2, lock_retries=None,
                 lock_retry_backoff=0.25, lock_retry_budget=60.0, blocker_transaction_age=0.5, statement_timeout=0,
                 apply_lock_wait=30.0, non_transactional="refuse", cli_path=None,
                 minimum_cli_version=MINIMUM_CLI_VERSION, cli_timeout=3600, base_dir=None):
        if engine not in ENGINES:
            raise InvalidInput("engine must be one of %s, not %r" % (", ".join(ENGINES), engine))
        if non_transactional not in NON_TRANSACTIONAL_MODES:
            raise InvalidInput("non_transactional must be one of %s, not %r"
                               % (", ".join(NON_TRANSACTIONAL_MODES), non_transactional))
        for name, value in (("lock_timeout", lock_timeout), ("lock_retries", 0 if lock_retries is None else lock_retries),
                            ("lock_retry_backoff", lock_retry_backoff), ("lock_retry_budget", lock_retry_budget),
                            ("blocker_transaction_age", blocker_transaction_age),
                            ("statement_timeout", statement_timeout), ("apply_lock_wait", apply_lock_wait)):
            if value is None or value < 0:
                raise InvalidInput("%s must be zero or positive, not %r" % (name, value))
        if target_version is not None and not re.match(r"^[0-9]+$", str(target_version)):
            raise InvalidInput("target_version must be a migration version (digits only), not %r" % (target_version,))
        validate_environment(environment)
        self.engine = engine
        self.environment = environment
        self.log_path = log_path
        self.include_all = include_all
        self.allow_remote_only = allow_remote_only
        self.target_version = str(target_version) if target_version is not None else None
        self.lock_timeout = float(lock_timeout)
        self.lock_retries = None if lock_retries is None else int(lock_retries)
        self.lock_retry_backoff = float(lock_retry_backoff)
        self.lock_retry_budget = float(lock_retry_budget)
        self.blocker_transaction_age = float(blocker_transaction_age)
        self.statement_timeout = float(statement_timeout)
        self.apply_lock_wait = float(apply_lock_wait)
        self.non_transactional = non_transactional
        self.cli_path = cli_path
        self.minimum_cli_version = minimum_cli_version
        self.cli_timeout = cli_timeout
        self.base_dir = base_dir

    def lock_policy(self):
        """How each migration gets its locks on a live database (lock_conflicts.LockPolicy)."""
        return LockPolicy(lock_timeout=self.lock_timeout, budget=self.lock_retry_budget,
                          blocker_age=self.blocker_transaction_age, base_delay=self.lock_retry_backoff,
                          max_attempts=None if self.lock_retries is None else self.lock_retries + 1)


class PlannedMigration(object):
    """One pending migration: its statements, what cannot run in a transaction, and its units of work."""

    def __init__(self, migration, statements, findings, segments):
        self.migration = migration
        self.version = migration.version
        self.name = migration.name
        self.filename = migration.filename
        self.statements = statements
        self.findings = findings
        self.segments = segments

    @property
    def transactional(self):
        return not self.findings

    def as_dict(self):
        return dict(version=self.version, name=self.name, file=self.filename, statements=len(self.statements),
                    transactional=self.transactional,
                    non_transactional=[dict(f) for f in self.findings])


def plan_apply(local, report, options):
    """What would apply, in order, or a one-line refusal (DriftError/InvalidInput) before anything runs.

    ``local`` is a migrations.LocalDirectory, ``report`` the drift.DriftReport of it against the history.
    """
    duplicate = local.duplicate_message(row.version for row in report.remote) if local.duplicates else None
    if duplicate:
        raise DriftError("refusing to apply: %s" % duplicate, duplicates=dict(local.duplicates))
    if report.remote_only and not options.allow_remote_only:
        versions = [row.version for row in report.remote_only]
        raise DriftError(
            "refusing to apply: %d version(s) in the remote history have no local file (%s); fetch them "
            "(migration_repair state=fetch), mark them reverted (migration_repair state=reverted), or set "
            "allow_remote_only=true" % (len(versions), brief(versions, 3)), remote_only=versions)
    pending = list(report.pending)
    out_of_order = [m.version for m in pending if m.version in set(report.out_of_order)]
    if out_of_order and not options.include_all:
        raise DriftError(
            "refusing to apply: %d pending migration(s) are older than the newest applied version (%s); "
            "review them and set include_all=true to apply them, as supabase db push --include-all does"
            % (len(out_of_order), brief(out_of_order, 3)), out_of_order=out_of_order)
    if options.target_version is not None:
        order = [m.version for m in local.migrations]
        if options.target_version not in order:
            raise InvalidInput("target_version %s is not the version of a local migration file"
                               % options.target_version)
        limit = order.index(options.target_version)
        pending = [m for m in pending if order.index(m.version) <= limit]
    planned = []
    for migration in pending:
        statements = migration.statements()
        findings = find_non_transactional(statements)
        planned.append(PlannedMigration(migration, statements, findings, segments_for(statements, findings)))
    blocked = [p for p in planned if p.findings]
    if blocked and (options.non_transactional == "refuse" or options.engine == "cli"):
        first = blocked[0]
        advice = ("use engine=native with non_transactional=isolate to run these statements on their own"
                  if options.engine == "cli" else
                  "set non_transactional=isolate to run them outside the migration's transaction, or split the file")
        raise InvalidInput("refusing to apply: %s cannot run in one transaction (%s)%s; %s"
                           % (first.filename, describe_findings(first.findings),
                              " (and %d more file(s))" % (len(blocked) - 1) if len(blocked) > 1 else "", advice),
                           non_transactional=[p.as_dict() for p in blocked])
    return planned


def open_log(options, secrets):
    """The run's log: ``log_path`` appended to, or a new file under ``artifacts/data`` (never shared by two hosts)."""
    if options.log_path:
        return ProgressLog(options.log_path, exclusive=False, secrets=secrets)
    return ProgressLog(apply_log_path(options.environment, options.base_dir), exclusive=True, secrets=secrets)


def _history_rows(conn):
    conn.autocommit = True
    with conn.cursor() as cur:
        return read_history(cur)


def _log_quietly(log, message):
    """Write to the log unless it is the log that failed (the failure is reported anyway)."""
    try:
        log.write(message)
    except LogUnwritable:
        pass


class _Progress(object):
    """What the apply knew when it started applying: the basis of the report after a failure."""

    def __init__(self):
        self.before = None          # versions in the history under the apply lock
        self.planned = []
        self.server_started = None  # pg_postmaster_start_time(): a later one means the server restarted


def _ask_guard(guard, planned, check_mode, result):
    """The database's policy on this plan (policy_guard.Guard): its decision goes into the result; raises when refused."""
    if guard is not None and planned:
        result["policy_check"] = guard([step(p.version, statements_checksum(p.statements)) for p in planned],
                                       check_mode, migrations=[p.migration for p in planned])


def _apply(conn, cli, settings, local, options, log, result, watch, progress, guard=None):
    log.write("migration_apply engine=%s environment=%s database=%s: %d pending migration(s)"
              % (options.engine, options.environment, settings.describe(), len(progress.planned)))
    acquire_apply_lock(conn, options.apply_lock_wait, log, stop=watch.stop_reason)
    with conn.cursor() as cur:
        # Before the first change, on the server's clock: the moment a point-in-time rollback restores to.
        result["started_at"] = server_clock(cur)
    log.write("apply lock acquired; started at %s (database clock)" % result["started_at"])
    # Re-read under the lock: another runner may have applied while we waited.
    rows, report = read_state(conn, local)[1:]
    progress.before = set(row.version for row in rows)
    progress.planned = planned = plan_apply(local, report, options)
    result.update(plan=[p.as_dict() for p in planned], queries=[s for p in planned for s in p.statements])
    # The final plan, under the lock, before the first statement: the database's policy decides on exactly it.
    _ask_guard(guard, planned, False, result)
    release = result.get("policy_check", {}).get("release")
    if release:
        log.write("release run %s recorded; approval %s" % (release["id"], result["policy_check"]["approval_id"]))
    with conn.cursor() as cur:
        cur.execute("SELECT pg_postmaster_start_time()")
        progress.server_started = cur.fetchone()[0]
    if options.engine == "cli":
        apply_with_cli(cli, conn, settings, local, planned, options, log, result, _history_rows,
                       stop=watch.stop_reason)
    else:
        apply_native(conn, planned, options, log, result, stop=watch.stop_reason)
    result["changed"] = bool(result["applied"])
    result["summary"] = "applied %d migration(s)" % len(result["applied"])
    log.write("done: %s" % result["summary"])


def _failure_report(exc, settings, options, log, result, progress):
    """The error to raise after a failed apply: its cause, and what committed as the history shows it now,
    re-read on a fresh connection (the apply's own may be dead, or may have died after a COMMIT)."""
    pg_error = getattr(exc, "pg_error", None)
    if isinstance(exc, SupabaseError):
        message, extra = str(exc), dict(exc.result)
        extra.setdefault("cause", message)
    else:  # a database error outside a migration (the history table, the apply lock): the connection, mostly
        pg_error = exc
        cause = failure_cause(exc, options.statement_timeout)
        message, extra = "database error during apply: %s" % cause, dict(cause=cause, connection_lost=connection_lost(exc))
    # Verified: re-read from the history, or nothing had started (the failure came before the apply held its lock).
    applied, verified, unverified = list(result["applied"]), progress.before is None, None
    if progress.before is not None:
        try:
            rows, started = reread_history(settings, wait=REREAD_WAIT)
            verified = True
            applied = committed(progress.planned, progress.before, rows, known=result["applied"])
            if pg_error is not None and extra.get("connection_lost") and progress.server_started is not None:
                # Now it is known whether the server restarted: name that instead of every possibility.
                cause = failure_cause(pg_error, options.statement_timeout, restarted=started != progress.server_started)
                message = message.replace(extra["cause"], cause)
                extra["cause"] = cause
        except ConnectionFailed as lost:
            unverified = "could not re-read the history to confirm what committed (%s)" % lost
    parts = [message] + ([unverified] if unverified else [])
    lost = extra.pop("connection_lost", False)
    failed_file = extra.get("failed_file")
    if failed_file and verified and lost:
        if extra.get("failed_version") in set(item["version"] for item in applied):
            parts.append("%s did commit before the connection was lost (the history holds it)" % failed_file)
            extra.update(failed_version=None, failed_file=None, failed_statement=None)
        elif not extra.get("partial"):
            parts.append("%s did not commit (the history does not hold it)" % failed_file)
    names = [item["file"] or item["version"] for item in applied]
    if progress.before is None:
        parts.append("nothing was applied")
    elif verified:
        parts.append(("applied by this run (re-read from the history after the failure): %s" % brief(names, 10))
                     if names else "nothing of this run is in the history (re-read after the failure)")
    else:
        parts.append("as far as the apply knows it applied: %s" % (brief(names, 10) or "nothing"))
    extra.update(applied=applied, applied_verified=verified, log_path=result.get("log_path"),
                 started_at=result.get("started_at"), changed=bool(applied) or bool(extra.get("partial")))
    report = "; ".join(parts)
    _log_quietly(log, "FAILED: %s" % report)
    error = exc if isinstance(exc, SupabaseError) else ApplyError(report)
    error.message = report
    error.result = extra
    return error


def apply_checks(result, check_mode=False):
    """The apply's report checks: what was pending (as planned, under the lock), and what the apply did."""
    planned = [item["version"] for item in result.get("plan") or []]
    return [make_check("pending migrations", "ok", ", ".join(planned) or "none", data={"versions": planned}),
            make_check("apply (check mode)" if check_mode else "apply", "ok", result["summary"])]


def apply_error_checks(message, status, result, check_mode=False):
    """A failed apply as report checks: ``pending migrations`` when it stopped before a plan (connection, drift
    refused), otherwise the plan and an ``apply`` check naming what committed before the failure and the log."""
    if result.get("plan") is None:
        return [make_check("pending migrations", status, message,
                           "fix what the message names (connection, drift, configuration) and run again")]
    applied = [item["version"] for item in result.get("applied") or []]
    log = result.get("log_path")
    remedy = ("read the log %s and roll back" % log) if log else "fix what the message names and run again"
    return [apply_checks(dict(result, summary=""), check_mode)[0],
            make_check("apply (check mode)" if check_mode else "apply", status,
                       "%s (applied before the failure: %s)" % (message, ", ".join(applied) or "none"), remedy,
                       data={"applied": applied, "partial": bool(result.get("partial")),
                             "failed_file": result.get("failed_file")})]


def _failure_facts(exc, result):
    """What every failed apply reports besides its message and what committed: the plan (None when it stopped
    before one), ``partial`` and ``failed_file``."""
    exc.result.setdefault("plan", result.get("plan"))
    exc.result.setdefault("partial", False)
    exc.result.setdefault("failed_file", None)
    if result.get("policy_check"):
        # The release was recorded before the failure: its run key is what lets the run roll its own changes back.
        exc.result.setdefault("policy_check", result["policy_check"])


def run_apply(settings, project_dir, options, check_mode=False, guard=None):
    """Plan and (unless ``check_mode``) apply; returns the module's result dict, raises SupabaseError.

    ``guard`` (policy_guard.Guard) decides on the final plan, under the apply lock, before the first statement
    (and in check mode, so the result carries the plan digest an approval must cover).
    """
    result = dict(changed=False, engine=options.engine, applied=[], log_path=None, partial=False, failed_file=None)
    cli = None
    try:
        local = load_directory(project_dir)  # a wrong path fails before any connection
        refuse_transaction_pooler(settings)
        if options.engine == "cli":  # a missing or too old CLI fails before we connect
            cli = SupabaseCli(path=options.cli_path, timeout=options.cli_timeout)
            result["cli_version"] = cli.require_version(options.minimum_cli_version)
        conn = connect(settings, application_name=APPLICATION_NAME)
    except SupabaseError as exc:  # nothing ran: that much is certain
        _failure_facts(exc, result)
        exc.result.update(applied=[], applied_verified=True, changed=False)
        raise
    log = NullLog()
    progress = _Progress()
    try:
        conn.autocommit = True
        report = read_state(conn, local)[2]
        progress.planned = planned = plan_apply(local, report, options)
        result.update(plan=[p.as_dict() for p in planned],
                      queries=[s for p in planned for s in p.statements],
                      content_changed=list(report.content_changed))
        if check_mode or not planned:
            _ask_guard(guard, planned, True, result)
            result["changed"] = bool(planned)
            result["summary"] = ("would apply %d migration(s)" % len(planned)) if planned else "nothing to apply"
            result["checks"] = apply_checks(result, check_mode)
            return result
        log = open_log(options, settings.secrets())
        result["log_path"] = log.path
        with ControllerWatch() as watch:
            try:
                _apply(conn, cli, settings, local, options, log, result, watch, progress, guard)
            except PolicyRefused as exc:  # nothing was applied: the refusal is the whole report
                _log_quietly(log, "REFUSED: %s" % exc)
                exc.result.update(applied=[], log_path=result.get("log_path"), started_at=result.get("started_at"),
                                  applied_verified=True)
                raise
            except (SupabaseError, psycopg2.Error) as exc:
                raise _failure_report(exc, settings, options, log, result, progress)
        result["checks"] = apply_checks(result, check_mode)
        return result
    except SupabaseError as exc:
        _failure_facts(exc, result)
        exc.result.setdefault("applied", result["applied"])
        exc.result.setdefault("log_path", result.get("log_path"))
        exc.result.setdefault("started_at", result.get("started_at"))
        exc.result["changed"] = bool(exc.result["applied"]) or bool(exc.result.get("partial"))
        if "applied_verified" not in exc.result:  # not reported yet: a failure before anything was applied
            exc.result["applied_verified"] = True
            _log_quietly(log, "FAILED: %s" % exc)
        raise
    except psycopg2.Error as exc:
        cause = failure_cause(exc, options.statement_timeout)
        _log_quietly(log, "FAILED: %s" % cause)
        error = ApplyError("database error before anything was applied: %s" % cause, applied=[], applied_verified=True,
                           log_path=result.get("log_path"), changed=False, started_at=result.get("started_at"))
        _failure_facts(error, result)
        raise error
    finally:
        release_apply_lock(conn)
        conn.close()
        log.close()
