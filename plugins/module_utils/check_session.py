# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transaction discipline of every verify-phase check.

Every check runs in its own transaction that is always rolled back. What a check sends is decided before
anything runs by ``sql_guard`` (PostgreSQL's own parser): exactly one statement of an allowed kind, sent
alone. Read checks start with ``SET TRANSACTION READ ONLY``; only a declared smoke write runs ``READ
WRITE``, and it is rolled back as well. Each transaction sets ``standard_conforming_strings`` on, so the
server reads quotes the way the guard's parser did, and ``statement_timeout`` (seconds). A check's role,
claims and settings are validated with it (:func:`request_context`): a setting that would switch the role
or the read-only mode is refused like the ``SET`` of it. SQL errors and missing tables become report
checks (``report.make_check``), never exceptions.

Every transaction also carries the setting ``hotdash.since``, the start of the window a time-windowed check
measures (``current_setting('hotdash.since')::timestamptz``): the moment the apply started (``since``), the
last ``window`` seconds on the server's clock, or ``-infinity`` (every row) when neither is given.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
import time

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib first
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import READ_ONLY_VIOLATION, error_line, missing_relation
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import SAME_QUOTING_SQL, guard_setting_name
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import elapsed_ms, iso_precise, parse_timestamp

MISSING_TABLE_CHOICES = ("skip", "fail")
SEVERITIES = ("fail", "warn")
DEFAULT_STATEMENT_TIMEOUT = 30.0


def missing_table_check(name, tables, on_missing_table, duration_ms=None):
    """The check for a query that refers to tables that do not exist, per ``on_missing_table``."""
    listed = ", ".join(tables)
    if on_missing_table == "fail":
        return make_check(name, "fail", "table missing: %s" % listed,
                          "create the table with a migration, or set on_missing_table: skip while it is a known gap",
                          duration_ms=duration_ms)
    return make_check(name, "skipped", "table missing: %s" % listed, duration_ms=duration_ms)


def resolve_since(conn, since=None, window=None):
    """The text ``hotdash.since`` holds: ``since`` (ISO 8601 or Unix seconds), ``window`` seconds before the
    server's now, or ``-infinity``."""
    if since not in (None, "") and window is not None:
        raise InvalidInput("give since (the moment the apply started) or window (seconds before now), not both")
    if window is not None:
        if float(window) < 0:
            raise InvalidInput("window must be 0 or more seconds, not %s" % window)
        with conn.cursor() as cur:
            cur.execute("SELECT now() - make_interval(secs => %s)", (float(window),))
            moment = cur.fetchone()[0]
        conn.rollback()
        return iso_precise(moment)
    if since not in (None, ""):
        return iso_precise(parse_timestamp(since, name="since", allow_unix=True))
    return "-infinity"


def validate_choice(value, choices, option):
    if value not in choices:
        raise InvalidInput("%s must be one of %s, got %r" % (option, ", ".join(choices), value))
    return value


def refuse_unknown_keys(spec, allowed, what):
    """InvalidInput naming the first key of ``spec`` not in ``allowed``, and every allowed key; else ``spec``."""
    unknown = sorted(k for k in spec if k not in allowed)
    if unknown:
        raise InvalidInput("%s has unknown key %r; allowed: %s" % (what, unknown[0], ", ".join(sorted(allowed))))
    return spec


def request_context(spec, what, default_role=None):
    """``{role, settings, claims}`` of a check definition, validated: the request a check runs as.

    ``settings`` (GUCs set with ``set_config``) may not name what the check's role and read-only transaction
    depend on (``role``, ``session_authorization``, the read-only settings, ...): refused by name.
    """
    role = spec.get("role", default_role)
    if role is not None and not isinstance(role, str):
        raise InvalidInput("%s: role must be a role name, got %r" % (what, role))
    settings = spec.get("settings") or {}
    if not isinstance(settings, dict):
        raise InvalidInput("%s: settings must be a dict of setting: value" % what)
    for key in settings:
        guard_setting_name(key, what)
    claims = spec.get("claims")
    if claims is not None and not isinstance(claims, dict):
        raise InvalidInput("%s: claims must be a dict (the JWT claims)" % what)
    return {"role": role or None, "settings": settings, "claims": claims}


class CheckSession(object):
    """One connection for a batch of checks: read-only by default, every transaction rolled back."""

    def __init__(self, conn, statement_timeout=DEFAULT_STATEMENT_TIMEOUT, on_missing_table="skip", since=None,
                 window=None):
        self.conn = conn
        self.statement_timeout = float(statement_timeout or 0)
        self.on_missing_table = validate_choice(on_missing_table, MISSING_TABLE_CHOICES, "on_missing_table")
        # Transaction-level only (no session default): through Supabase's transaction pooler a session setting
        # would leak to other clients. A COMMIT smuggled into a check is refused by sql_guard before it runs.
        conn.autocommit = False
        self.since = resolve_since(conn, since, window)

    @classmethod
    @contextlib.contextmanager
    def opened(cls, settings, application_name, statement_timeout=DEFAULT_STATEMENT_TIMEOUT,
               on_missing_table="skip", since=None, window=None):
        """A session on a new connection to ``settings`` (a ConnectionSettings), closed when the block ends."""
        conn = connect(settings, application_name=application_name)
        try:
            yield cls(conn, statement_timeout, on_missing_table, since, window)
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self, read_only=True, role=None, settings=None, claims=None):
        """A transaction that is always rolled back; ``role``/``settings``/``claims`` as a request would set them."""
        cur = self.conn.cursor()
        try:
            cur.execute("SET TRANSACTION READ ONLY" if read_only else "SET TRANSACTION READ WRITE")
            cur.execute(SAME_QUOTING_SQL)
            if self.statement_timeout:
                cur.execute("SELECT set_config('statement_timeout', %s, true)",
                            ("%dms" % max(int(round(self.statement_timeout * 1000)), 1),))
            cur.execute("SELECT set_config('hotdash.since', %s, true)", (self.since,))
            apply_request_context(cur, role=role, settings=settings, claims=claims)
            yield cur
        finally:
            try:
                cur.close()
            finally:
                self.conn.rollback()

    def missing_tables(self, tables):
        """Which of ``tables`` (``name`` or ``schema.name``, resolved like a query would) do not exist."""
        if not tables:
            return []
        with self.transaction() as cur:
            cur.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL", (list(tables),))
            return [row[0] for row in cur.fetchall()]

    def run(self, name, body, tables=(), read_only=True, role=None, settings=None, claims=None, on_error=None):
        """Run ``body(cur) -> check`` in a rolled-back transaction; map SQL errors and missing tables to checks."""
        started = time.monotonic()
        try:
            missing = self.missing_tables(tables)
            if missing:
                return missing_table_check(name, missing, self.on_missing_table, elapsed_ms(started))
            with self.transaction(read_only=read_only, role=role, settings=settings, claims=claims) as cur:
                check = body(cur)
        except psycopg2.Error as exc:
            relation = missing_relation(exc)
            if relation:
                return missing_table_check(name, [relation], self.on_missing_table, elapsed_ms(started))
            if on_error is not None:
                handled = on_error(exc, elapsed_ms(started))
                if handled is not None:
                    return handled
            remedy = ""
            if getattr(exc, "pgcode", None) == READ_ONLY_VIOLATION:
                remedy = "checks run read-only; a write belongs in a smoke write (always rolled back)"
            return make_check(name, "fail", error_line(exc), remedy, duration_ms=elapsed_ms(started))
        check.setdefault("duration_ms", None)
        if check["duration_ms"] is None:
            check["duration_ms"] = int(round(elapsed_ms(started)))
        return check


def apply_request_context(cur, role=None, settings=None, claims=None):
    """Set GUCs (``app.current_project``), Supabase's ``request.jwt.claims`` and ``SET LOCAL ROLE``, in that order."""
    for key in settings or {}:
        guard_setting_name(key, "settings")  # request_context() refused it earlier with the check's name
    for key, value in sorted((settings or {}).items()):
        cur.execute("SELECT set_config(%s, %s, true)", (str(key), "" if value is None else _guc_text(value)))
    if claims is not None or role in ("anon", "authenticated", "service_role"):
        merged = dict(claims or {})
        if role and "role" not in merged:
            merged["role"] = role
        cur.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(merged, sort_keys=True),))
    if role:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


def _guc_text(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)
