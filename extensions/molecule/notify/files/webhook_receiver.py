"""A stand-in chat/incident webhook for the notify scenario, run in the background on 127.0.0.1.

    webhook_receiver.py start DIR [--lifetime SECONDS]   # prints {"url": ..., "port": ..., "pid": ...}
    webhook_receiver.py stop DIR                          # no-op when it is already gone

``start`` replaces any receiver recorded in DIR, forks a detached server on a free loopback port, waits until
it listens and returns. The server appends one JSON line per POST to DIR/requests.jsonl (path, content type,
the parsed JSON body and the raw body), answers 200, keeps its port and pid in DIR/port and DIR/pid, and stops
by itself after --lifetime seconds (default 300) so a run that never reaches cleanup leaves nothing behind.
(tests/support/webhook_receiver.py is the in-process variant for pytest; it has no standalone mode.)
"""
import argparse
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def _paths(directory):
    return {name: os.path.join(directory, name) for name in ("port", "pid", "requests.jsonl", "receiver.log")}


def _write_atomic(path, text):
    tmp = path + ".tmp"
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def stop(directory):
    paths = _paths(directory)
    try:
        with open(paths["pid"]) as handle:
            pid = int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return False
    stopped = False
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = True
    for name in ("pid", "port"):
        try:
            os.unlink(paths[name])
        except OSError:
            pass
    return stopped


def serve(directory, lifetime):
    paths = _paths(directory)
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(True))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server naming)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            record = {"path": self.path, "content_type": self.headers.get("Content-Type"), "json": body, "raw": raw}
            with open(paths["requests.jsonl"], "a") as handle:
                handle.write(json.dumps(record, sort_keys=True) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, fmt, *args):
            sys.stderr.write("%s %s\n" % (time.strftime("%H:%M:%S"), fmt % args))

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.2
    try:
        _write_atomic(paths["pid"], "%d\n" % os.getpid())
        _write_atomic(paths["port"], "%d\n" % server.server_address[1])
        deadline = time.monotonic() + lifetime
        while not done and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
        for name in ("pid", "port"):
            try:
                os.unlink(paths[name])
            except OSError:
                pass


def start(directory, lifetime):
    directory = os.path.abspath(directory)
    os.makedirs(directory, exist_ok=True)
    stop(directory)
    paths = _paths(directory)
    with open(paths["requests.jsonl"], "w"):
        pass
    pid = os.fork()
    if pid == 0:  # the detached server: own session, no terminal, no pipes back to Ansible
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            log = os.open(paths["receiver.log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            serve(directory, lifetime)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            sys.exit("webhook receiver exited at start; see %s" % paths["receiver.log"])
        if os.path.exists(paths["port"]):
            with open(paths["port"]) as handle:
                port = int(handle.read())
            print(json.dumps({"url": "http://127.0.0.1:%d" % port, "port": port, "pid": pid,
                              "requests": paths["requests.jsonl"], "lifetime": lifetime}))
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGTERM)
    sys.exit("webhook receiver did not listen within 10 s; see %s" % paths["receiver.log"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("directory")
    parser.add_argument("--lifetime", type=float, default=300.0, help="seconds before the server stops by itself")
    args = parser.parse_args()
    if args.action == "start":
        start(args.directory, args.lifetime)
    else:
        print(json.dumps({"stopped": stop(args.directory)}))


if __name__ == "__main__":
    main()
