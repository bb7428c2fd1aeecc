"""Run one of the collection's modules as a process of its own, the way Ansible's local connection runs it.

Used by the benchmarks (a migration started at a chosen moment under live traffic) and the fault-injection
tests (a module that can be signalled, killed, or orphaned while it applies). The module reads its arguments
from a JSON file (``{"ANSIBLE_MODULE_ARGS": {...}}``, what AnsibleModule accepts as its first argument) and
prints its result as one JSON document.

  proc = ModuleProcess.start("migration_apply", {"db_url": url, "project_dir": path}, workdir)
  result = proc.wait(timeout=60)        # the module's result dict (``failed``/``msg`` on failure)
"""
import json
import os
import signal
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")


def collection_env(base=None):
    """The environment a module process needs to import the collection (make setup links it here)."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = COLLECTIONS + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


class ModuleProcess(object):
    """A running module: ``pid``, ``wait()``, ``signal()``, ``output()``; its arguments file is in ``workdir``."""

    def __init__(self, name, popen, workdir):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.workdir = workdir
        self._out, self._err = [], []
        self._readers = [threading.Thread(target=self._drain, args=(popen.stdout, self._out)),
                         threading.Thread(target=self._drain, args=(popen.stderr, self._err))]
        for reader in self._readers:
            reader.daemon = True
            reader.start()

    @staticmethod
    def _drain(pipe, chunks):
        for chunk in iter(lambda: pipe.read1(65536), b""):
            chunks.append(chunk)
        pipe.close()

    @classmethod
    def start(cls, name, args, workdir, env=None, new_session=True, python=None, preexec_fn=None):
        """Start module ``name`` with ``args``; ``new_session`` gives it a process group of its own (as
        Ansible's worker does), so a signal to the test's group never reaches it by accident; ``preexec_fn``
        runs in the child before the module (e.g. to set a resource limit)."""
        os.makedirs(workdir, exist_ok=True)
        args_path = os.path.join(workdir, "%s.args.json" % name)
        with open(args_path, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
        # Pipes, as Ansible gives a module (a file would share the child's file size limit, see faults.py).
        popen = subprocess.Popen(
            [python or sys.executable, "-m", "ansible_collections.hotdash.supabase.plugins.modules.%s" % name,
             args_path], cwd=workdir, env=collection_env(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=new_session, preexec_fn=preexec_fn)
        return cls(name, popen, workdir)

    def __repr__(self):
        return "module %s (pid %d)" % (self.name, self.pid)

    def running(self):
        return self.popen.poll() is None

    def signal(self, signum):
        os.kill(self.pid, signum)

    def kill(self):
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self.popen.wait()

    def output(self):
        """``(stdout, stderr)`` as far as the module wrote them."""
        return (b"".join(self._out).decode("utf-8", "replace"), b"".join(self._err).decode("utf-8", "replace"))

    def wait(self, timeout=120):
        """The module's result dict; raises when it printed none (killed, crashed) or ran past ``timeout``."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("module %s still running after %s s" % (self.name, timeout))
        for reader in self._readers:
            reader.join(10)
        return self.result()

    def result(self):
        """The module's JSON result, or ``{"no_result": True, "rc", "stdout", "stderr"}`` when it printed none."""
        stdout, stderr = self.output()
        for line in reversed(stdout.strip().splitlines()):
            if line.strip().startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    break
        return dict(no_result=True, rc=self.popen.poll(), stdout=stdout[-2000:], stderr=stderr[-2000:])
