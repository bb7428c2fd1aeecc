"""PostgreSQL errors on one line."""
from ansible_collections.hotdash.supabase.plugins.module_utils import pg_errors


class Diag(object):
    def __init__(self, primary=None, hint=None):
        self.message_primary = primary
        self.message_hint = hint


class PgError(Exception):
    def __init__(self, text, pgcode=None, primary=None, hint=None):
        super(PgError, self).__init__(text)
        self.pgcode = pgcode
        self.diag = Diag(primary, hint)


def test_error_line_is_the_primary_message_sqlstate_and_hint():
    exc = PgError('ERROR:  relation "facts" does not exist\nLINE 1: select * from facts', "42P01",
                  'relation "facts" does not exist', "Perhaps you meant\n  to reference a view.")
    assert pg_errors.error_line(exc) == ('relation "facts" does not exist (SQLSTATE 42P01); hint: Perhaps you meant '
                                         'to reference a view.')
    assert pg_errors.error_line(PgError("ERROR:  boom\ncontext")) == "boom"
    assert pg_errors.first_line(ValueError("")) == "ValueError"


def test_missing_relation_only_for_undefined_tables():
    assert pg_errors.missing_relation(PgError("x", "42P01", 'relation "app.facts" does not exist')) == "app.facts"
    assert pg_errors.missing_relation(PgError("x", "42P01", "something else")) == "?"
    assert pg_errors.missing_relation(PgError("x", "42883", "function f() does not exist")) is None


def test_connection_failure_drops_the_libpq_prefix():
    exc = Exception('connection to server at "127.0.0.1" (127.0.0.1), port 1 failed: Connection refused\n\tIs it up?')
    assert pg_errors.connection_failure(exc) == "Connection refused"
