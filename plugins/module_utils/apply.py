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
4. Native (``apply_native.py``): each migration and its history row in one transaction, with ``lock_timeout``
   and bounded retries with backoff when a lock is not granted, and ``statement_timeout``. Stop at the first
   failure; what committed stays and is returned. CLI (``apply_cli.py``): run ``supabase db push`` and read
   back what it recorded.
5. Every step is appended to a log file as it happens (``progress_log.py``; ``tail -f`` works).
"""
from __future__ import absolute_import, division, print_function
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
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import MINIMUM_CLI_VERSION, SupabaseCli
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact, server_clock
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import read_state
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import validate_environment
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError, DriftError, InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.non_transactional import describe_findings, find_non_transactional, segments_for
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import NullLog, ProgressLog, apply_log_path

ENGINES = ("native", "cli")
NON_TRANSACTIONAL_MODES = ("refuse", "isolate")


class ApplyOptions(object):
    """Everything that shapes an apply; defaults are the module's defaults."""

    def __init__(self, engine="native", environment="local", log_path=None, include_all=False,
                 allow_remote_only=False, target_version=None, lock_timeout=5.0, lock_retries=3,
                 lock_retry_backoff=2.0, statement_timeout=0, apply_lock_wait=30.0,
                 non_transactional="refuse", cli_path=None, minimum_cli_version=MINIMUM_CLI_VERSION, cli_timeout=3600,
                 base_dir=None):
        if engine not in ENGINES:
            raise InvalidInput("engine must be one of %s, not %r" % (", ".join(ENGINES), engine))
        if non_transactional not in NON_TRANSACTIONAL_MODES:
            raise InvalidInput("non_transactional must be one of %s, not %r"
                               % (", ".join(NON_TRANSACTIONAL_MODES), non_transactional))
        for name, value in (("lock_timeout", lock_timeout), ("lock_retries", lock_retries),
                            ("lock_retry_backoff", lock_retry_backoff), ("statement_timeout", statement_timeout),
                            ("apply_lock_wait", apply_lock_wait)):
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
        self.lock_retries = int(lock_retries)
        self.lock_retry_backoff = float(lock_retry_backoff)
        self.statement_timeout = float(statement_timeout)
        self.apply_lock_wait = float(apply_lock_wait)
        self.non_transactional = non_transactional
        self.cli_path = cli_path
        self.minimum_cli_version = minimum_cli_version
        self.cli_timeout = cli_timeout
        self.base_dir = base_dir


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


def run_apply(settings, project_dir, options, check_mode=False):
    """Plan and (unless ``check_mode``) apply; returns the module's result dict, raises SupabaseError."""
    local = load_directory(project_dir)  # a wrong path fails before any connection
    refuse_transaction_pooler(settings)
    result = dict(changed=False, engine=options.engine, applied=[], log_path=None)
    cli = None
    if options.engine == "cli":  # a missing or too old CLI fails before we connect
        cli = SupabaseCli(path=options.cli_path, timeout=options.cli_timeout)
        result["cli_version"] = cli.require_version(options.minimum_cli_version)
    conn = connect(settings, application_name="hotdash.supabase migration_apply")
    log = NullLog()
    try:
        conn.autocommit = True
        report = read_state(conn, local)[2]
        planned = plan_apply(local, report, options)
        result.update(plan=[p.as_dict() for p in planned],
                      queries=[s for p in planned for s in p.statements],
                      content_changed=list(report.content_changed))
        if check_mode or not planned:
            result["changed"] = bool(planned)
            result["summary"] = ("would apply %d migration(s)" % len(planned)) if planned else "nothing to apply"
            return result
        log = open_log(options, settings.secrets())
        result["log_path"] = log.path
        log.write("migration_apply engine=%s environment=%s database=%s: %d pending migration(s)"
                  % (options.engine, options.environment, settings.describe(), len(planned)))
        acquire_apply_lock(conn, options.apply_lock_wait, log)
        with conn.cursor() as cur:
            # Before the first change, on the server's clock: the moment a point-in-time rollback restores to.
            result["started_at"] = server_clock(cur)
        log.write("apply lock acquired; started at %s (database clock)" % result["started_at"])
        # Re-read under the lock: another runner may have applied while we waited.
        report = read_state(conn, local)[2]
        planned = plan_apply(local, report, options)
        result.update(plan=[p.as_dict() for p in planned], queries=[s for p in planned for s in p.statements])
        if options.engine == "cli":
            apply_with_cli(cli, conn, settings, local, planned, options, log, result, _history_rows)
        else:
            apply_native(conn, planned, options, log, result)
        result["changed"] = bool(result["applied"])
        result["summary"] = "applied %d migration(s)" % len(result["applied"])
        log.write("done: %s" % result["summary"])
        return result
    except SupabaseError as exc:
        exc.result.setdefault("applied", result["applied"])
        exc.result.setdefault("log_path", result.get("log_path"))
        exc.result.setdefault("started_at", result.get("started_at"))
        exc.result["changed"] = bool(result["applied"]) or bool(exc.result.get("partial"))
        log.write("FAILED: %s" % exc)
        raise
    except psycopg2.Error as exc:
        log.write("FAILED: %s" % error_line(exc))
        raise ApplyError("database error during apply: %s" % redact(error_line(exc), settings.secrets()),
                         applied=result["applied"], log_path=result.get("log_path"), changed=bool(result["applied"]),
                         started_at=result.get("started_at"))
    finally:
        release_apply_lock(conn)
        conn.close()
        log.close()
