"""A local stand-in for Supavisor's metrics endpoint, on 127.0.0.1 only.

Serves Prometheus text exposition (tests/support/fixtures/supavisor_metrics.prom by default) the way Supavisor
does: ``GET /metrics`` (every tenant) and ``GET /metrics/<tenant external id>`` (one tenant's series), bearer
token required (401 otherwise). ``set_text`` replaces what the next scrape gets, so a test can move counters
between two readings.

    with FakeSupavisor(token="metrics-jwt") as fake:
        fake.url  # http://127.0.0.1:PORT
"""
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "supavisor_metrics.prom")
_TENANT = re.compile(r'tenant="([^"]*)"')


def fixture_text():
    with open(FIXTURE) as handle:
        return handle.read()


def for_tenant(text, tenant):
    """The lines of ``text`` that belong to ``tenant`` (comments and untagged series kept)."""
    out = []
    for line in text.splitlines():
        found = _TENANT.search(line)
        if line.startswith("#") or found is None or found.group(1) == tenant:
            out.append(line)
    return "\n".join(out) + "\n"


class FakeSupavisor(object):

    def __init__(self, token="metrics-jwt", text=None):
        self.token = token
        self.text = text if text is not None else fixture_text()
        self.requests = []
        self._server = None

    def set_text(self, text):
        self.text = text

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):  # noqa: N802
                fake.requests.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer %s" % fake.token:
                    return self._send(401, "unauthorized\n")
                if self.path == "/metrics":
                    return self._send(200, fake.text)
                if self.path.startswith("/metrics/"):
                    return self._send(200, for_tenant(fake.text, self.path[len("/metrics/"):]))
                return self._send(404, "not found\n")

            def _send(self, code, body):
                data = body.encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
