"""Start and stop a throwaway PgBouncer in front of a throwaway PostgreSQL cluster (tools/throwaway_pg.py).

Supabase applications reach the database through a pooler (the dedicated PgBouncer, or Supavisor), in
transaction mode on port 6543. This runs Debian's `pgbouncer` binary the same way, on a free loopback port:

- every database of the cluster is reachable through it (`* =` fallback), pool mode `transaction` by default;
- any role of the cluster can log in (`auth_query` against pg_shadow, SCRAM pass-through, as hosted Supabase
  does with its `pgbouncer.get_auth`);
- an admin console user (`admin_users`) for `SHOW POOLS`, `SHOW CONFIG`, ... on the `pgbouncer` database.

  python3 tools/throwaway_pgbouncer.py start DIR --cluster CLUSTER_DIR [--pool-size N] [--pool-mode MODE] [--port N]
  python3 tools/throwaway_pgbouncer.py stop DIR

`start` prints a JSON description ({"host", "port", "admin_user", "admin_password", "admin_url", "url",
"pool_mode", "default_pool_size", ...}); `url` reaches the cluster's `postgres` database through the pooler.
As root, PgBouncer (which refuses to run as root) runs as the `postgres` system user, like the cluster.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import time

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover
    raise

import throwaway_pg

ADMIN_USER = "pooler_admin"
# Throwaway pooler only: a fixed, documented password, like the cluster's.
ADMIN_PASSWORD = "pooler_admin"
POOL_MODES = ("session", "transaction", "statement")


def pgbouncer_binary():
    found = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None)
    if not found:
        raise SystemExit("pgbouncer not found: install Debian package 'pgbouncer' (make setup does)")
    return found


def _quoted(value):
    return '"%s"' % value.replace('"', '""')


def config_text(files, port, cluster, pool_mode="transaction", pool_size=2, max_client_conn=100,
                query_wait_timeout=120, extra=None):
    """The pgbouncer.ini of one throwaway pooler (pure: tested without starting anything)."""
    if pool_mode not in POOL_MODES:
        raise SystemExit("pool_mode must be one of %s; got %r" % (", ".join(POOL_MODES), pool_mode))
    settings = {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "scram-sha-256",
        "auth_file": os.path.join(files, "userlist.txt"),
        "auth_user": cluster["user"],
        "auth_query": "SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1",
        "admin_users": ADMIN_USER,
        "stats_users": ADMIN_USER,
        "pool_mode": pool_mode,
        "default_pool_size": str(pool_size),
        "min_pool_size": "0",
        "reserve_pool_size": "0",
        "max_client_conn": str(max_client_conn),
        "query_wait_timeout": str(query_wait_timeout),
        # What psycopg2/libpq or JDBC clients may send at startup that PgBouncer does not track.
        "ignore_startup_parameters": "extra_float_digits,options,statement_timeout",
        "logfile": os.path.join(files, "pgbouncer.log"),
        "pidfile": os.path.join(files, "pgbouncer.pid"),
        "server_tls_sslmode": "disable",
        "log_connections": "0",
        "log_disconnections": "0",
    }
    settings.update(extra or {})
    lines = ["[databases]",
             "* = host=%s port=%d" % (cluster["host"], cluster["port"]),
             "", "[pgbouncer]"]
    lines += ["%s = %s" % (key, value) for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def userlist_text(cluster):
    """auth_file: the admin console user and auth_user (who runs auth_query); plain passwords, throwaway only."""
    return "%s %s\n%s %s\n" % (_quoted(ADMIN_USER), _quoted(ADMIN_PASSWORD),
                               _quoted(cluster["user"]), _quoted(cluster["password"]))


def url(info, dbname="postgres", user=None, password=None):
    """libpq URL of `dbname` through the pooler (as the cluster's superuser unless `user` is given)."""
    user = user or info["cluster_user"]
    password = info["cluster_password"] if password is None and user == info["cluster_user"] else password
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return "postgresql://%s@%s:%d/%s?sslmode=disable" % (auth, info["host"], info["port"], quote(dbname, safe=""))


def describe(base, files, port, cluster, pool_mode, pool_size):
    info = {"host": "127.0.0.1", "port": port, "dir": base, "files": files,
            "pool_mode": pool_mode, "default_pool_size": pool_size,
            "admin_user": ADMIN_USER, "admin_password": ADMIN_PASSWORD,
            "cluster_port": cluster["port"], "cluster_user": cluster["user"], "cluster_password": cluster["password"],
            "logfile": os.path.join(files, "pgbouncer.log"), "pidfile": os.path.join(files, "pgbouncer.pid")}
    info["admin_url"] = url(info, "pgbouncer", ADMIN_USER, ADMIN_PASSWORD)
    info["url"] = url(info)
    return info


def _write(path, text, mode=0o600):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    throwaway_pg._chown_for_server(path)


def _listening(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(info):
    try:
        with open(info["pidfile"]) as handle:
            return int(handle.read().strip() or 0) or None
    except (IOError, OSError, ValueError):
        return None


def _log_tail(info, lines=20):
    try:
        with open(info["logfile"]) as handle:
            return "".join(handle.readlines()[-lines:]).strip()
    except (IOError, OSError):
        return ""


def start(base, cluster, port=None, pool_mode="transaction", pool_size=2, max_client_conn=100,
          query_wait_timeout=120, extra=None, timeout=30):
    """Start PgBouncer under `base` in front of `cluster` (a throwaway_pg description); return its description."""
    base = os.path.abspath(base)
    os.makedirs(base, exist_ok=True)
    files = throwaway_pg.server_dir(base)
    os.makedirs(files, exist_ok=True)
    throwaway_pg._chown_for_server(files)
    port = port or throwaway_pg.free_port()
    info = describe(base, files, port, cluster, pool_mode, pool_size)
    _write(os.path.join(files, "userlist.txt"), userlist_text(cluster))
    ini = os.path.join(files, "pgbouncer.ini")
    _write(ini, config_text(files, port, cluster, pool_mode, pool_size, max_client_conn, query_wait_timeout, extra))
    for stale in (info["pidfile"],):
        if os.path.exists(stale):
            os.unlink(stale)
    throwaway_pg._run(throwaway_pg._as_server_user([pgbouncer_binary(), "-d", "-q", ini]))
    deadline = time.time() + timeout
    while time.time() < deadline:
        if _read_pid(info) and _listening(port):
            info["pid"] = _read_pid(info)
            with open(os.path.join(base, "pgbouncer.json"), "w") as handle:
                json.dump(info, handle)
            return info
        time.sleep(0.05)
    stop_pooler(info)
    raise SystemExit("pgbouncer on port %d did not start: %s" % (port, _log_tail(info)))


def stop_pooler(info, timeout=15):
    """Immediate shutdown (SIGTERM), waiting until the process is gone; removes its files."""
    pid = _read_pid(info) or info.get("pid")
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid = None
    deadline = time.time() + timeout
    while pid and time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        if pid:
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(info["files"], ignore_errors=True)
    if info["files"] != info["dir"]:
        shutil.rmtree(info["dir"], ignore_errors=True)


def stop(base):
    path = os.path.join(os.path.abspath(base), "pgbouncer.json")
    if not os.path.exists(path):
        return
    with open(path) as handle:
        stop_pooler(json.load(handle))


def admin(info, command):
    """Run one admin console command (SHOW POOLS, SHOW CONFIG, ...) with psql; rows as lists of strings."""
    argv = ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-h", info["host"], "-p", str(info["port"]),
            "-U", info["admin_user"], "-d", "pgbouncer", "-c", command]
    env = dict(os.environ, PGPASSWORD=info["admin_password"], PGSSLMODE="disable")
    out = throwaway_pg._run(argv, env=env)
    return [line.split("\t") for line in out.splitlines() if line]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start")
    p_start.add_argument("dir")
    p_start.add_argument("--cluster", required=True, help="directory of a running tools/throwaway_pg.py cluster")
    p_start.add_argument("--port", type=int)
    p_start.add_argument("--pool-size", type=int, default=2)
    p_start.add_argument("--pool-mode", choices=POOL_MODES, default="transaction")
    p_stop = sub.add_parser("stop")
    p_stop.add_argument("dir")
    args = parser.parse_args(argv)
    if args.command == "start":
        with open(os.path.join(os.path.abspath(args.cluster), "cluster.json")) as handle:
            cluster = json.load(handle)
        print(json.dumps(start(args.dir, cluster, args.port, args.pool_mode, args.pool_size)))
    else:
        stop(args.dir)


if __name__ == "__main__":
    main()
