# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The native apply engine: each migration and its history row in one transaction, through psycopg2.

A transactional unit of work goes to the server as one simple-protocol batch (``BEGIN``; timeouts; the
statements; the history row; ``COMMIT``), so a migration costs one round trip. On a live database it never
queues behind a long transaction (``lock_conflicts.attempt_within_budget``): no attempt while an old
transaction holds or waits for a lock the migration needs, a short ``lock_timeout`` per attempt, jittered
backoff, a total budget, and the blocker named when it is spent. Any other failure stops the run, and a
replay inside a rolled-back transaction names the statement that failed (not when the connection is gone:
then the cause is named, and what committed is re-read by the caller). The session asks the server to check
every second that this client is still there (``client_connection_check_interval``), so a migration sent by
a process that was killed is rolled back instead of committing after it. Statements that cannot run in a
transaction (``non_transactional.py``) run alone in autocommit, and the history row is written only when
the whole file succeeded.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    import psycopg2
except ImportError:  # pragma: no cover - modules report missing_required_lib
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_outcome import connection_lost, failure_cause
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import transaction
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError, ApplyStopped, LockUnavailable
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HISTORY_QUALIFIED, ensure_history_table, insert_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import clip
from ansible_collections.hotdash.supabase.plugins.module_utils.lock_conflicts import (
    LockBudgetSpent,
    LockNotGranted,
    attempt_within_budget,
    describe_session,
    migration_locks,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import LOCK_NOT_AVAILABLE, QUERY_CANCELED
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import NullLog
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import mask_statement_text

# The server checks this often that the apply's client is still connected while a statement runs (PostgreSQL
# 14 and later): a migration whose sender was killed is rolled back rather than committed with nobody to say so.
CLIENT_CHECK_INTERVAL = "1s"


def statement_snippet(statement, limit=80):
    """A statement on one line for a message: comment lines left out, clipped to ``limit`` characters, hidden
    whole when it mentions a password or secret (``CREATE ROLE ... PASSWORD '...'`` in a migration)."""
    lines = [line.strip() for line in statement.splitlines() if line.strip() and not line.strip().startswith("--")]
    return clip(mask_statement_text(" ".join(lines) or statement), limit)


def _span(indexes):
    return str(indexes[0]) if len(indexes) == 1 else "%d-%d" % (indexes[0], indexes[-1])


class _StatementFailed(Exception):
    def __init__(self, index, error, transactional):
        super(_StatementFailed, self).__init__(str(error))
        self.index = index
        self.error = error
        self.transactional = transactional


def _session_settings(cur, options):
    """``SELECT set_config(...)`` of the apply session: lock_timeout, statement_timeout and, where the server
    has it, client_connection_check_interval."""
    settings = [("lock_timeout", "%dms" % int(options.lock_timeout * 1000)),
                ("statement_timeout", "%dms" % int(options.statement_timeout * 1000))]
    if cur.connection.server_version >= 140000:
        settings.append(("client_connection_check_interval", CLIENT_CHECK_INTERVAL))
    return ("SELECT " + ", ".join("set_config(%s, %s, false)" for _setting in settings),
            [part for setting in settings for part in setting])


def _set_timeouts(cur, options):
    cur.execute(*_session_settings(cur, options))


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
    capture.execute(*_session_settings(cur, options))
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


def connection_lost_state(conn):
    """True when psycopg2 knows the connection is broken (TRANSACTION_STATUS_UNKNOWN)."""
    return conn.closed or conn.get_transaction_status() == 4


def _end_failed_transaction(conn):
    """ROLLBACK what the failure left open; on a dead connection there is nothing to end, and its own error must
    not replace the one that matters."""
    if conn.closed or connection_lost_state(conn):
        return
    try:
        if conn.get_transaction_status() != 0:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK")
    except psycopg2.Error:
        pass


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
                _end_failed_transaction(conn)
                index = None
                if getattr(exc, "pgcode", None) not in (LOCK_NOT_AVAILABLE, QUERY_CANCELED) and not connection_lost(exc):
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
                _end_failed_transaction(conn)  # the file's own BEGIN may have left a transaction open
                raise _StatementFailed(index, exc, False)
    if write_history:
        with transaction(conn) as cur:
            insert_history(cur, planned.version, planned.name, statements)


def _budget_spent(planned, locks, spent, options):
    """LockUnavailable (or ApplyStopped) for a migration whose locks were not granted within the budget."""
    if spent.stopped:
        return ApplyStopped("stopped before %s while waiting for its locks, nothing of it applied: %s"
                            % (planned.filename, spent.stopped), stopped=spent.stopped, next_file=planned.filename)
    needs = locks.summary() if locks else "its locks"
    if spent.blockers:
        who = "in the way: %s%s" % (describe_session(spent.blockers[0]),
                                    " and %d more session(s)" % (len(spent.blockers) - 1) if len(spent.blockers) > 1
                                    else "")
        advice = "wait for it to end, or end it (pg_terminate_backend(%s)), then run the apply again" % (
            spent.blockers[0].pid if spent.blockers[0].pid is not None
            else "...); COMMIT/ROLLBACK PREPARED '%s'" % spent.blockers[0].prepared_gid)
    else:
        who = "no session was in the way when it gave up (short transactions kept taking the lock first)"
        advice = "raise lock_retry_budget or lock_timeout, or run in a quieter moment"
    return LockUnavailable(
        "migration %s was not applied: %s not granted within the %g s lock budget (%d attempt(s), lock_timeout %g s "
        "each); %s; nothing of it was applied; %s" % (planned.filename, needs, options.lock_retry_budget,
                                                      spent.attempts, options.lock_timeout, who, advice),
        failed_version=planned.version, failed_file=planned.filename, partial=False,
        blocker=describe_session(spent.blockers[0]) if spent.blockers else None)


def _statement_failure(planned, segment, failed, options, partial):
    """ApplyError for a statement that failed (or a connection that died under it), naming file and cause."""
    if failed.index is None:
        where = "statement(s) %s of %d" % (_span(segment["indexes"]), len(planned.statements))
    else:
        where = "statement %d of %d (%s)" % (failed.index, len(planned.statements),
                                             statement_snippet(planned.statements[failed.index - 1]))
    lost = connection_lost(failed.error)
    cause = failure_cause(failed.error, options.statement_timeout)
    if partial:
        state = ("; it is PARTIALLY applied (non-transactional statements ran) and has no history row; fix it and "
                 "complete it by hand, then mark it with migration_repair status=applied")
    else:  # with the connection lost, whether it committed is known only once the history is re-read
        state = "" if lost else "; it was rolled back"
    error = ApplyError("migration %s failed at %s: %s%s" % (planned.filename, where, cause, state),
                       failed_version=planned.version, failed_file=planned.filename, failed_statement=failed.index,
                       partial=partial, connection_lost=lost, cause=cause, failed_error=cause)
    error.pg_error = failed.error  # the caller names a lost connection better once it knows about a restart
    return error


def apply_one(conn, planned, options, log=None, sleep=time.sleep, stop=None):
    """Apply one planned migration; returns ``{version, name, file, duration_ms, attempts}``.

    Each transactional segment runs under ``options.lock_policy()`` (lock_conflicts.attempt_within_budget):
    rolled back and retried when a lock is not granted within ``lock_timeout``, never tried while an old
    transaction is in the way. Raises ApplyError, LockUnavailable naming the blocker, or ApplyStopped when
    ``stop()`` gives a reason while it waits (``partial`` true when a non-transactional part had already run).
    """
    log = log or NullLog()
    started = time.monotonic()
    attempts = 0
    done_non_tx = False
    locks = migration_locks(planned.statements)
    policy = options.lock_policy()
    segments = planned.segments
    for number, segment in enumerate(segments, 1):
        last = number == len(segments)
        if not segment["transactional"]:
            log.write("  %s: running statement(s) %s outside a transaction"
                      % (planned.filename, ", ".join(str(i) for i in segment["indexes"])))
            try:
                _run_segment(conn, planned, segment, options, write_history=last)
            except _StatementFailed as failed:
                raise _statement_failure(planned, segment, failed, options, partial=True)
            attempts += 1
            done_non_tx = True
            continue

        def attempt(segment=segment, last=last):
            try:
                _run_segment(conn, planned, segment, options, write_history=last)
            except _StatementFailed as failed:
                if getattr(failed.error, "pgcode", None) == LOCK_NOT_AVAILABLE:
                    raise LockNotGranted(failed)
                raise
        try:
            conn.autocommit = True  # the checks between attempts run outside any transaction
            with conn.cursor() as cur:
                tries = attempt_within_budget(cur, locks, policy, attempt, log, stop=stop, sleep=sleep,
                                              label=planned.filename)[1]
        except LockBudgetSpent as spent:
            error = _budget_spent(planned, locks, spent, options)
            error.result["partial"] = done_non_tx
            raise error
        except _StatementFailed as failed:
            raise _statement_failure(planned, segment, failed, options, partial=done_non_tx)
        attempts += tries
    return dict(version=planned.version, name=planned.name, file=planned.filename,
                duration_ms=int(round((time.monotonic() - started) * 1000)), attempts=attempts)


def ensure_history(conn):
    with transaction(conn) as cur:
        return ensure_history_table(cur)


def apply_native(conn, planned, options, log, result, stop=None):
    """Apply ``planned`` in order, appending each to ``result["applied"]``; stop at the first failure, and
    before the next migration when ``stop()`` gives a reason (ApplyStopped)."""
    if not planned:
        return
    if ensure_history(conn):
        log.write("created %s" % HISTORY_QUALIFIED)
    for item in planned:
        reason = stop() if stop is not None else None
        if reason:
            raise ApplyStopped("stopped before %s: %s" % (item.filename, reason), stopped=reason,
                               next_file=item.filename)
        log.write("applying %s (%d statement(s)%s)" % (item.filename, len(item.statements),
                                                       "" if item.transactional else ", non-transactional parts"))
        applied = apply_one(conn, item, options, log, stop=stop)
        result["applied"].append(applied)
        log.write("applied %s in %d ms" % (item.filename, applied["duration_ms"]))
