# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The native apply engine: each migration and its history row in one transaction, through psycopg2.

A transactional unit of work goes to the server as one simple-protocol batch (``BEGIN``; timeouts; the
statements; the history row; ``COMMIT``), so a migration costs one round trip. A lock not granted within
``lock_timeout`` rolls the unit back and retries it with backoff; any other failure stops the run, and a
replay inside a rolled-back transaction names the statement that failed. Statements that cannot run in a
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

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import transaction
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError, LockUnavailable
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HISTORY_QUALIFIED, ensure_history_table, insert_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import clip
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import LOCK_NOT_AVAILABLE, QUERY_CANCELED, error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.progress_log import NullLog


def statement_snippet(statement, limit=80):
    """A statement on one line for a message: comment lines left out, clipped to ``limit`` characters."""
    lines = [line.strip() for line in statement.splitlines() if line.strip() and not line.strip().startswith("--")]
    return clip(" ".join(lines) or statement, limit)


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
        with transaction(conn) as cur:
            insert_history(cur, planned.version, planned.name, statements)


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
                                                         statement_snippet(planned.statements[failed.index - 1]))
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
                    reason = error_line(failed.error)
                raise ApplyError("migration %s failed at %s: %s; %s" % (planned.filename, where, reason, state),
                                 failed_version=planned.version, failed_file=planned.filename,
                                 failed_statement=failed.index, partial=partial, failed_error=reason)
    return dict(version=planned.version, name=planned.name, file=planned.filename,
                duration_ms=int(round((time.monotonic() - started) * 1000)), attempts=attempts)


def ensure_history(conn):
    with transaction(conn) as cur:
        return ensure_history_table(cur)


def apply_native(conn, planned, options, log, result):
    """Apply ``planned`` in order, appending each to ``result["applied"]``; stop at the first failure."""
    if not planned:
        return
    if ensure_history(conn):
        log.write("created %s" % HISTORY_QUALIFIED)
    for item in planned:
        log.write("applying %s (%d statement(s)%s)" % (item.filename, len(item.statements),
                                                       "" if item.transactional else ", non-transactional parts"))
        applied = apply_one(conn, item, options, log)
        result["applied"].append(applied)
        log.write("applied %s in %d ms" % (item.filename, applied["duration_ms"]))
