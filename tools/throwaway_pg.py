"""Start and stop throwaway PostgreSQL clusters on free loopback ports.

Used by the test harness (tests/conftest.py), the Molecule create/destroy playbooks and
`make demo`. A cluster lives in one directory; `start` prints a JSON description
({"port", "host", "user", "password", "datadir", "url"}) and `stop` ends it.

  python3 tools/throwaway_pg.py start DIR [--port N] [--shape-db NAME ...]
  python3 tools/throwaway_pg.py shape DIR --db NAME     # create NAME with the Supabase shape
  python3 tools/throwaway_pg.py stop DIR

PostgreSQL refuses to run as root, so when this runs as root the server runs as the
`postgres` system user (created by Debian's postgresql package).
"""
import argparse
import glob
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE_SQL = os.path.join(HERE, "supabase_shape.sql")
SUPERUSER = "postgres"
# Throwaway clusters only: a fixed, documented password so tests can also prove that a wrong one fails.
PASSWORD = "postgres"


def pg_bindir():
    """Directory holding initdb/pg_ctl (PATH first, then Debian's versioned layout)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise SystemExit("PostgreSQL server binaries not found: install Debian package 'postgresql' (make setup does)")
    return os.path.dirname(candidates[0])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(argv):
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--"] + argv


def _chown_for_server(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def server_dir(base):
    """Where the cluster's files live. As root, the server runs as `postgres`, which may not be able to
    traverse `base` (e.g. under /root): keep the files in a directory of its own under /tmp instead."""
    base = os.path.abspath(base)
    if os.geteuid() != 0:
        return base
    digest = hashlib.sha1(base.encode()).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), "hotdash-pg-%s" % digest)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def _run(argv, **kwargs):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        raise SystemExit("command failed (%s): %s" % (" ".join(argv[:3]), proc.stdout.strip()[-2000:]))
    return proc.stdout


def describe(datadir, port):
    url = "postgresql://%s:%s@127.0.0.1:%d/postgres?sslmode=disable" % (SUPERUSER, PASSWORD, port)
    return {"host": "127.0.0.1", "port": port, "user": SUPERUSER, "password": PASSWORD,
            "datadir": datadir, "url": url}


def start(base, port=None, extra_conf=None):
    """Create (if needed) and start a cluster under `base`; return its description."""
    base = os.path.abspath(base)
    os.makedirs(base, exist_ok=True)
    state = os.path.join(base, "cluster.json")
    files = server_dir(base)
    datadir = os.path.join(files, "data")
    bindir = pg_bindir()
    if not os.path.exists(os.path.join(datadir, "PG_VERSION")):
        os.makedirs(datadir, exist_ok=True)
        os.chmod(datadir, 0o700)
        _chown_for_server(datadir)
        pwfile = os.path.join(files, "pwfile")
        with open(pwfile, "w") as handle:
            handle.write(PASSWORD + "\n")
        _chown_for_server(pwfile)
        _run(_as_server_user([os.path.join(bindir, "initdb"), "-D", datadir, "-U", SUPERUSER,
                              "--pwfile", pwfile, "--auth=scram-sha-256", "-E", "UTF8",
                              "--locale=C.UTF-8", "--no-sync"]))
        os.unlink(pwfile)
    port = port or free_port()
    conf = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": "''",
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.track": "all",
        "max_connections": "100",
        # Prepared transactions hold their locks with no session behind them: tests of who blocks an apply use one.
        "max_prepared_transactions": "8",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "log_min_messages": "warning",
    }
    conf.update(extra_conf or {})
    opts = " ".join("-c %s=%s" % (key, value) for key, value in conf.items())
    logfile = os.path.join(files, "server.log")
    if not os.path.exists(logfile):
        open(logfile, "a").close()
    _chown_for_server(logfile)
    _run(_as_server_user([os.path.join(bindir, "pg_ctl"), "-D", datadir, "-l", logfile, "-o", opts,
                          "-w", "-t", "60", "start"]))
    info = describe(datadir, port)
    with open(state, "w") as handle:
        json.dump(info, handle)
    return info


def stop(base, remove=True):
    base = os.path.abspath(base)
    files = server_dir(base)
    datadir = os.path.join(files, "data")
    if os.path.exists(os.path.join(datadir, "postmaster.pid")):
        subprocess.run(_as_server_user([os.path.join(pg_bindir(), "pg_ctl"), "-D", datadir, "-m", "immediate",
                                        "-w", "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=False)
    if remove:
        shutil.rmtree(files, ignore_errors=True)
        if files != base:
            shutil.rmtree(base, ignore_errors=True)


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
    args = parser.parse_args(argv)
    if args.command == "start":
        info = start(args.dir, args.port)
        wait_ready(info)
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
