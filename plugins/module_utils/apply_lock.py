# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One apply at a time per database: Supabase's transaction pooler refused, a session advisory lock taken.

migration_apply and migration_repair take the same lock, with a bounded wait, so two runners never change
the history of one database at once; the error names the session that holds it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyStopped, InvalidInput, LockUnavailable

# One lock per database for every hotdash.supabase runner ("hotd" "aply").
ADVISORY_LOCK_KEY = 0x686F7464 << 32 | 0x61706C79


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


def acquire_apply_lock(conn, wait_seconds, log=None, poll=0.2, stop=None):
    """Take the session advisory lock, waiting at most ``wait_seconds``; LockUnavailable after that, or as soon
    as ``stop()`` gives a reason (the run is gone: nothing should start)."""
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
            reason = stop() if stop is not None else None
            if reason:
                raise ApplyStopped("stopped while waiting for the apply lock, before anything ran: %s" % reason,
                                   stopped=reason)
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
