"""Background traffic for `make demo`: what the dashboard does while the runbook runs.

Against each given database URL it keeps calling the dashboard's RPC functions and reading its tables,
and writes application log lines to observability_logs (every 500th operation logs an ERROR: about 0.2 %, never
two errors close enough together to look sustained), so the monitor phase measures real traffic instead of an
idle database. Bounded: it stops
after --seconds (default 900) or when terminated. Errors (a table not there yet, a database being rolled
back) are counted and skipped, never fatal.

  python tools/demo_workload.py --seconds 600 URL [URL ...]
"""
import argparse
import signal
import sys
import time

import psycopg2

QUERIES = [
    "SELECT * FROM public.get_revenue_metrics(now() - interval '7 days', now())",
    "SELECT public.get_inventory_summary()",
    "SELECT public.get_approvals_pending_count()",
    "SELECT count(*) FROM public.product_categories",
    "SELECT count(*) FROM public.customer_segments",
]
LOG_INSERT = "INSERT INTO public.observability_logs (level, source, message) VALUES (%s, 'dashboard', %s)"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--seconds", type=float, default=900)
    parser.add_argument("--rate", type=float, default=25.0, help="rounds per second (one operation per database)")
    parser.add_argument("--error-every", type=int, default=500, help="every Nth log line is an ERROR")
    args = parser.parse_args(argv)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *unused: stop.update(now=True))
    conns = {}
    deadline = time.monotonic() + args.seconds
    done = failed = 0
    while not stop["now"] and time.monotonic() < deadline:
        for url in args.urls:
            try:
                conn = conns.get(url)
                if conn is None or conn.closed:
                    conn = conns[url] = psycopg2.connect(url, application_name="hotdash-demo-workload",
                                                         connect_timeout=3)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(QUERIES[done % len(QUERIES)])
                    level = "ERROR" if (done + 1) % args.error_every == 0 else "INFO"
                    cur.execute(LOG_INSERT, (level, "tile refresh"))
                done += 1
            except psycopg2.Error:
                failed += 1
                conn = conns.pop(url, None)
                if conn is not None:
                    conn.close()
        time.sleep(1.0 / args.rate)
    for conn in conns.values():
        conn.close()
    print("demo workload: %d operations, %d skipped" % (done, failed), file=sys.stderr)


if __name__ == "__main__":
    main()
