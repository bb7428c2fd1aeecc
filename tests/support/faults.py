"""Fault injection into a running apply: pause a migration at a known point, then break something.

A migration file can hold a *gate* (:func:`gate_sql`): a ``DO`` block that waits, in ``pg_sleep`` steps,
until the test opens it by inserting a row into ``fault_gate``. While the apply waits there it is exactly
"in the middle of a migration": the migrations before it committed, its own transaction is open. The test
then injects the fault and, when the fault leaves the apply alive, opens the gate. No lock is involved, so
the apply's lock timeouts, retries and pre-attempt checks do not see the gate.

  db.execute(GATE_TABLE_SQL)
  write_migrations(project, [("20250101000001", "one", "create table one ();"),
                             ("20250101000002", "two", "create table two ();\\n" + gate_sql("two"))])
  proc = ModuleProcess.start("migration_apply", args, workdir)   # tools/module_process.py
  pid = wait_at_gate(db, "two")                                  # the apply's backend, waiting at the gate
  terminate_backend(db, pid) / cancel_backend(db, pid) / restart_cluster(cluster) / proc.signal(...)
  open_gate(db, "two")

:class:`PlaybookProcess` runs ``ansible-playbook`` the same way, in a session of its own, so a test can send it
SIGINT/SIGTERM/SIGHUP/SIGKILL as a terminal, a CI runner or AWX would. :func:`file_size_limit` makes the
filesystem "fill up" for one process at a chosen size (RLIMIT_FSIZE: writes past it fail, as on a full disk).
"""
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import throwaway_pg  # noqa: E402

GATE_TABLE_SQL = "create table if not exists public.fault_gate (name text primary key)"
SUPABASE_CLI = os.environ.get("SUPABASE_CLI") or os.path.join(
    ROOT, "tools", "supabase-cli", "node_modules", ".bin", "supabase")


def gate_sql(name, seconds=120):
    """A statement that waits until :func:`open_gate` opens gate ``name`` (fails after ``seconds``, so a broken
    test cannot hang). Each check takes a new snapshot (READ COMMITTED), so it sees the test's insert."""
    return ("do $fault_gate$ begin\n"
            "  for i in 1..%d loop\n"
            "    exit when exists (select 1 from public.fault_gate where name = '%s');\n"
            "    perform pg_sleep(0.05);\n"
            "  end loop;\n"
            "  if not exists (select 1 from public.fault_gate where name = '%s') then\n"
            "    raise exception 'fault gate %s was never opened';\n"
            "  end if;\n"
            "end $fault_gate$;\n" % (int(seconds * 20), name, name, name))


def write_migrations(project, migrations):
    """Write ``[(version, name, sql)]`` into ``<project>/supabase/migrations``; returns the file names."""
    directory = os.path.join(str(project), "supabase", "migrations")
    os.makedirs(directory, exist_ok=True)
    names = []
    for version, name, sql in migrations:
        filename = "%s_%s.sql" % (version, name)
        with open(os.path.join(directory, filename), "w") as handle:
            handle.write(sql)
        names.append(filename)
    return names


def wait_until(predicate, timeout=30.0, interval=0.05, what="condition", process=None):
    """Poll ``predicate`` until it returns something truthy; AssertionError naming ``what`` after ``timeout``,
    or as soon as ``process`` (a ModuleProcess or PlaybookProcess) has ended, with the end of its output."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and not process.running():
            raise AssertionError("%s ended before %s:\n%s" % (process, what, str(process.output())[-3000:]))
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def backend_at_gate(db, name):
    """The pid of the backend waiting at gate ``name``, or None."""
    rows = db.query("select pid from pg_stat_activity where pid <> pg_backend_pid() and wait_event = 'PgSleep' "
                    "and query like %s", ("%%fault gate %s was never opened%%" % name,))
    return rows[0][0] if rows else None


def wait_at_gate(db, name, timeout=60.0, process=None):
    """Wait until an apply (``process``, when given, must keep running) reaches gate ``name``; returns its
    backend's pid."""
    return wait_until(lambda: backend_at_gate(db, name), timeout, what="an apply to reach fault gate %s" % name,
                      process=process)


