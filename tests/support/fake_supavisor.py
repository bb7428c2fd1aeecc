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
from http.server import BaseHTTPRequestHandler

from local_http import LocalHttpServer

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


class FakeSupavisor(LocalHttpServer):

    def __init__(self, token="metrics-jwt", text=None):
        super(FakeSupavisor, self).__init__()
        self.token = token
        self.text = text if text is not None else fixture_text()
        self.requests = []

    def set_text(self, text):
        self.text = text

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
