"""Application traffic from pgbench: the dashboard's RPC calls, each logging one row, at a fixed rate.

A real load generator, not a loop in a test: PostgreSQL's `pgbench` runs custom scripts, one per dashboard
request kind, each calling an RPC and writing its application log line to `public.observability_logs`. Every
`error_every`-th request logs an ERROR (a sequence decides, so the error rate is exact: `--error-every 50` is
2 %), optionally only while `--error-when` (an SQL boolean, e.g. "the new column exists") is true, so the errors
start with a release instead of before it.

  python3 tools/pgbench_traffic.py URL --seconds 60 --rate 100 [--clients 4] [--error-every 50]
      [--error-when "SQL"] [--rpc "SELECT ..."]...

From Python: `with Traffic(url, seconds=30, rate=100, error_every=50): ...` (stopped when the block ends).
The password goes to pgbench through PGPASSWORD, never its argv.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from urllib.parse import unquote, urlsplit

# The runbook's critical RPCs (Production Step 3) as the dashboard calls them.
DASHBOARD_RPCS = [
    "SELECT * FROM public.get_revenue_metrics(now() - interval '7 days', now());",
    "SELECT public.get_inventory_summary();",
    "SELECT public.get_approvals_pending_count();",
]
SEQUENCE = "public.hotdash_traffic_requests"


def script(rpc, error_every, error_when="true"):
    """One pgbench script: the RPC, then its log line (ERROR for every ``error_every``-th request)."""
    level = ("CASE WHEN nextval('%s') %% %d = 0 AND (%s) THEN 'ERROR' ELSE 'INFO' END"
             % (SEQUENCE, error_every, error_when)) if error_every else "'INFO'"
    return "%s\nINSERT INTO public.observability_logs (level, source, message) VALUES (%s, 'pgbench', 'dashboard request');\n" % (
        rpc.rstrip().rstrip(";") + ";", level)


def connection(url):
    """(pgbench connection argv, environment) from a libpq URL; the password only in the environment."""
    parts = urlsplit(url)
    argv = ["-h", parts.hostname or "localhost", "-p", str(parts.port or 5432), "-U", unquote(parts.username or "postgres")]
    env = dict(os.environ, PGSSLMODE="disable" if "sslmode=disable" in parts.query else os.environ.get("PGSSLMODE", "prefer"))
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    return argv, env, unquote(parts.path.lstrip("/")) or "postgres"


class Traffic(object):
    """pgbench in the background for ``seconds`` (or until :meth:`stop`)."""

    def __init__(self, url, seconds=60, rate=50, clients=4, error_every=0, error_when="true", rpcs=None):
        self.url = url
        self.seconds = int(seconds)
        self.rate = rate
        self.clients = clients
        self.error_every = int(error_every or 0)
        self.error_when = error_when
        self.rpcs = list(rpcs or DASHBOARD_RPCS)
        self.proc = None
        self.output = ""
        self._dir = None

    def prepare(self):
        """The sequence that numbers requests (in the target database: it counts this traffic's requests only)."""
        argv, env, dbname = connection(self.url)
        sql = "CREATE SEQUENCE IF NOT EXISTS %s; GRANT USAGE ON SEQUENCE %s TO PUBLIC" % (SEQUENCE, SEQUENCE)
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"] + argv + ["-d", dbname, "-c", sql],
                       env=env, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        if self.error_every:
            self.prepare()
        self._dir = tempfile.mkdtemp(prefix="hotdash-traffic-")
        files = []
        for index, rpc in enumerate(self.rpcs):
            path = os.path.join(self._dir, "request_%d.sql" % index)
            with open(path, "w") as handle:
                handle.write(script(rpc, self.error_every, self.error_when))
            files += ["-f", path]
        argv, env, dbname = connection(self.url)
        command = (["pgbench", "-n", "-c", str(self.clients), "-j", "1", "-T", str(self.seconds), "-R", str(self.rate)]
                   + files + argv + [dbname])
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        return self

    def stop(self):
        """End pgbench (its summary only when it ran to ``seconds``) and return its output."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            try:
                self.output, _unused = self.proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.output, _unused = self.proc.communicate()
            self.proc = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        return self.output

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=float, default=50, help="requests per second, all clients together")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--error-every", type=int, default=0, help="every Nth request logs an ERROR (50 = 2 %%)")
    parser.add_argument("--error-when", default="true", help="SQL boolean: errors only while it is true")
    parser.add_argument("--rpc", action="append", help="an RPC call (repeatable); default: the runbook's three")
    args = parser.parse_args(argv)
    traffic = Traffic(args.url, args.seconds, args.rate, args.clients, args.error_every, args.error_when, args.rpc)
    traffic.start()
    try:
        traffic.proc.wait()
    except KeyboardInterrupt:
        pass
    sys.stdout.write(traffic.stop())


if __name__ == "__main__":
    main()
