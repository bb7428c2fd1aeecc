"""Test harness shared by unit and integration tests.

- Puts the collection on sys.path as ``ansible_collections.hotdash.supabase`` (through tools/throwaway_pg.py).
- ``pg_cluster``: one throwaway PostgreSQL cluster per pytest worker (initdb/pg_ctl on a free loopback
  port, pg_stat_statements preloaded), with a template database shaped like hosted Supabase.
- ``make_db`` / ``db``: a fresh Supabase-shaped database per test (CREATE DATABASE ... TEMPLATE).
- ``own_cluster_db``: a database in a cluster of its own, for tests that restart the server.
- ``hotdash``: ``db`` with the example project's migrations and seed loaded (the runbook's schema and data).
- ``supabase_cli``: the real, pinned Supabase CLI binary.
- ``run_module``: run one of the collection's modules in-process, the way Ansible would, and return
  its result dict (``failed`` and ``msg`` included on failure).
- ``by_name``: ``by_name(result)`` is ``{check name: check}`` of a module result's ``checks``.
- ``make_pgbouncer`` / ``pgbouncer``: a real PgBouncer (Debian's binary, tools/throwaway_pgbouncer.py) in front of
  ``pg_cluster`` on a free loopback port, transaction mode by default, with an admin console user; a ``Pooler``
  with ``.url(db, user=None, password=None)``, ``.admin_url``, ``.show("POOLS")`` (rows as dicts) and
  ``.pool(db, user)`` (its SHOW POOLS row). Stopped at teardown.
- ``wait_for``: ``wait_for(predicate, timeout=10)`` polls until ``predicate()`` returns something true and
  returns it, or fails the test (for states another thread or process reaches, never for speed).
"""
import contextlib
import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import throwaway_pg  # noqa: E402  (tools/throwaway_pg.py; it also puts the collection on sys.path)
import throwaway_pgbouncer  # noqa: E402  (tools/throwaway_pgbouncer.py)

TEMPLATE_DB = "supabase_shaped_template"
EXAMPLE = os.path.join(ROOT, "examples", "hotdash")
SUPABASE_CLI = os.environ.get("SUPABASE_CLI") or os.path.join(
    ROOT, "tools", "supabase-cli", "node_modules", ".bin", "supabase")


