"""A local stand-in for the Supabase Management API, on 127.0.0.1 only.

Speaks the documented shapes of the three endpoints the collection uses:

- ``GET  /v1/projects/{ref}``                               -> ``{id, ref, organization_id, name, region, created_at, status}``
- ``GET  /v1/projects/{ref}/database/backups``              -> ``{region, walg_enabled, pitr_enabled, backups: [
  {is_physical_backup, status, inserted_at}], physical_backup_data: {earliest_physical_backup_date_unix,
  latest_physical_backup_date_unix}}``
- ``POST /v1/projects/{ref}/database/backups/restore-pitr`` with ``{"recovery_time_target_unix": N}`` -> 201.

A restore takes time, as on the platform, so a client's waiting logic is exercised: the project stays
``ACTIVE_HEALTHY`` for ``restore_start_delay`` seconds (the request is queued), is ``RESTORING`` for
``restoring_seconds``, ``COMING_UP`` for ``coming_up_seconds``, then ``ACTIVE_HEALTHY`` (or
``RESTORE_FAILED`` right after ``RESTORING`` when ``restore_outcome="RESTORE_FAILED"``). ``on_restore(target)``
runs once when ``RESTORING`` ends: a test restores its database to the target there. States are computed from
``clock`` (injectable: a test can drive it by hand) when the project is read. A target outside the PITR window
(older than ``pitr_window_days``, or in the future) and a second restore while one runs are refused with 400.

Bearer token required (401 otherwise); unknown ref -> 404. ``fail_next`` queues status codes (e.g. 503, 429)
to answer before the real one, to exercise retries.

Use it from pytest (``FakeManagementApi()`` as a context manager, see the ``fake_api`` fixture in the tests) or
standalone for Molecule and demos::

    python tests/support/fake_management_api.py --port 8765 --token demo-token --ref abcdefghijklmnopqrst \
        --backup-age-hours 3 [--pitr] [--restore-start-delay 5 --restoring-seconds 20 --coming-up-seconds 10]
"""
import argparse
import datetime
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from local_http import LocalHttpServer

_PROJECT = re.compile(r"^/v1/projects/([a-z0-9-]+)$")
_BACKUPS = re.compile(r"^/v1/projects/([a-z0-9-]+)/database/backups$")
_RESTORE = re.compile(r"^/v1/projects/([a-z0-9-]+)/database/backups/restore-pitr$")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class ProjectState(object):
    def __init__(self, ref, backup_age_hours=3.0, pitr_enabled=False, status="ACTIVE_HEALTHY",
                 restore_start_delay=0.0, restoring_seconds=1.0, coming_up_seconds=0.5,
                 restore_outcome="ACTIVE_HEALTHY", on_restore=None, pitr_window_days=7, clock=time.monotonic):
        now = time.time()
        self.ref = ref
        self.status = status
        self.pitr_enabled = pitr_enabled
        self.restore_start_delay = restore_start_delay
        self.restoring_seconds = restoring_seconds
        self.coming_up_seconds = coming_up_seconds
        self.restore_outcome = restore_outcome
        self.on_restore = on_restore
        self.pitr_window_days = pitr_window_days
        self.clock = clock
        self.restores = []
        self.status_reads = []
        self._restore = None
        self.backups = []
        if backup_age_hours is not None:
            self.set_backup_ages([backup_age_hours, backup_age_hours + 24])
        self.created = now - 86400 * 30

    def set_backup_ages(self, hours_list, status="COMPLETED"):
        now = time.time()
        self.backups = [{"is_physical_backup": True, "status": status, "inserted_at": iso(now - h * 3600)}
                        for h in hours_list]

    def backups_doc(self):
        stamps = [datetime.datetime.strptime(b["inserted_at"], "%Y-%m-%dT%H:%M:%S.000Z")
                  .replace(tzinfo=datetime.timezone.utc).timestamp() for b in self.backups
                  if b["status"] == "COMPLETED"]
        physical = {}
        if stamps:
            physical = {"earliest_physical_backup_date_unix": int(min(stamps)),
                        "latest_physical_backup_date_unix": int(max(stamps))}
        if self.pitr_enabled:
            physical["latest_physical_backup_date_unix"] = int(time.time())
        return {"region": "us-east-1", "walg_enabled": True, "pitr_enabled": self.pitr_enabled,
                "backups": list(self.backups), "physical_backup_data": physical}

    def _advance(self):
        """Move a running restore through its phases by the time elapsed since it was requested."""
        restore = self._restore
        if restore is None:
            return
        elapsed = self.clock() - restore["requested"]
        restoring_ends = self.restore_start_delay + self.restoring_seconds
        if elapsed < self.restore_start_delay:
            return
        if elapsed < restoring_ends:
            self.status = "RESTORING"
            return
        if self.restore_outcome != "ACTIVE_HEALTHY":
            self.status = self.restore_outcome
            self._restore = None
            return
        if not restore["applied"]:
            restore["applied"] = True
            if self.on_restore:
                self.on_restore(restore["target"])
        if elapsed < restoring_ends + self.coming_up_seconds:
            self.status = "COMING_UP"
            return
        self.status = "ACTIVE_HEALTHY"
        self._restore = None

    @property
    def restoring(self):
        return self._restore is not None

    def project_doc(self):
        self._advance()
        self.status_reads.append(self.status)
        return {"id": self.ref, "ref": self.ref, "organization_id": "hotdash", "name": "hotdash-%s" % self.ref[:6],
                "region": "us-east-1", "created_at": iso(self.created), "status": self.status}

    def refuse_restore(self, target):
        """Why the platform would refuse this restore now (a message for a 400), or None."""
        if not self.pitr_enabled:
            return "PITR is not enabled for this project"
        self._advance()
        if self._restore is not None or self.status != "ACTIVE_HEALTHY":
            return "project is %s; a restore can start only when it is ACTIVE_HEALTHY" % self.status
        now = time.time()
        if target > now or target < now - self.pitr_window_days * 86400:
            return "recovery_time_target_unix must be within the PITR window (the last %d days)" % self.pitr_window_days
        return None

    def start_restore(self, target):
        self.restores.append(target)
        self._restore = {"target": target, "requested": self.clock(), "applied": False}
        self._advance()