def open_gate(db, name):
    db.execute("insert into public.fault_gate (name) values (%s) on conflict do nothing", (name,))


def terminate_backend(db, pid):
    assert db.scalar("select pg_terminate_backend(%s)", (pid,)), "backend %s was not terminated" % pid


def cancel_backend(db, pid):
    assert db.scalar("select pg_cancel_backend(%s)", (pid,)), "backend %s was not canceled" % pid


def backends(db, application_name):
    """Pids of the backends with this application_name (other than ours)."""
    return [row[0] for row in db.query("select pid from pg_stat_activity where pid <> pg_backend_pid() and "
                                       "application_name = %s", (application_name,))]


def _pg_ctl(cluster, *args):
    argv = [os.path.join(throwaway_pg.pg_bindir(), "pg_ctl"), "-D", cluster["datadir"], "-w", "-t", "60"] + list(args)
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def restart_cluster(cluster, mode="fast"):
    """``pg_ctl restart -m <mode>``: every session ends, the server comes back on the same port."""
    _pg_ctl(cluster, "-m", mode, "restart")
    throwaway_pg.wait_ready(cluster)


def stop_cluster(cluster, mode="fast"):
    """Stop the server; returns a function that starts it again with the same settings (port included)."""
    with open(os.path.join(cluster["datadir"], "postmaster.opts")) as handle:
        argv = shlex.split(handle.read())
    options = argv[argv.index("-D") + 2:] if "-D" in argv else argv[1:]
    _pg_ctl(cluster, "-m", mode, "stop")

    def start_again():
        _pg_ctl(cluster, "-l", os.path.join(os.path.dirname(cluster["datadir"]), "server.log"), "-o",
                " ".join(shlex.quote(option) for option in options), "start")
    return start_again


def file_size_limit(nbytes):
    """A ``preexec_fn`` that lets the child write files up to ``nbytes`` bytes (RLIMIT_FSIZE): the next write
    past it fails with EFBIG, as one fails with ENOSPC on a full disk. Python ignores SIGXFSZ, so the write
    raises instead of killing the process."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def processes_with(text):
    """Pids of this machine's processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if text in cmdline and int(entry) != os.getpid():
            found.append(int(entry))
    return found


def _default_signals():
    """Signals at their defaults in the child, as in a user's terminal: a test runner started under nohup (SIGHUP
    ignored) or as a background job of a script (SIGINT, SIGQUIT ignored) passes its ignored signals on through exec,
    and ansible-playbook would then never see the signal a test sends."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


class PlaybookProcess(object):
    """``ansible-playbook`` running headless in a session of its own (stdin /dev/null, output to a file)."""

    def __init__(self, popen, output_path):
        self.popen = popen
        self.pid = popen.pid
        self.output_path = output_path

    @classmethod
    def start(cls, workdir, playbook, inventory, extra_vars=None, env_extra=None):
        workdir = str(workdir)
        vars_path = os.path.join(workdir, "extra_vars.json")
        with open(vars_path, "w") as handle:
            json.dump(extra_vars or {}, handle)
        os.chmod(vars_path, 0o600)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", SUPABASE_CLI=SUPABASE_CLI, SUPABASE_TELEMETRY_DISABLED="1",
                   DO_NOT_TRACK="1", ANSIBLE_LOCAL_TEMP=os.path.join(workdir, "ansible-tmp"),
                   PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        env.update(env_extra or {})
        output_path = os.path.join(workdir, "ansible-playbook.out")
        with open(output_path, "wb") as output:
            popen = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                                      inventory, playbook, "-e", "@" + vars_path], cwd=workdir, env=env,
                                     stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                     start_new_session=True, preexec_fn=_default_signals)
        return cls(popen, output_path)

    def __repr__(self):
        return "ansible-playbook (pid %d)" % self.pid

    def running(self):
        return self.popen.poll() is None

    def signal(self, signum):
        os.kill(self.pid, signum)

    def wait(self, timeout=300):
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("ansible-playbook still running after %s s:\n%s" % (timeout, self.output()[-3000:]))

    def kill(self):
        """End the playbook and whatever it started (its session's process group)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except OSError:
            pass
        self.popen.wait()

    def output(self):
        with open(self.output_path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
