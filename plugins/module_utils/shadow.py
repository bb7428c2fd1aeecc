# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shadow database: a scratch copy of the target's schema where pending migrations are tried first.

Where it lives is an explicit choice (``location``), never a surprise on a production server:

* ``local`` (default): a private PostgreSQL cluster started on the controller for this one run (pg_cluster.py:
  initdb on a free loopback port, a random password, thrown away afterwards). Needs the PostgreSQL server
  binaries of the target's major version or newer on the controller (plus plpgsql_check for ``db lint``).
  The target's roles are created there (NOLOGIN) so ownership, grants and policies restore as they are.
* ``server``: a scratch database ``hotdash_shadow_<random>`` created on a server the user names
  (``server_url``, a role with CREATEDB), dropped afterwards. The server must have the target's roles and
  extensions; what it lacks is reported as restore errors. Refused when it is the target's own server and
  the environment is production.

What is read from the target, read-only: the schema (``pg_dump --schema-only`` with a lock wait timeout), the
migration history, its roles and its effective ``search_path`` (unqualified names in migrations resolve as they
will on the target). Nothing is ever written to the target.

:func:`validate_pending` is the dry run ``supabase db push --dry-run`` does not do: it plans exactly like
migration_apply (same history, same refusals), applies the pending migrations to the shadow with the native
engine, and names the file and statement that would fail. Callers hook checks in before and after the apply
(``supabase db lint`` and ``db advisors`` run there, see db_lint.py).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections import namedtuple

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils import pg_cluster
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import PlannedMigration, plan_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_lock import refuse_transaction_pooler
from ansible_collections.hotdash.supabase.plugins.module_utils.apply_native import apply_one, statement_snippet
from ansible_collections.hotdash.supabase.plugins.module_utils.non_transactional import find_non_transactional, segments_for
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings, connect
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import classify
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option, validate_environment
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import (
    ApplyError,
    DriftError,
    InvalidInput,
    LockUnavailable,
    SupabaseError,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.history import ensure_history_table, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.schema_dump import (
    SHADOW_EXCLUDED_SCHEMAS,
    dump_schema,
    pg_tool,
    read_entries,
    restore_entries,
    server_version,
)

LOCATIONS = ("local", "server")
SHADOW_PREFIX = "hotdash_shadow_"
# The shadow's URL options: new_module(url_options=...) keeps their passwords out of every output.
SHADOW_URL_OPTIONS = ("shadow_server_url",)
# Seconds pg_dump waits for a lock on the target (--lock-wait-timeout) unless the module says otherwise.
DUMP_LOCK_WAIT = 5.0
APPLICATION = "hotdash.supabase shadow"


class ShadowError(SupabaseError):
    """The shadow database could not be created, filled or removed."""


class ShadowOptions(object):
    """Where the shadow lives and how the target is read; see the module docstring."""

    def __init__(self, location="local", server_url=None, environment="local", bin_dir=None, lock_wait_timeout=DUMP_LOCK_WAIT,
                 exclude_schemas=SHADOW_EXCLUDED_SCHEMAS, timeout=600):
        if location not in LOCATIONS:
            raise InvalidInput("shadow must be one of %s, not %r" % (", ".join(LOCATIONS), location))
        if location == "server" and not server_url:
            raise InvalidInput("shadow=server needs shadow_server_url: a server where a scratch database may be "
                               "created and dropped (or use shadow=local)")
        if location == "local" and server_url:
            raise InvalidInput("shadow_server_url is only used with shadow=server; remove it or set shadow=server")
        if lock_wait_timeout is None or lock_wait_timeout <= 0:
            raise InvalidInput("lock_timeout must be positive, not %r" % (lock_wait_timeout,))
        self.location = location
        self.server = ConnectionSettings.from_url(server_url, option="shadow_server_url") if server_url else None
        self.environment = validate_environment(environment)
        self.bin_dir = bin_dir
        self.lock_wait_timeout = float(lock_wait_timeout)
        self.exclude_schemas = list(exclude_schemas)
        self.timeout = timeout

    def secrets(self):
        return self.server.secrets() if self.server else []

    def check_target(self, target):
        """Refuse a shadow server that is the production target's own server (before anything is read)."""
        if self.location == "server" and self.environment == "production" and _same_server(self.server, target):
            raise InvalidInput("refusing to create a shadow database on %s:%d, the production target's own server; "
                               "use shadow=local (a cluster on this controller) or a separate shadow_server_url"
                               % (target.host, target.port))


def shadow_argument_spec(timeouts=True):
    """The options every shadow-building module takes (documented in the hotdash.supabase.shadow fragment).

    ``timeouts=False`` leaves out ``lock_timeout``/``statement_timeout`` (fragment ``shadow.TIMEOUTS``) for a module
    that has its own (migration_apply's dry run).
    """
    spec = dict(
        shadow=dict(type="str", default="local", choices=list(LOCATIONS)),
        shadow_server_url=dict(type="str", no_log=True),
        pg_bin_dir=dict(type="path"),
    )
    if timeouts:
        spec.update(lock_timeout=dict(type="float", default=DUMP_LOCK_WAIT),
                    statement_timeout=dict(type="float", default=300))
    return spec


def shadow_module_argument_spec(**own):
    """The whole spec of a module that builds a shadow and reports checks (migration_shadow_check,
    schema_drift_info): project_dir, environment, severity, the shadow's options, the shared check options
    (fail_on_failed, waivers, error_status) and the module's ``own`` options."""
    spec = dict(
        project_dir=dict(type="path", required=True),
        environment=environment_option(),
        severity=dict(type="str", default="auto", choices=["auto", "warn", "fail"]),
    )
    spec.update(shadow_argument_spec())
    spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    spec.update(own)
    return spec


def shadow_options(params, timeouts=True):
    """ShadowOptions from a module's params (``shadow_argument_spec(timeouts)`` + ``environment``); without the
    shadow's own timeouts (a module whose ``lock_timeout`` means something else) pg_dump waits DUMP_LOCK_WAIT."""
    return ShadowOptions(location=params["shadow"], server_url=params["shadow_server_url"],
                         environment=params["environment"], bin_dir=params["pg_bin_dir"],
                         lock_wait_timeout=params["lock_timeout"] if timeouts else DUMP_LOCK_WAIT)


# --------------------------------------------------------------------------------------------------
# What is read from the target (read-only)
# --------------------------------------------------------------------------------------------------

class TargetSnapshot(namedtuple("TargetSnapshot", ["version_num", "version", "preamble", "entries", "history",
                                                   "history_exists", "roles", "search_path"])):
    """The target as the shadow needs it: version, schema entries, history, roles, effective search_path."""

    __slots__ = ()

    @property
    def major(self):
        return self.version_num // 10000


def snapshot_target(settings, options, workdir):
    """Read the target in one read-only transaction, then ``pg_dump --schema-only`` it; nothing is written."""
    conn = connect(settings, application_name=APPLICATION)
    try:
        conn.set_session(readonly=True, autocommit=False)
        with conn.cursor() as cur:
            version_num, version = server_version(cur)
            cur.execute("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL")
            exists = cur.fetchone()[0]
            history = read_history(cur) if exists else []
            cur.execute("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1")
            roles = [row[0] for row in cur.fetchall()]
            cur.execute("SELECT current_setting('search_path')")
            search_path = cur.fetchone()[0]
        conn.rollback()
    finally:
        conn.close()
    pg_dump = pg_tool("pg_dump", options.bin_dir)
    path = dump_schema(settings, os.path.join(workdir, "target.dump"), pg_dump, options.exclude_schemas,
                       options.lock_wait_timeout, options.timeout)
    preamble, entries = read_entries(path, pg_tool("pg_restore", options.bin_dir), options.timeout)
    return TargetSnapshot(version_num, version, preamble, entries, history, exists, roles, search_path)


# --------------------------------------------------------------------------------------------------
# The shadow itself
# --------------------------------------------------------------------------------------------------

class Shadow(object):
    """An empty scratch database: ``settings`` (a superuser or CREATEDB role on it), where it lives, its version."""

    def __init__(self, location, settings, server_label, version_num, version):
        self.location = location
        self.settings = settings
        self.server_label = server_label
        self.version_num = version_num
        self.version = version

    def describe(self):
        return {"location": self.location, "server": self.server_label, "database": self.settings.dbname,
                "server_version": self.version}


def _same_server(left, right):
    return (str(left.host or "localhost").lower(), left.port) == (str(right.host or "localhost").lower(), right.port)


def _create_database(admin_settings, name):
    conn = connect(admin_settings, application_name=APPLICATION, autocommit=True)
    try:
        with conn.cursor() as cur:
            version_num, version = server_version(cur)
            try:
                cur.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)))
            except Exception as exc:  # pylint: disable=broad-except
                raise ShadowError("cannot create the shadow database %s on %s: %s; the shadow server's role needs "
                                  "CREATEDB" % (name, admin_settings.describe(), str(exc).strip().splitlines()[0]))
    finally:
        conn.close()
    return version_num, version


