"""A local HTTP server that records POSTed JSON bodies, standing in for a chat/incident webhook in tests.

    with WebhookReceiver() as hook:          # listens on 127.0.0.1:<free port>
        ... post to hook.url("/hooks/T000/secret") ...
        hook.requests  -> [{"path": ..., "headers": {...}, "json": {...}}]

``status`` sets the HTTP status answered (e.g. 500 to test a failing webhook). One server per test: no
fixed port, no shared state.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver(object):
    def __init__(self, status=200):
        self.status = status
        self.requests = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = None
                with receiver._lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "json": body,
                                              "raw": raw})
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
