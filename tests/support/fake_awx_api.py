"""A local stand-in for the AWX / Automation Controller API (``/api/v2``), on 127.0.0.1 only.

Speaks the documented shapes (AWX's serializers) of the four read endpoints the approval check uses:

- ``GET /api/v2/jobs/{id}/``                      -> ``{id, type: "job", name, status, launch_type: "workflow",
  summary_fields: {source_workflow_job: {id, name, status, failed, elapsed}}, launched_by: {...}}``
- ``GET /api/v2/workflow_jobs/{id}/``             -> ``{id, type: "workflow_job", name, status, launch_type,
  summary_fields: {created_by: {id, username, first_name, last_name}}, launched_by: {id, name, type, url}}``
- ``GET /api/v2/workflow_jobs/{id}/workflow_nodes/?page_size=N&page=P`` -> ``{count, next, previous, results: [
  {id, type: "workflow_job_node", job, workflow_job, identifier, success_nodes, failure_nodes, always_nodes,
  summary_fields: {job: {id, name, status, failed, elapsed, type}}}]}``
- ``GET /api/v2/workflow_approvals/{id}/``        -> ``{id, type: "workflow_approval", name, status, failed,
  started, finished, timed_out, summary_fields: {approved_or_denied_by: {id, username, ...}, source_workflow_job}}``

A bearer token or HTTP basic credentials are required (401 otherwise); unknown ids -> 404 ``{"detail": "Not found."}``.
``requests`` lists every (method, path) served, for assertions.

:meth:`FakeAwx.workflow` builds the collection's workflow: staging job -> approval node -> production job, and
returns the ids (``job_id`` of the production job is what AWX puts in ``JOB_ID``).

Standalone (for a manual try)::

    python tests/support/fake_awx_api.py --port 8052 --token demo-token --approver ana --launcher maria
"""
import argparse
import base64
import datetime
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_JOB = re.compile(r"^/api/v2/jobs/(\d+)/$")
_WORKFLOW_JOB = re.compile(r"^/api/v2/workflow_jobs/(\d+)/$")
_NODES = re.compile(r"^/api/v2/workflow_jobs/(\d+)/workflow_nodes/$")
_APPROVAL = re.compile(r"^/api/v2/workflow_approvals/(\d+)/$")


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def user(uid, username):
    return {"id": uid, "username": username, "first_name": "", "last_name": ""}


