"""The one way the tests' stand-ins for hosted HTTP services listen: 127.0.0.1 only, a free port, a thread.

A subclass provides ``_handler()`` (a ``BaseHTTPRequestHandler`` class); ``port=0`` picks a free port.
"""
import threading
from http.server import ThreadingHTTPServer


class LocalHttpServer(object):

    def __init__(self, port=0):
        self.port = port
        self._server = None
        self._thread = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def _handler(self):
        raise NotImplementedError

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
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
