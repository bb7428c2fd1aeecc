# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply pending migrations: the native engine (psycopg2) and the CLI engine (``supabase db push``).

The order of work, for both engines:

1. Plan without touching the database's schema: load the local directory, read the history, classify
   drift; refuse duplicates, remote-only versions (unless allowed) and out-of-order files (unless
   ``include_all``); stop at ``target_version``; read and split every pending file and find the
   statements that cannot run inside a transaction (pglast), so a bad file is refused before anything runs.
2. Refuse Supabase's transaction-mode pooler (port 6543): it cannot hold a session advisory lock.
3. Take a session advisory lock (bounded wait) so two runners never apply to the same database at once.
4. Native: each migration and its history row in one transaction, with ``lock_timeout`` and bounded
   retries with backoff when a lock is not granted, and ``statement_timeout``. Stop at the first failure;
   what committed stays and is returned. CLI: run ``supabase db push`` and read back what it recorded.
5. Every step is appended to a log file as it happens (``tail -f`` works).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import os
import re
import shutil
import tempfile
import time

try:
    import psycopg2
    import psycopg2.errors  # noqa: F401  (errorcodes by class)
except ImportError:  # pragma: no cover - modules report missing_required_lib
    psycopg2 = None

try:
    from pglast import parse_sql as _pglast_parse
    HAS_PGLAST = True
except ImportError:  # pragma: no cover
    _pglast_parse = None
    HAS_PGLAST = False

