# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A private PostgreSQL cluster on the controller: initdb + pg_ctl on a free loopback port.

The shadow database (shadow.py) lives in one when no shadow server is given, so no scratch database is ever
created on a server the user did not name. The test harness, Molecule and the demo start theirs through
``tools/throwaway_pg.py``, which is built on this file.

- Listens on 127.0.0.1 only, no Unix socket, scram-sha-256 with the password given to :func:`start`.
- Durability is off (fsync, synchronous_commit, full_page_writes): the cluster is thrown away.
- PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` system user (Debian's
  postgresql package creates it) and its files live in a directory of their own under the temp dir, which
  that user can reach.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import os
import pwd
import shutil
import socket
import tempfile

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.process import run_process

SUPERUSER = "postgres"
SERVER_USER = "postgres"
SERVER_TOOLS = ("initdb", "pg_ctl")
PORT_ATTEMPTS = 5


class ClusterError(SupabaseError):
    """A local cluster could not be created, started or stopped."""


def pg_bindir(bin_dir=None):
    """Directory holding initdb and pg_ctl: ``bin_dir``, else PATH, else the newest of Debian's versioned layout."""
    if bin_dir:
        missing = [tool for tool in SERVER_TOOLS if not os.access(os.path.join(bin_dir, tool), os.X_OK)]
        if missing:
            raise ClusterError("%s has no %s: point pg_bin_dir at a PostgreSQL server's bin directory"
                               % (bin_dir, " or ".join(missing)))
        return bin_dir
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return os.path.dirname(os.path.realpath(found))
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda path: [int(part) for part in path.split("/")[4].split(".") if part.isdigit()],
                        reverse=True)
    if not candidates:
        raise ClusterError("PostgreSQL server binaries (initdb, pg_ctl) not found on this machine: install Debian "
                           "package 'postgresql' (make setup does) or set pg_bin_dir")
    return os.path.dirname(candidates[0])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_server_user(argv):
    """``argv`` as the server user when running as root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--"] + argv


def chown_for_server(path):
    if os.geteuid() == 0:
        try:
            record = pwd.getpwnam(SERVER_USER)
        except KeyError:
            raise ClusterError("running as root, the local cluster runs as the %r system user, which does not exist; "
                               "install Debian package 'postgresql' or create the user (make setup does)" % SERVER_USER)
        os.chown(path, record.pw_uid, record.pw_gid)


def server_dir(base):
    """Where the cluster's files live. As root, the server runs as ``postgres``, which may not be able to
    traverse ``base`` (e.g. under /root): keep the files in a directory of their own under the temp dir."""
    base = os.path.abspath(base)
    if os.geteuid() != 0:
        return base
    digest = hashlib.sha1(base.encode()).hexdigest()[:12]
    path = os.path.join(tempfile.gettempdir(), "hotdash-pg-%s" % digest)
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def run(argv, what=None, env=None, timeout=None):
    """Run a server program; its output, or ClusterError with the last line it wrote."""
    return run_process(argv, what or " ".join(argv[:3]), timeout=timeout, env=env, error=ClusterError).stdout


def describe(datadir, port, password):
    url = "postgresql://%s:%s@127.0.0.1:%d/postgres?sslmode=disable" % (SUPERUSER, password, port)
    return {"host": "127.0.0.1", "port": port, "user": SUPERUSER, "password": password,
            "datadir": datadir, "url": url}


def _initdb(bindir, files, datadir, password):
    os.makedirs(datadir, exist_ok=True)
    os.chmod(datadir, 0o700)
    chown_for_server(datadir)
    pwfile = os.path.join(files, "pwfile")
    handle = os.fdopen(os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w")
    with handle:
        handle.write(password + "\n")
    chown_for_server(pwfile)
    try:
        run(as_server_user([os.path.join(bindir, "initdb"), "-D", datadir, "-U", SUPERUSER, "--pwfile", pwfile,
                            "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]), "initdb")
    finally:
        os.unlink(pwfile)


def start(base, password, port=None, extra_conf=None, bin_dir=None):
    """Create (if needed) and start a cluster under ``base``; return its description (host, port, user, ...)."""
    base = os.path.abspath(base)
    os.makedirs(base, exist_ok=True)
    files = server_dir(base)
    datadir = os.path.join(files, "data")
    bindir = pg_bindir(bin_dir)
    if not os.path.exists(os.path.join(datadir, "PG_VERSION")):
        _initdb(bindir, files, datadir, password)
    fixed_port = port
    attempts = 1 if fixed_port else PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        port = fixed_port or free_port()
        try:
            return _start_on(bindir, files, datadir, port, password, extra_conf)
        except ClusterError:
            # Another process (a parallel fork's cluster) may take the port between free_port() and the bind.
            if attempt == attempts or not _port_taken(files):
                raise
    raise ClusterError("no free port found")  # pragma: no cover - the loop returns or raises


def _port_taken(files):
    tail = _log_tail(os.path.join(files, "server.log"), lines=20)
    return "could not bind" in tail or "Address already in use" in tail


def _start_on(bindir, files, datadir, port, password, extra_conf):
    conf = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": "''",
        "shared_preload_libraries": "'pg_stat_statements'",
        "pg_stat_statements.track": "all",
        "max_connections": "100",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "log_min_messages": "warning",
    }
    conf.update(extra_conf or {})
    opts = " ".join("-c %s=%s" % (key, value) for key, value in conf.items())
    logfile = os.path.join(files, "server.log")
    open(logfile, "w").close()  # this attempt's messages only (see _port_taken)
    chown_for_server(logfile)
    try:
        run(as_server_user([os.path.join(bindir, "pg_ctl"), "-D", datadir, "-l", logfile, "-o", opts,
                            "-w", "-t", "60", "start"]), "pg_ctl start")
    except ClusterError as exc:
        # pg_ctl only says "Examine the log output": the reason is in the server's log.
        raise ClusterError("%s; server log: %s" % (exc, _log_tail(logfile)))
    return describe(datadir, port, password)


def _log_tail(logfile, lines=3):
    try:
        with open(logfile) as handle:
            text = [line.strip() for line in handle.read().splitlines() if line.strip()]
    except (IOError, OSError):
        return "not readable"
    return " | ".join(text[-lines:]) or "empty"


def stop(base, remove=True, bin_dir=None):
    """Stop the cluster under ``base`` (immediate shutdown) and, with ``remove``, delete its files."""
    base = os.path.abspath(base)
    files = server_dir(base)
    datadir = os.path.join(files, "data")
    if os.path.exists(os.path.join(datadir, "postmaster.pid")):
        try:
            run_process(as_server_user([os.path.join(pg_bindir(bin_dir), "pg_ctl"), "-D", datadir, "-m", "immediate",
                                        "-w", "stop"]), "pg_ctl stop", timeout=60, error=ClusterError, check=False)
        except ClusterError:
            pass  # stopping is best effort: the files are removed below either way
    if remove:
        shutil.rmtree(files, ignore_errors=True)
        if files != base:
            shutil.rmtree(base, ignore_errors=True)