class FakeManagementApi(LocalHttpServer):
    """The fake server; ``url`` once started. Thread-safe enough for one test at a time."""

    def __init__(self, token="test-token", port=0, projects=None):
        super(FakeManagementApi, self).__init__(port)
        self.token = token
        self.projects = dict((p.ref, p) for p in (projects or [ProjectState("abcdefghijklmnopqrst")]))
        self.fail_next = []
        self.requests = []
        self.lock = threading.Lock()

    def add_project(self, ref, **kwargs):
        self.projects[ref] = ProjectState(ref, **kwargs)
        return self.projects[ref]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, code, doc=None, headers=None):
                body = b"" if doc is None else json.dumps(doc).encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method):
                with fake.lock:
                    fake.requests.append((method, self.path, self.headers.get("Authorization", "")))
                    if fake.fail_next:
                        code = fake.fail_next.pop(0)
                        return self._send(code, {"message": "injected %d" % code},
                                          {"Retry-After": "0"} if code == 429 else None)
                    if self.headers.get("Authorization") != "Bearer " + fake.token:
                        return self._send(401, {"message": "Unauthorized"})
                    for pattern, wanted in ((_RESTORE, "POST"), (_BACKUPS, "GET"), (_PROJECT, "GET")):
                        match = pattern.match(self.path)
                        if not match:
                            continue
                        if method != wanted:
                            return self._send(405, {"message": "method not allowed"})
                        project = fake.projects.get(match.group(1))
                        if project is None:
                            return self._send(404, {"message": "Project not found"})
                        if pattern is _PROJECT:
                            return self._send(200, project.project_doc())
                        if pattern is _BACKUPS:
                            return self._send(200, project.backups_doc())
                        length = int(self.headers.get("Content-Length") or 0)
                        try:
                            body = json.loads(self.rfile.read(length) or b"{}")
                            target = int(body["recovery_time_target_unix"])
                        except (ValueError, KeyError, TypeError):
                            return self._send(400, {"message": "recovery_time_target_unix is required"})
                        refused = project.refuse_restore(target)
                        if refused:
                            return self._send(400, {"message": refused})
                        project.start_restore(target)
                        return self._send(201)
                    return self._send(404, {"message": "Not found"})

            def do_GET(self):  # noqa: N802
                self._route("GET")

            def do_POST(self):  # noqa: N802
                self._route("POST")

        return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description="Local fake of the Supabase Management API (127.0.0.1 only).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--ref", default="abcdefghijklmnopqrst")
    parser.add_argument("--backup-age-hours", type=float, default=3.0)
    parser.add_argument("--pitr", action="store_true")
    parser.add_argument("--restore-start-delay", type=float, default=5.0, help="seconds before RESTORING")
    parser.add_argument("--restoring-seconds", type=float, default=20.0)
    parser.add_argument("--coming-up-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    fake = FakeManagementApi(token=args.token, port=args.port,
                             projects=[ProjectState(args.ref, backup_age_hours=args.backup_age_hours,
                                                    pitr_enabled=args.pitr,
                                                    restore_start_delay=args.restore_start_delay,
                                                    restoring_seconds=args.restoring_seconds,
                                                    coming_up_seconds=args.coming_up_seconds)])
    fake.start()
    print("fake Supabase Management API on %s (project %s)" % (fake.url, args.ref), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()
