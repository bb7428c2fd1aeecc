"""Start and stop throwaway PostgreSQL clusters on free loopback ports.

Used by the test harness (tests/conftest.py), the Molecule create/destroy playbooks and
`make demo`. A cluster lives in one directory; `start` prints a JSON description
({"port", "host", "user", "password", "datadir", "url"}) and `stop` ends it.

  python3 tools/throwaway_pg.py start DIR [--port N] [--shape-db NAME ...]
  python3 tools/throwaway_pg.py shape DIR --db NAME     # create NAME with the Supabase shape
  python3 tools/throwaway_pg.py stop DIR
  PGPASSWORD=... python3 tools/throwaway_pg.py attach --port N [--shape-db NAME ...]

`attach` does for a server started elsewhere (the Molecule scenarios' PostgreSQL container, published on
127.0.0.1:N, superuser `postgres`) what `start` does once its cluster runs: wait until the server accepts the
superuser's password (PGPASSWORD, never argv), shape the databases, print the same description (datadir null).

The cluster is started by the collection's engine (plugins/module_utils/pg_cluster.py, which the shadow
database also uses); this file adds the fixed test password, cluster.json, the Supabase shape and psql.
PostgreSQL refuses to run as root, so when this runs as root the server runs as the
`postgres` system user (created by Debian's postgresql package).
"""
import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPE_SQL = os.path.join(HERE, "supabase_shape.sql")
# Throwaway clusters only: a fixed, documented password so tests can also prove that a wrong one fails.
PASSWORD = "postgres"


def collection_on_path():
    """Make ``ansible_collections.hotdash.supabase`` importable from this checkout (make setup links it)."""
    collections = os.path.join(ROOT, ".build", "collections")
    link = os.path.join(collections, "ansible_collections", "hotdash", "supabase")
    if not os.path.isdir(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)
    if collections not in sys.path:
        sys.path.insert(0, collections)


collection_on_path()
from ansible_collections.hotdash.supabase.plugins.module_utils import pg_cluster  # noqa: E402

SUPERUSER = pg_cluster.SUPERUSER
pg_bindir = pg_cluster.pg_bindir
free_port = pg_cluster.free_port
server_dir = pg_cluster.server_dir
_as_server_user = pg_cluster.as_server_user
_chown_for_server = pg_cluster.chown_for_server


def _run(argv, **kwargs):
    try:
        return pg_cluster.run(argv, **kwargs)
    except pg_cluster.ClusterError as exc:
        raise SystemExit(str(exc))


def describe(datadir, port, password=PASSWORD):
    return pg_cluster.describe(datadir, port, password)


def start(base, port=None, extra_conf=None):
    """Create (if needed) and start a cluster under `base`; return its description (also in base/cluster.json)."""
    # Prepared transactions hold their locks with no session behind them: tests of who blocks an apply use one.
    conf = {"max_prepared_transactions": "8"}
    conf.update(extra_conf or {})
    try:
        info = pg_cluster.start(base, PASSWORD, port=port, extra_conf=conf)
    except pg_cluster.ClusterError as exc:
        raise SystemExit(str(exc))
    with open(os.path.join(os.path.abspath(base), "cluster.json"), "w") as handle:
        json.dump(info, handle)
    return info


def stop(base, remove=True):
    pg_cluster.stop(base, remove=remove)


def psql(info, dbname, sql=None, file=None):
    argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", info["host"], "-p", str(info["port"]),
            "-U", info["user"], "-d", dbname]
    argv += ["-f", file] if file else ["-c", sql]
    env = dict(os.environ, PGPASSWORD=info["password"], PGSSLMODE="disable")
    return _run(argv, env=env)


def shape(info, dbname, template=None):
    """Create database `dbname` shaped like a hosted Supabase database (roles, auth, extensions)."""
    psql(info, "postgres", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname)
    if template:
        psql(info, "postgres", 'CREATE DATABASE "%s" TEMPLATE "%s"' % (dbname, template))
    else:
        psql(info, "postgres", 'CREATE DATABASE "%s"' % dbname)
        psql(info, dbname, file=SHAPE_SQL)
    # Database-level settings are not copied from a template.
    psql(info, "postgres", 'ALTER DATABASE "%s" SET search_path TO "$user", public, extensions' % dbname)
    return dict(info, url=info["url"].replace("/postgres?", "/%s?" % dbname), dbname=dbname)


def wait_ready(info, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            psql(info, "postgres", "SELECT 1")
            return
        except SystemExit:
            time.sleep(0.2)
    raise SystemExit("PostgreSQL on port %s did not become ready" % info["port"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start")
    p_start.add_argument("dir")
    p_start.add_argument("--port", type=int)
    p_start.add_argument("--shape-db", action="append", default=[],
                         help="also create this database with the Supabase shape (repeatable)")
    p_shape = sub.add_parser("shape")
    p_shape.add_argument("dir")
    p_shape.add_argument("--db", required=True)
    p_stop = sub.add_parser("stop")
    p_stop.add_argument("dir")
    p_attach = sub.add_parser("attach", help="a server on 127.0.0.1:PORT started elsewhere; password in PGPASSWORD")
    p_attach.add_argument("--port", type=int, required=True)
    p_attach.add_argument("--timeout", type=float, default=60, help="seconds to wait for the server (default 60)")
    p_attach.add_argument("--shape-db", action="append", default=[])
    args = parser.parse_args(argv)
    if args.command in ("start", "attach"):
        if args.command == "start":
            info = start(args.dir, args.port)
            wait_ready(info)
        else:
            if not os.environ.get("PGPASSWORD"):
                raise SystemExit("attach: set PGPASSWORD to the superuser password of the server on port %d" % args.port)
            info = describe(None, args.port, os.environ["PGPASSWORD"])
            wait_ready(info, args.timeout)
        info["databases"] = {name: shape(info, name)["url"] for name in args.shape_db}
        print(json.dumps(info))
    elif args.command == "shape":
        with open(os.path.join(os.path.abspath(args.dir), "cluster.json")) as handle:
            info = json.load(handle)
        print(json.dumps(shape(info, args.db)))
    else:
        stop(args.dir)


if __name__ == "__main__":
    main()