from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect, redact
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import classify
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import (
    ApplyError,
    DriftError,
    InvalidInput,
    LockUnavailable,
    SupabaseError,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.history import (
    HISTORY_QUALIFIED,
    ensure_history_table,
    insert_history,
    read_history,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory

ENGINES = ("native", "cli")
NON_TRANSACTIONAL_MODES = ("refuse", "isolate")
# One lock per database for every hotdash.supabase runner ("hotd" "aply").
ADVISORY_LOCK_KEY = 0x686F7464 << 32 | 0x61706C79
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

_MAYBE_NON_TX = re.compile(r"\b(concurrently|vacuum|begin|commit|end|start|rollback|abort|value|database|"
                           r"tablespace|system|prepare)\b", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# Options, log
# --------------------------------------------------------------------------------------------------

class ApplyOptions(object):
    """Everything that shapes an apply; defaults are the module's defaults."""

    def __init__(self, engine="native", environment="local", log_path=None, include_all=False,
                 allow_remote_only=False, target_version=None, lock_timeout=5.0, lock_retries=3,
                 lock_retry_backoff=2.0, statement_timeout=0, apply_lock_wait=30.0,
                 non_transactional="refuse", cli_path=None, min_cli_version="2.48.3", cli_timeout=3600,
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
        if environment and not re.match(r"^[A-Za-z0-9_.-]+$", environment):
            raise InvalidInput("environment must be a simple name such as staging, not %r" % (environment,))
        self.engine = engine
        self.environment = environment or "local"
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
        self.min_cli_version = min_cli_version
        self.cli_timeout = cli_timeout
        self.base_dir = base_dir


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def default_log_path(environment, base_dir=None, now=None):
    """``artifacts/data/<environment>_migration_apply_<YYYYmmdd_HHMMSS>.log`` under ``base_dir`` (cwd)."""
    stamp = (now or utc_now()).strftime("%Y%m%d_%H%M%S")
    return os.path.join(base_dir or os.getcwd(), "artifacts", "data",
                        "%s_migration_apply_%s.log" % (environment, stamp))


class ApplyLog(object):
    """An append-only progress log, flushed line by line so ``tail -f`` shows the apply as it happens.

    The default name carries only a second-resolution timestamp, so several hosts of one play can
    compute the same name: the file is created with O_EXCL and a numbered suffix is taken if it exists.
    An explicit ``path`` is appended to.
    """

    def __init__(self, path, exclusive=False, secrets=()):
        self.secrets = list(secrets)
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise InvalidInput("cannot create the log directory %s: %s" % (directory, exc.strerror))
        self.path = self._open(path, exclusive)

    def _open(self, path, exclusive):
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        candidates = [path]
        if exclusive:
            flags |= os.O_EXCL
            stem, ext = os.path.splitext(path)
            candidates += ["%s_%d%s" % (stem, n, ext) for n in range(2, 100)]
        for candidate in candidates:
            try:
                fd = os.open(candidate, flags, 0o640)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                raise InvalidInput("cannot write the apply log %s: %s" % (candidate, exc.strerror))
            self._handle = os.fdopen(fd, "a", 1, encoding="utf-8")
            return os.path.abspath(candidate)
        raise InvalidInput("cannot create a new apply log next to %s: too many runs in the same second" % path)

    def write(self, message):
        line = "%s %s\n" % (utc_now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"), redact(message, self.secrets))
        self._handle.write(line)
        self._handle.flush()

    def close(self):
        if not self._handle.closed:
            self._handle.close()


class NullLog(object):
    path = None

    def write(self, message):
        pass

    def close(self):
        pass


# --------------------------------------------------------------------------------------------------
# Statements that cannot run in a transaction
# --------------------------------------------------------------------------------------------------

def _parse(statement):
    if not HAS_PGLAST:
        raise InvalidInput("pglast is required to classify migration statements: pip install pglast")
    try:
        return _pglast_parse(statement)
    except Exception:  # pylint: disable=broad-except
        return None  # the server will report the syntax error, with its own message


def _node_finding(node):
    """(kind, detail) for a statement that cannot run in a transaction block, else None."""
    name = type(node).__name__
    if name == "IndexStmt" and getattr(node, "concurrent", False):
        return "concurrently", "CREATE INDEX CONCURRENTLY"
    if name == "DropStmt" and getattr(node, "concurrent", False):
        return "concurrently", "DROP INDEX CONCURRENTLY"
    if name == "ReindexStmt" and any(getattr(p, "defname", "") == "concurrently" for p in (node.params or ())):
        return "concurrently", "REINDEX CONCURRENTLY"
    if name == "AlterTableStmt":
        for cmd in node.cmds or ():
            part = getattr(cmd, "def_", None)
            if type(part).__name__ == "PartitionCmd" and getattr(part, "concurrent", False):
                return "concurrently", "DETACH PARTITION CONCURRENTLY"
    if name == "VacuumStmt" and getattr(node, "is_vacuumcmd", False):
        return "vacuum", "VACUUM"
    if name == "TransactionStmt":
        kind = getattr(node.kind, "name", str(node.kind)).replace("TRANS_STMT_", "")
        if kind in ("BEGIN", "START", "COMMIT", "ROLLBACK", "PREPARE", "COMMIT_PREPARED", "ROLLBACK_PREPARED"):
            return "transaction_control", kind.replace("_", " ")
    if name in ("CreatedbStmt", "DropdbStmt"):
        return "database", "CREATE/DROP DATABASE"
    if name in ("CreateTableSpaceStmt", "DropTableSpaceStmt"):
        return "database", "CREATE/DROP TABLESPACE"
    if name == "AlterSystemStmt":
        return "database", "ALTER SYSTEM"
    return None


def find_non_transactional(statements):
    """Findings ``[{index, kind, detail}]`` (index 1-based) for statements that need their own transaction.

    ``ALTER TYPE … ADD VALUE 'v'`` is only reported when ``'v'`` is used by a later statement of the
    same file: PostgreSQL allows adding the value in a transaction but not using it before commit.
    """
    findings = []
    new_values = []
    for index, statement in enumerate(statements, 1):
        for value, at in new_values:
            if ("'%s'" % value.replace("'", "''")) in statement:
                findings.append(dict(index=at, kind="enum_value_used", used_at=index,
                                     detail="ALTER TYPE ... ADD VALUE '%s' used by statement %d" % (value, index)))
                new_values = [(v, a) for v, a in new_values if v != value]
                break
        if not _MAYBE_NON_TX.search(statement):
            continue
        parsed = _parse(statement)
        for raw in parsed or ():
            node = raw.stmt
            if type(node).__name__ == "AlterEnumStmt" and getattr(node, "newVal", None) and not getattr(node, "oldVal", None):
                new_values.append((node.newVal, index))
                continue
            found = _node_finding(node)
            if found:
                findings.append(dict(index=index, kind=found[0], detail=found[1]))
                break
    findings.sort(key=lambda f: f["index"])
    return findings


def segments_for(statements, findings):
    """Split a file into units of work: ``[{"transactional": bool, "indexes": [1-based]}]``.

    - no findings: one transaction with every statement;
    - its own BEGIN/COMMIT: every statement in autocommit, in order (the file controls its transactions);
    - otherwise each CONCURRENTLY/VACUUM/DATABASE statement runs alone in autocommit between transactions
      of the statements around it, and a transaction is committed right after an ``ADD VALUE`` whose value
      is used later.
    """
    indexes = list(range(1, len(statements) + 1))
    if not findings:
        return [dict(transactional=True, indexes=indexes)]
    kinds = set(f["kind"] for f in findings)
    if "transaction_control" in kinds:
        return [dict(transactional=False, indexes=indexes)]
    alone = set(f["index"] for f in findings if f["kind"] != "enum_value_used")
    commit_after = set(f["index"] for f in findings if f["kind"] == "enum_value_used")
    segments, current = [], []
    for index in indexes:
        if index in alone:
            if current:
                segments.append(dict(transactional=True, indexes=current))
                current = []
            segments.append(dict(transactional=False, indexes=[index]))
            continue
        current.append(index)
        if index in commit_after:
            segments.append(dict(transactional=True, indexes=current))
            current = []
    if current:
        segments.append(dict(transactional=True, indexes=current))
    return segments


def describe_findings(findings):
    return ", ".join("statement %d: %s" % (f["index"], f["detail"]) for f in findings)


# --------------------------------------------------------------------------------------------------
# Plan
# --------------------------------------------------------------------------------------------------

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
            "allow_remote_only=true" % (len(versions), _first(versions)), remote_only=versions)
    pending = list(report.pending)
    out_of_order = [m.version for m in pending if m.version in set(report.out_of_order)]
    if out_of_order and not options.include_all:
        raise DriftError(
            "refusing to apply: %d pending migration(s) are older than the newest applied version (%s); "
            "review them and set include_all=true to apply them, as supabase db push --include-all does"
            % (len(out_of_order), _first(out_of_order)), out_of_order=out_of_order)
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


def _first(items, limit=3):
    shown = ", ".join(items[:limit])
    return shown + (", ..." if len(items) > limit else "")


# --------------------------------------------------------------------------------------------------
# Session: pooler refusal and the advisory lock
# --------------------------------------------------------------------------------------------------

def refuse_transaction_pooler(settings):
    if settings.is_transaction_pooler():
        raise InvalidInput(
            "refusing to apply through %s: port %d is Supabase's transaction-mode pooler, which cannot hold the "
            "session advisory lock or session settings; connect directly (db.<project-ref>.supabase.co:5432) or "
            "through the session pooler (port 5432)" % (settings.describe(), settings.port))


def _lock_holder(cur):
    cur.execute(
        "SELECT a.pid, coalesce(a.application_name, ''), a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 AND l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
        (ADVISORY_LOCK_KEY >> 32, ADVISORY_LOCK_KEY & 0xFFFFFFFF))
    return cur.fetchone()


def acquire_apply_lock(conn, wait_seconds, log=None, poll=0.2):
    """Take the session advisory lock, waiting at most ``wait_seconds``; LockUnavailable after that."""
    deadline = time.monotonic() + wait_seconds
    logged = False
    with conn.cursor() as cur:
        while True:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            if cur.fetchone()[0]:
                return
            holder = _lock_holder(cur)
            if log is not None and not logged:
                log.write("waiting up to %.0f s for the apply lock held by pid %s" % (wait_seconds, holder and holder[0]))
                logged = True
            if time.monotonic() >= deadline:
                who = ("pid %s (%s, connected %s)" % (holder[0], holder[1] or "no application_name",
                                                      holder[2].strftime("%Y-%m-%d %H:%M:%S UTC")
                                                      if holder[2] else "?")) if holder else "another session"
                raise LockUnavailable("another runner is applying migrations to this database: the apply lock is "
                                      "held by %s and was not released within %.0f s; wait for it to finish or raise "
                                      "apply_lock_wait" % (who, wait_seconds))
            time.sleep(poll)


def release_apply_lock(conn):
    try:
        if conn.closed:
            return
        if conn.get_transaction_status() != 0:  # not idle: end whatever failed first
            conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        if not conn.autocommit:
            conn.commit()
    # Closing the connection releases the lock anyway.
    except Exception:  # pylint: disable=broad-except
        pass


# --------------------------------------------------------------------------------------------------
# Native engine
# --------------------------------------------------------------------------------------------------

def _pg_error_line(exc):
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    code = getattr(exc, "pgcode", None)
    return "%s (SQLSTATE %s)" % (text, code) if code else text


def _snippet(statement, limit=80):
    lines = [line.strip() for line in statement.splitlines() if line.strip() and not line.strip().startswith("--")]
    text = " ".join(lines) or statement.strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _span(indexes):
    return str(indexes[0]) if len(indexes) == 1 else "%d-%d" % (indexes[0], indexes[-1])


class _StatementFailed(Exception):
    def __init__(self, index, error, transactional):
        super(_StatementFailed, self).__init__(str(error))
        self.index = index
        self.error = error
        self.transactional = transactional


def _set_timeouts(cur, options):
    cur.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                ("%dms" % int(options.lock_timeout * 1000), "%dms" % int(options.statement_timeout * 1000)))


def _execute(cur, statement):
    """Run one recorded statement; a comment-only one (the CLI keeps a trailing comment) is a no-op."""
    try:
        cur.execute(statement)
    except psycopg2.ProgrammingError as exc:
        if getattr(exc, "pgcode", None) is None and "empty query" in str(exc):
            return
        raise


class _Capture(object):
    """A cursor stand-in that renders what the history helpers would execute, for one batched round trip."""

    def __init__(self, cur):
        self.cur = cur
        self.parts = []

    def execute(self, query, params=None):
        self.parts.append(self.cur.mogrify(query, params).decode("utf-8"))


def _batch_text(cur, planned, segment, options, write_history):
    """BEGIN; timeouts; the statements; the history row; COMMIT -- one simple-protocol round trip.

    Each statement is followed by a newline before its ';', so one ending in a line comment stays closed.
    """
    capture = _Capture(cur)
    capture.execute("SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                    ("%dms" % int(options.lock_timeout * 1000), "%dms" % int(options.statement_timeout * 1000)))
    head = capture.parts[0]
    if write_history:
        insert_history(capture, planned.version, planned.name, planned.statements)
    body = "".join(planned.statements[index - 1] + "\n;\n" for index in segment["indexes"])
    return "BEGIN;\n" + head + ";\n" + body + "".join(part + ";\n" for part in capture.parts[1:]) + "COMMIT;"


def _locate_failure(conn, planned, segment, options):
    """Which statement failed: replay the segment one statement at a time in a transaction that is rolled back."""
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            _set_timeouts(cur, options)
            for index in segment["indexes"]:
                try:
                    _execute(cur, planned.statements[index - 1])
                except psycopg2.Error:
                    return index
    finally:
        conn.rollback()
    return None


def _run_segment(conn, planned, segment, options, write_history):
    """Run one unit of work; transactional segments commit (with the history row when asked)."""
    statements = planned.statements
    if segment["transactional"]:
        conn.autocommit = True
        with conn.cursor() as cur:
            text = _batch_text(cur, planned, segment, options, write_history)
            try:
                cur.execute(text)
            except psycopg2.Error as exc:
                if conn.get_transaction_status() != 0:
                    cur.execute("ROLLBACK")
                index = None
                if getattr(exc, "pgcode", None) not in (LOCK_NOT_AVAILABLE, QUERY_CANCELED):
                    index = _locate_failure(conn, planned, segment, options)
                raise _StatementFailed(index, exc, True)
        return
    conn.autocommit = True
    with conn.cursor() as cur:
        _set_timeouts(cur, options)
        for index in segment["indexes"]:
            try:
                _execute(cur, statements[index - 1])
            except psycopg2.Error as exc:
                if conn.get_transaction_status() != 0:  # the file's own BEGIN left a transaction open
                    cur.execute("ROLLBACK")
                raise _StatementFailed(index, exc, False)
    if write_history:
        conn.autocommit = False
        with conn.cursor() as cur:
            insert_history(cur, planned.version, planned.name, statements)
        conn.commit()


def apply_one(conn, planned, options, log=None, sleep=time.sleep):
    """Apply one planned migration; returns ``{version, name, file, duration_ms, attempts}``.

    Transactional segments whose lock was not granted within ``lock_timeout`` are rolled back and retried
    up to ``lock_retries`` times, waiting ``lock_retry_backoff * 2**n`` seconds. Raises ApplyError or
    LockUnavailable (with ``partial`` true when a non-transactional part had already run).
    """
    log = log or NullLog()
    started = time.monotonic()
    attempts = 0
    done_non_tx = False
    segments = planned.segments
    for number, segment in enumerate(segments, 1):
        last = number == len(segments)
        attempt = 0
        while True:
            attempt += 1
            attempts += 1
            try:
                if not segment["transactional"]:
                    log.write("  %s: running statement(s) %s outside a transaction"
                              % (planned.filename, ", ".join(str(i) for i in segment["indexes"])))
                _run_segment(conn, planned, segment, options, write_history=last)
                if not segment["transactional"]:
                    done_non_tx = True
                break
            except _StatementFailed as failed:
                code = getattr(failed.error, "pgcode", None)
                if failed.index is None:
                    where = "statement(s) %s of %d" % (_span(segment["indexes"]), len(planned.statements))
                else:
                    where = "statement %d of %d (%s)" % (failed.index, len(planned.statements),
                                                         _snippet(planned.statements[failed.index - 1]))
                if code == LOCK_NOT_AVAILABLE and failed.transactional and attempt <= options.lock_retries:
                    delay = options.lock_retry_backoff * (2 ** (attempt - 1))
                    log.write("  %s: lock not granted within %.1f s at %s; retry %d of %d in %.1f s"
                              % (planned.filename, options.lock_timeout, where, attempt, options.lock_retries, delay))
                    sleep(delay)
                    continue
                partial = done_non_tx or not failed.transactional
                state = ("it is PARTIALLY applied (non-transactional statements ran) and has no history row; "
                         "fix it and complete it by hand, then mark it with migration_repair status=applied"
                         if partial else "it was rolled back")
                if code == LOCK_NOT_AVAILABLE:
                    raise LockUnavailable(
                        "migration %s: a lock was not granted within %.1f s at %s after %d attempt(s); %s; find the "
                        "blocking session in pg_stat_activity or retry in a quieter window"
                        % (planned.filename, options.lock_timeout, where, attempt, state),
                        failed_version=planned.version, failed_file=planned.filename, partial=partial)
                if code == QUERY_CANCELED:
                    reason = "canceled by statement_timeout (%.0f s)" % options.statement_timeout
                else:
                    reason = _pg_error_line(failed.error)
                raise ApplyError("migration %s failed at %s: %s; %s" % (planned.filename, where, reason, state),
                                 failed_version=planned.version, failed_file=planned.filename,
                                 failed_statement=failed.index, partial=partial, failed_error=reason)
    return dict(version=planned.version, name=planned.name, file=planned.filename,
                duration_ms=int(round((time.monotonic() - started) * 1000)), attempts=attempts)


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------

def _ensure_history(conn):
    conn.autocommit = False
    with conn.cursor() as cur:
        created = ensure_history_table(cur)
    conn.commit()
    return created


def _open_log(options, secrets):
    if options.log_path:
        return ApplyLog(options.log_path, exclusive=False, secrets=secrets)
    return ApplyLog(default_log_path(options.environment, options.base_dir), exclusive=True, secrets=secrets)


def _state(conn, local):
    conn.autocommit = True
    with conn.cursor() as cur:
        remote = read_history(cur)
    return remote, classify(local, remote)


def run_apply(settings, project_dir, options, check_mode=False):
    """Plan and (unless ``check_mode``) apply; returns the module's result dict, raises SupabaseError."""
    local = load_directory(project_dir)
    refuse_transaction_pooler(settings)
    result = dict(changed=False, engine=options.engine, applied=[], log_path=None)
    cli = None
    if options.engine == "cli":  # a missing or too old CLI fails before we connect
        cli = SupabaseCli(path=options.cli_path, timeout=options.cli_timeout)
        result["cli_version"] = cli.require_version(options.min_cli_version)
    conn = connect(settings, application_name="hotdash.supabase migration_apply")
    log = NullLog()
    try:
        remote, report = _state(conn, local)
        planned = plan_apply(local, report, options)
        result.update(plan=[p.as_dict() for p in planned],
                      queries=[s for p in planned for s in p.statements],
                      content_changed=list(report.content_changed))
        if check_mode or not planned:
            result["changed"] = bool(planned)
            result["summary"] = ("would apply %d migration(s)" % len(planned)) if planned else "nothing to apply"
            return result
        log = _open_log(options, settings.secrets())
        result["log_path"] = log.path
        log.write("migration_apply engine=%s environment=%s database=%s: %d pending migration(s)"
                  % (options.engine, options.environment, settings.describe(), len(planned)))
        acquire_apply_lock(conn, options.apply_lock_wait, log)
        log.write("apply lock acquired")
        # Re-read under the lock: another runner may have applied while we waited.
        remote, report = _state(conn, local)
        planned = plan_apply(local, report, options)
        result.update(plan=[p.as_dict() for p in planned], queries=[s for p in planned for s in p.statements])
        if options.engine == "cli":
            _apply_with_cli(cli, conn, settings, local, planned, options, log, result)
        else:
            _apply_native(conn, local, planned, options, log, result)
        result["changed"] = bool(result["applied"])
        result["summary"] = "applied %d migration(s)" % len(result["applied"])
        log.write("done: %s" % result["summary"])
        return result
    except SupabaseError as exc:
        exc.result.setdefault("applied", result["applied"])
        exc.result.setdefault("log_path", result.get("log_path"))
        exc.result["changed"] = bool(result["applied"]) or bool(exc.result.get("partial"))
        log.write("FAILED: %s" % exc)
        raise
    except psycopg2.Error as exc:
        log.write("FAILED: %s" % _pg_error_line(exc))
        raise ApplyError("database error during apply: %s" % redact(_pg_error_line(exc), settings.secrets()),
                         applied=result["applied"], log_path=result.get("log_path"), changed=bool(result["applied"]))
    finally:
        release_apply_lock(conn)
        conn.close()
        log.close()


def _apply_native(conn, local, planned, options, log, result):
    if not planned:
        return
    if _ensure_history(conn):
        log.write("created %s" % HISTORY_QUALIFIED)
    for item in planned:
        log.write("applying %s (%d statement(s)%s)" % (item.filename, len(item.statements),
                                                       "" if item.transactional else ", non-transactional parts"))
        applied = apply_one(conn, item, options, log)
        result["applied"].append(applied)
        log.write("applied %s in %d ms" % (item.filename, applied["duration_ms"]))


# --------------------------------------------------------------------------------------------------
# CLI engine
# --------------------------------------------------------------------------------------------------

def project_root(local):
    """The directory holding ``supabase/`` for a LocalDirectory (the CLI's --workdir)."""
    return local.project_dir


def _staged_workdir(local, keep_versions):
    """A temporary project holding only the migrations the push may see (for target_version or a bare dir)."""
    root = tempfile.mkdtemp(prefix="hotdash-push-")
    target = os.path.join(root, "supabase", "migrations")
    os.makedirs(target)
    source_root = project_root(local)
    if source_root and os.path.isfile(os.path.join(source_root, "supabase", "config.toml")):
        shutil.copy2(os.path.join(source_root, "supabase", "config.toml"), os.path.join(root, "supabase"))
    for migration in local.migrations:
        if migration.version in keep_versions:
            shutil.copy2(migration.path, os.path.join(target, migration.filename))
    return root


def _apply_with_cli(cli, conn, settings, local, planned, options, log, result):
    version = result["cli_version"]
    if not planned:
        return
    before = set(row.version for row in _state(conn, local)[0])
    planned_versions = set(p.version for p in planned)
    root = project_root(local)
    staged = None
    if options.target_version is not None or root is None:
        staged = _staged_workdir(local, before | planned_versions)
        root = staged
    args = ["db", "push", "--yes"] + (["--include-all"] if options.include_all else [])
    log.write("running supabase %s (CLI %s) in %s" % (" ".join(args), version, root))
    started = time.monotonic()
    try:
        outcome = cli.run(args, settings=settings, cwd=root, workdir=root, check=False)
    finally:
        if staged:
            shutil.rmtree(staged, ignore_errors=True)
    elapsed = int(round((time.monotonic() - started) * 1000))
    for line in outcome.stderr.splitlines():
        if line.strip():
            log.write("  cli: %s" % line.strip())
    remote_after = _state(conn, local)[0]
    by_version = dict((p.version, p) for p in planned)
    new_rows = [row for row in remote_after if row.version not in before]
    for row in new_rows:
        item = by_version.get(row.version)
        result["applied"].append(dict(version=row.version, name=row.name, file=item.filename if item else None,
                                      duration_ms=None, attempts=1))
    result["duration_ms"] = elapsed
    result["cli_output"] = outcome.data
    if outcome.rc != 0:
        failed = next((p for p in planned if p.version not in set(r.version for r in new_rows)), None)
        raise ApplyError("supabase db push failed%s: %s; %d migration(s) applied before it"
                         % (" at %s" % failed.filename if failed else "", cli.error_message(outcome),
                            len(new_rows)),
                         failed_version=failed.version if failed else None,
                         failed_file=failed.filename if failed else None, cli_version=version)
    missing = [p.filename for p in planned if p.version not in set(r.version for r in new_rows)]
    if missing:
        raise ApplyError("supabase db push exited 0 but did not record %s in the history; check the log %s"
                         % (_first(missing), log.path))