class FakeAwx(object):
    def __init__(self, token="awx-token", username=None, password=None, host="127.0.0.1", port=0):
        self.token = token
        self.basic = (base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
                      if username and password else None)
        self.jobs, self.workflow_jobs, self.nodes, self.approvals = {}, {}, {}, {}
        self.requests = []
        # AWX caps page_size at its MAX_PAGE_SIZE setting (200 by default); a small cap exercises pagination.
        self.max_page_size = 200
        self._next_id = 100
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._thread = None

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host, port)

    def new_id(self):
        self._next_id += 1
        return self._next_id

    # -- scenario ---------------------------------------------------------------------------------------------------

    def workflow(self, approver="ana", launcher="maria", approval_status="successful", approved_ago=600,
                 timed_out=False, production_status="running", workflow_status="running", approval_leads_to_production=True):
        """staging job -> approval node -> production job; returns the ids."""
        now = time.time()
        wf = self.new_id()
        self.workflow_jobs[wf] = {
            "id": wf, "type": "workflow_job", "url": "/api/v2/workflow_jobs/%d/" % wf,
            "name": "hotdash apply staging then production", "status": workflow_status, "failed": False,
            "launch_type": "manual", "started": iso(now - 3600), "finished": None,
            "summary_fields": {"created_by": user(7, launcher)},
            "launched_by": {"id": 7, "name": launcher, "type": "user", "url": "/api/v2/users/7/"},
        }
        staging_job, approval_id, production_job = self.new_id(), self.new_id(), self.new_id()
        staging_node, approval_node, production_node = self.new_id(), self.new_id(), self.new_id()
        source = {"id": wf, "name": self.workflow_jobs[wf]["name"], "status": workflow_status, "failed": False,
                  "elapsed": 3600.0}
        for job_id, name, status in ((staging_job, "hotdash apply staging", "successful"),
                                     (production_job, "hotdash apply production", production_status)):
            self.jobs[job_id] = {"id": job_id, "type": "job", "url": "/api/v2/jobs/%d/" % job_id, "name": name,
                                 "status": status, "launch_type": "workflow",
                                 "summary_fields": {"source_workflow_job": dict(source)},
                                 "launched_by": {"id": wf, "name": self.workflow_jobs[wf]["name"],
                                                 "type": "workflow_job", "url": "/api/v2/workflow_jobs/%d/" % wf}}
        decided = approval_status != "pending"
        self.approvals[approval_id] = {
            "id": approval_id, "type": "workflow_approval", "url": "/api/v2/workflow_approvals/%d/" % approval_id,
            "name": "Manager approval: production apply window", "status": approval_status,
            "failed": approval_status == "failed", "launch_type": "workflow", "timed_out": timed_out,
            "started": iso(now - approved_ago - 60), "finished": iso(now - approved_ago) if decided else None,
            "can_approve_or_deny": not decided, "approval_expiration": None,
            "summary_fields": {"source_workflow_job": dict(source),
                               "approved_or_denied_by": user(9, approver) if decided and approver and not timed_out else None},
        }
        if self.approvals[approval_id]["summary_fields"]["approved_or_denied_by"] is None:
            del self.approvals[approval_id]["summary_fields"]["approved_or_denied_by"]

        def node(node_id, job_id, identifier, kind, name, status, success):
            return {"id": node_id, "type": "workflow_job_node", "url": "/api/v2/workflow_job_nodes/%d/" % node_id,
                    "job": job_id, "workflow_job": wf, "identifier": identifier, "success_nodes": success,
                    "failure_nodes": [], "always_nodes": [], "do_not_run": False,
                    "summary_fields": {"job": {"id": job_id, "name": name, "status": status, "failed": False,
                                               "elapsed": 1.0, "type": kind}}}
        self.nodes[wf] = [
            node(staging_node, staging_job, "staging", "job", "hotdash apply staging", "successful", [approval_node]),
            node(approval_node, approval_id, "manager-approval", "workflow_approval",
                 self.approvals[approval_id]["name"], approval_status,
                 [production_node] if approval_leads_to_production else []),
            node(production_node, production_job, "production", "job", "hotdash apply production", production_status,
                 []),
        ]
        if not approval_leads_to_production:
            self.nodes[wf][0]["success_nodes"] = [approval_node, production_node]
        return {"workflow_job_id": wf, "job_id": production_job, "staging_job_id": staging_job,
                "approval_id": approval_id}

    # -- HTTP --------------------------------------------------------------------------------------------------------

    def _authorized(self, header):
        if self.token and header == "Bearer %s" % self.token:
            return True
        return bool(self.basic) and header == "Basic %s" % self.basic

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body):
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                fake.requests.append(("GET", parts.path))
                if not fake._authorized(self.headers.get("Authorization", "")):
                    return self._send(401, {"detail": "Authentication credentials were not provided."})
                for pattern, table in ((_JOB, fake.jobs), (_WORKFLOW_JOB, fake.workflow_jobs),
                                       (_APPROVAL, fake.approvals)):
                    match = pattern.match(parts.path)
                    if match:
                        item = table.get(int(match.group(1)))
                        return self._send(200, item) if item else self._send(404, {"detail": "Not found."})
                match = _NODES.match(parts.path)
                if match and int(match.group(1)) in fake.nodes:
                    query = parse_qs(parts.query)
                    size = min(int((query.get("page_size") or ["25"])[0]), fake.max_page_size)
                    page = int((query.get("page") or ["1"])[0])
                    nodes = fake.nodes[int(match.group(1))]
                    chunk = nodes[(page - 1) * size:page * size]
                    more = page * size < len(nodes)
                    return self._send(200, {
                        "count": len(nodes), "results": chunk,
                        "next": "%s?page=%d&page_size=%d" % (parts.path, page + 1, size) if more else None,
                        "previous": "%s?page=%d&page_size=%d" % (parts.path, page - 1, size) if page > 1 else None})
                # Any other path, and a workflow job without nodes, is unknown.
                return self._send(404, {"detail": "Not found."})

        return Handler

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8052)
    parser.add_argument("--token", default="demo-token")
    parser.add_argument("--approver", default="ana")
    parser.add_argument("--launcher", default="maria")
    args = parser.parse_args()
    fake = FakeAwx(token=args.token, port=args.port)
    ids = fake.workflow(approver=args.approver, launcher=args.launcher)
    print(json.dumps(dict(ids, url=fake.url)), flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
