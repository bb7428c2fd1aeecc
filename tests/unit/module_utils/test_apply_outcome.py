"""Unit tests of how a failed apply names its cause and what committed (no database)."""
from collections import namedtuple

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_outcome import (
    committed,
    connection_lost,
    failure_cause,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow


class FakeDiag(object):
    def __init__(self, primary):
        self.message_primary = primary


class FakePgError(Exception):
    def __init__(self, text, pgcode=None, primary=None):
        super(FakePgError, self).__init__(text)
        self.pgcode = pgcode
        self.diag = FakeDiag(primary)


@pytest.mark.parametrize("error,expected", [
    (FakePgError("FATAL: terminating connection due to administrator command\nserver closed the connection "
                 "unexpectedly", "57P01", "terminating connection due to administrator command"),
     "the connection to the server was lost (terminating connection due to administrator command): the session was "
     "ended, the server restarted or crashed, or the network failed"),
    (FakePgError("x", "57014", "canceling statement due to user request"),
     "canceled by another session (pg_cancel_backend) or an interrupt of the apply"),
    (FakePgError("x", "57014", "canceling statement due to statement timeout"), "canceled by statement_timeout (300 s)"),
    (FakePgError("x", "40P01", "deadlock detected"),
     "deadlock with another session: the server canceled the migration to break it (deadlock detected)"),
    (FakePgError("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally"),
     "the connection to the server was lost (server closed the connection unexpectedly): the session was ended, "
     "the server restarted or crashed, or the network failed"),
    (FakePgError("x", "42P01", 'relation "nope" does not exist'), 'relation "nope" does not exist (SQLSTATE 42P01)'),
])
def test_failure_cause_in_words(error, expected):
    assert failure_cause(error, statement_timeout=300) == expected


def test_a_lost_connection_is_named_for_what_happened_when_known():
    lost = FakePgError("server closed the connection unexpectedly")
    assert failure_cause(lost, restarted=True) == ("the server restarted during the apply (server closed the "
                                                   "connection unexpectedly)")
    assert failure_cause(lost, restarted=False).startswith(
        "the apply's session was ended while the server stayed up (server closed the connection unexpectedly): "
        "pg_terminate_backend from another session")


def test_connection_lost_is_not_any_error():
    assert connection_lost(FakePgError("x", "57P01", "terminating connection due to administrator command"))
    assert connection_lost(FakePgError("SSL SYSCALL error: EOF detected"))
    assert not connection_lost(FakePgError("x", "57014", "canceling statement due to user request"))
    assert not connection_lost(FakePgError('syntax error at or near "x"', "42601", 'syntax error at or near "x"'))


Planned = namedtuple("Planned", ["version", "name", "filename"])


def test_committed_is_what_the_history_holds_in_plan_order():
    planned = [Planned("3", "c", "3_c.sql"), Planned("4", "d", "4_d.sql"), Planned("5", "e", "5_e.sql")]
    rows = [HistoryRow(v, n, []) for v, n in [("1", "a"), ("2", "b"), ("4", "d"), ("3", "c")]]
    known = [dict(version="3", name="c", file="3_c.sql", duration_ms=12, attempts=2)]
    assert committed(planned, {"1", "2"}, rows, known) == [
        known[0], dict(version="4", name="d", file="4_d.sql", duration_ms=None, attempts=None)]
    # An entry the engine believed in but the history does not hold is not reported as applied.
    assert committed(planned, {"1", "2"}, rows[:2], known) == []