class Database(object):
    """A throwaway database: its URL, settings for the engine, and small helpers for assertions."""

    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.host = cluster["host"]
        self.port = cluster["port"]
        self.user = cluster["user"]
        self.password = cluster["password"]
        self.url = "postgresql://%s:%s@%s:%d/%s?sslmode=disable" % (
            self.user, self.password, self.host, self.port, name)

    def settings(self, **overrides):
        from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
        settings = ConnectionSettings.from_url(self.url)
        for key, value in overrides.items():
            setattr(settings, key, value)
        return settings

    def connection_args(self):
        """Module arguments for the shared connection spec."""
        return {"db_url": self.url}

    def connect(self, autocommit=True):
        import psycopg2
        conn = psycopg2.connect(self.url)
        conn.autocommit = autocommit
        return conn

    def query(self, sql, params=None):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else None
        finally:
            conn.close()

    def scalar(self, sql, params=None):
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def execute(self, sql, params=None):
        self.query(sql, params)

    def history(self):
        """Rows of the CLI's history table as {version: (name, statements)}; {} when it does not exist."""
        if not self.scalar("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL"):
            return {}
        return {row[0]: (row[1], list(row[2] or [])) for row in
                self.query("SELECT version, name, statements FROM supabase_migrations.schema_migrations")}

    def table_exists(self, qualified):
        return bool(self.scalar("SELECT to_regclass(%s) IS NOT NULL", (qualified,)))

    def schema_fingerprint(self):
        """A cheap summary of user-visible schema state, to assert that nothing changed."""
        return self.query(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2")


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """One throwaway cluster per worker, with a Supabase-shaped template database."""
    base = tempfile.mkdtemp(prefix="hotdash-pg-")
    try:
        info = throwaway_pg.start(base)
        throwaway_pg.wait_ready(info)
        throwaway_pg.shape(info, TEMPLATE_DB)
        yield info
    finally:
        throwaway_pg.stop(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_db(pg_cluster):
    """Factory: a fresh Supabase-shaped database; dropped after the test."""
    created = []

    def factory(prefix="t"):
        name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
        throwaway_pg.shape(pg_cluster, name, template=TEMPLATE_DB)
        created.append(name)
        return Database(pg_cluster, name)

    yield factory
    for name in created:
        try:
            throwaway_pg.psql(pg_cluster, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        except SystemExit:
            pass


@pytest.fixture
def db(make_db):
    return make_db()


@pytest.fixture
def own_cluster_db():
    """A Supabase-shaped database in a cluster of its own, for tests that restart or stop the server
    (``db.cluster`` describes the cluster); stopped after the test."""
    base = tempfile.mkdtemp(prefix="hotdash-own-pg-")
    try:
        info = throwaway_pg.start(base)
        throwaway_pg.wait_ready(info)
        throwaway_pg.shape(info, "own")
        yield Database(info, "own")
    finally:
        throwaway_pg.stop(base)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def hotdash(db):
    """``db`` with examples/hotdash's migrations (loaded as plain SQL, no history rows) and seed."""
    for path in sorted(glob.glob(os.path.join(EXAMPLE, "supabase", "migrations", "*.sql"))):
        with open(path) as handle:
            db.execute(handle.read())
    with open(os.path.join(EXAMPLE, "supabase", "seed.sql")) as handle:
        db.execute(handle.read())
    return db


@pytest.fixture(scope="session")
def supabase_cli():
    """Path of the real, pinned Supabase CLI; the suite fails (not skips) when it is missing."""
    if not os.access(SUPABASE_CLI, os.X_OK):
        pytest.fail("Supabase CLI not found at %s: run make setup" % SUPABASE_CLI)
    return SUPABASE_CLI


def run_cli(cli, args, cwd, check=True, timeout=300):
    """Run the Supabase CLI; returns CompletedProcess with text stdout/stderr."""
    env = dict(os.environ, SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")
    proc = subprocess.run([cli] + list(args), cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("supabase %s failed (%d): %s %s" % (
            " ".join(args[:2]), proc.returncode, proc.stdout, proc.stderr))
    return proc


@pytest.fixture
def cli_runner(supabase_cli):
    def runner(args, cwd, check=True):
        return run_cli(supabase_cli, args, cwd, check=check)
    return runner


@pytest.fixture
def project(tmp_path):
    """An empty Supabase project directory: <tmp>/supabase/migrations."""
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    return tmp_path


class ModuleExit(Exception):
    pass


def _run_module(name, args, check_mode=False, diff=False):
    import importlib
    from ansible.module_utils.testing import patch_module_args

    full = dict(args)
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    module = importlib.import_module("ansible_collections.hotdash.supabase.plugins.modules.%s" % name)
    out = io.StringIO()
    with patch_module_args(full), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit:
            pass
    text = out.getvalue().strip()
    try:
        return json.loads(text.splitlines()[-1] if text.startswith("{") is False else text)
    except ValueError:
        raise AssertionError("module %s printed no JSON result: %r" % (name, text[-2000:]))


@pytest.fixture
def run_module():
    """run_module(name, args, check_mode=False, diff=False) -> result dict of the module."""
    return _run_module


def _checks_by_name(result):
    return dict((c["name"], c) for c in result["checks"])


@pytest.fixture
def by_name():
    """by_name(result) -> {check name: check} of a module result."""
    return _checks_by_name


class Pooler(object):
    """A running throwaway PgBouncer: URLs through it and its admin console."""

    def __init__(self, info):
        self.info = info
        self.host = info["host"]
        self.port = info["port"]
        self.pool_mode = info["pool_mode"]
        self.pool_size = info["default_pool_size"]
        self.admin_url = info["admin_url"]
        self.stopped = False

    def url(self, database="postgres", user=None, password=None):
        """URL of ``database`` (a ``Database`` or a name) through the pooler; the superuser unless ``user``."""
        name = getattr(database, "name", database)
        return throwaway_pgbouncer.url(self.info, name, user, password)

    def show(self, what):
        """``SHOW <what>`` on the admin console, rows as dicts (column name -> value)."""
        import psycopg2
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True  # the admin console speaks no transactions
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW %s" % what)
                names = [column[0] for column in cur.description]
                return [dict(zip(names, row)) for row in cur.fetchall()]
        finally:
            conn.close()

    def pool(self, database, user=None):
        """The SHOW POOLS row of ``database`` for ``user`` (the superuser by default), or None."""
        name = getattr(database, "name", database)
        user = user or self.info["cluster_user"]
        rows = [r for r in self.show("POOLS") if r["database"] == name and r["user"] == user]
        return rows[0] if rows else None

    def stop(self):
        if not self.stopped:
            self.stopped = True
            throwaway_pgbouncer.stop_pooler(self.info)


@pytest.fixture
def make_pgbouncer(pg_cluster):
    """Factory: ``make_pgbouncer(pool_size=2, pool_mode="transaction", max_client_conn=100, query_wait_timeout=120,
    extra=None)`` starts a PgBouncer in front of ``pg_cluster`` and returns a ``Pooler``; all stopped at teardown."""
    started = []

    def factory(pool_size=2, pool_mode="transaction", max_client_conn=100, query_wait_timeout=120, extra=None):
        base = tempfile.mkdtemp(prefix="hotdash-pgbouncer-")
        info = throwaway_pgbouncer.start(base, pg_cluster, pool_mode=pool_mode, pool_size=pool_size,
                                         max_client_conn=max_client_conn, query_wait_timeout=query_wait_timeout,
                                         extra=extra)
        started.append(Pooler(info))
        return started[-1]

    yield factory
    for pooler in started:
        pooler.stop()


@pytest.fixture
def pgbouncer(make_pgbouncer):
    """A PgBouncer in transaction mode (pool size 2) in front of ``pg_cluster``; see ``make_pgbouncer``."""
    return make_pgbouncer()


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached within %.0f s" % timeout)


@pytest.fixture
def wait_for():
    """wait_for(predicate, timeout=10) -> the first true value of predicate(); fails the test after timeout."""
    return _wait_for