def _drop_database(admin_settings, name):
    conn = connect(admin_settings, application_name=APPLICATION, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()


@contextlib.contextmanager
def open_shadow(target, options, target_major):
    """Yield an empty :class:`Shadow`, removed (database dropped, cluster stopped) whatever happens."""
    name = SHADOW_PREFIX + secrets.token_hex(5)
    options.check_target(target)
    if options.location == "server":
        admin = options.server
        version_num, version = _create_database(admin, name)
        settings = ConnectionSettings(host=admin.host, port=admin.port, user=admin.user, password=admin.password,
                                      dbname=name, ssl_mode=admin.ssl_mode, connect_timeout=admin.connect_timeout,
                                      options=admin.options)
        shadow = Shadow("server", settings, "%s:%d" % (admin.host, admin.port), version_num, version)
        try:
            _check_major(shadow, target_major)
            yield shadow
        finally:
            _drop_database(admin, name)
        return
    base = tempfile.mkdtemp(prefix="hotdash-shadow-")
    try:
        info = pg_cluster.start(base, secrets.token_urlsafe(24), bin_dir=options.bin_dir)
        admin = ConnectionSettings(host=info["host"], port=info["port"], user=info["user"], password=info["password"],
                                   dbname="postgres", ssl_mode="disable")
        version_num, version = _create_database(admin, name)
        settings = ConnectionSettings(host=admin.host, port=admin.port, user=admin.user, password=admin.password,
                                      dbname=name, ssl_mode="disable")
        shadow = Shadow("local", settings, "local cluster 127.0.0.1:%d" % info["port"], version_num, version)
        _check_major(shadow, target_major)
        yield shadow
    except pg_cluster.ClusterError as exc:
        raise ShadowError("cannot start the local shadow cluster: %s; install the PostgreSQL server (make setup "
                          "does), set pg_bin_dir, or use shadow=server" % exc)
    finally:
        pg_cluster.stop(base, bin_dir=options.bin_dir)
        shutil.rmtree(base, ignore_errors=True)


def _check_major(shadow, target_major):
    if shadow.version_num // 10000 < target_major:
        raise ShadowError("the shadow server (%s) runs PostgreSQL %s, older than the target's %d: a schema dump "
                          "restores only into the same major version or a newer one; install PostgreSQL %d server "
                          "binaries (pg_bin_dir) or name a newer shadow_server_url"
                          % (shadow.server_label, shadow.version, target_major, target_major))


def fill_shadow(shadow, snapshot, entries=None):
    """Prepare the shadow like the target (roles when local, search_path) and restore ``entries`` (default all).

    Returns the entries that could not be restored, ``[{object, type, schema, error}]``.
    """
    conn = connect(shadow.settings, application_name=APPLICATION, autocommit=True)
    try:
        with conn.cursor() as cur:
            if shadow.location == "local":
                cur.execute("SELECT rolname FROM pg_roles")
                present = set(row[0] for row in cur.fetchall())
                for role in snapshot.roles:
                    if role not in present:
                        cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            # ALTER DATABASE ... FROM CURRENT takes the value set_config parsed: no SQL is built from it.
            cur.execute("SELECT set_config('search_path', %s, false)", (snapshot.search_path,))
            cur.execute(sql.SQL("ALTER DATABASE {} SET search_path FROM CURRENT").format(
                sql.Identifier(shadow.settings.dbname)))
        failed = restore_entries(conn, snapshot.preamble, snapshot.entries if entries is None else entries)
    finally:
        conn.close()
    return failed


# --------------------------------------------------------------------------------------------------
# Applying migrations to the shadow
# --------------------------------------------------------------------------------------------------

def planned_migrations(migrations):
    """PlannedMigration objects for migrations chosen outside plan_apply (every local file, the applied ones)."""
    planned = []
    for migration in migrations:
        statements = migration.statements()
        findings = find_non_transactional(statements)
        planned.append(PlannedMigration(migration, statements, findings, segments_for(statements, findings)))
    return planned


def failure_of(item, exc):
    """What a failed shadow apply says about the file: version, file, statement number and text, error."""
    index = exc.result.get("failed_statement")
    return {"version": item.version, "file": item.filename, "statement": index, "statements": len(item.statements),
            "statement_text": statement_snippet(item.statements[index - 1]) if index else None,
            "error": exc.result.get("failed_error") or str(exc)}


def apply_to_shadow(shadow, planned, apply_options, stop_at_failure=True):
    """Apply ``planned`` to the shadow with the native engine: ``(applied, failures)``; the shadow only."""
    conn = connect(shadow.settings, application_name=APPLICATION)
    applied, failures = [], []
    try:
        conn.autocommit = False
        with conn.cursor() as cur:
            ensure_history_table(cur)
        conn.commit()
        for item in planned:
            try:
                applied.append(apply_one(conn, item, apply_options, sleep=lambda seconds: None))
            except (ApplyError, LockUnavailable) as exc:
                failures.append(failure_of(item, exc))
                if conn.get_transaction_status() != 0:
                    conn.rollback()
                if stop_at_failure:
                    break
    finally:
        conn.close()
    return applied, failures


def failure_message(failure, target_label):
    statement = ""
    if failure["statement"]:
        statement = " at statement %d of %d (%s)" % (failure["statement"], failure["statements"],
                                                     failure["statement_text"])
    return ("dry run on a shadow copy of %s: migration %s would fail%s: %s; nothing was changed on the target"
            % (target_label, failure["file"], statement, failure["error"]))


def validate_pending(settings, project_dir, apply_options, options, before=None, after=None):
    """The dry run: plan like migration_apply, copy the target's schema to a shadow, apply the plan there.

    ``before(shadow)`` and ``after(shadow)`` are called around the apply (their results are returned as
    ``before``/``after``); ``after`` runs only when every migration applied. Returns a dict: ``plan``
    (files), ``shadow`` (where, version), ``restore_errors``, ``applied``, ``failed`` (None or the file,
    statement and error), ``not_reached``, ``refused`` (migration_apply's refusal to plan, e.g. remote-only
    versions; then nothing is tried), ``duration_ms``.
    """
    started = time.monotonic()
    local = load_directory(project_dir)
    refuse_transaction_pooler(settings)
    options.check_target(settings)
    workdir = tempfile.mkdtemp(prefix="hotdash-shadow-dump-")
    try:
        snapshot = snapshot_target(settings, options, workdir)
        report = classify(local, snapshot.history, history_table_exists=snapshot.history_exists)
        result = {"plan": [], "shadow": None, "restore_errors": [], "applied": [], "failed": None,
                  "not_reached": [], "before": None, "after": None, "refused": None}
        try:
            planned = plan_apply(local, report, apply_options)
        except (DriftError, InvalidInput) as exc:
            if isinstance(exc, InvalidInput) and "non_transactional" not in exc.result:
                raise
            # What migration_apply itself would refuse: reported, not tried.
            result["refused"] = str(exc)
            planned = []
        result["plan"] = [item.filename for item in planned]
        if not planned:
            result["duration_ms"] = int((time.monotonic() - started) * 1000)
            return result
        with open_shadow(settings, options, snapshot.major) as shadow:
            result["shadow"] = shadow.describe()
            result["restore_errors"] = fill_shadow(shadow, snapshot)
            if before is not None:
                result["before"] = before(shadow)
            applied, failures = apply_to_shadow(shadow, planned, apply_options)
            result["applied"] = applied
            if failures:
                result["failed"] = failures[0]
                done = set(item["file"] for item in applied) | set([failures[0]["file"]])
                result["not_reached"] = [item.filename for item in planned if item.filename not in done]
            elif after is not None:
                result["after"] = after(shadow)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["duration_ms"] = int((time.monotonic() - started) * 1000)
    return result
