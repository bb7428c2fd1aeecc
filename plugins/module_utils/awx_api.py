# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify, through the AWX (Automation Controller) API, that this job's workflow approval node was approved.

Under AWX the production job runs as a node of the workflow "staging -> approval -> production". Who approved
the approval node, and when, is recorded by AWX; a variable passed to the job is not. This client reads,
with the documented ``/api/v2`` endpoints:

1. ``GET /api/v2/jobs/{JOB_ID}/``: the running job (``JOB_ID`` is set by AWX in the job's environment) and
   ``summary_fields.source_workflow_job`` (the workflow job it belongs to);
2. ``GET /api/v2/workflow_jobs/{id}/``: that workflow job, still running, and who launched it
   (``summary_fields.created_by``);
3. ``GET /api/v2/workflow_jobs/{id}/workflow_nodes/`` (paginated): the nodes, their ``job`` and the
   ``success_nodes`` / ``failure_nodes`` / ``always_nodes`` edges; approval nodes have
   ``summary_fields.job.type == "workflow_approval"``;
4. ``GET /api/v2/workflow_approvals/{id}/``: ``status`` (``successful`` once approved), ``timed_out``,
   ``finished`` (when it was decided) and ``summary_fields.approved_or_denied_by.username``.

The approval counts only if its node leads, through its *success* edge, to the node that runs this job.
Authentication comes from the environment AWX's controller credential injects (``CONTROLLER_OAUTH_TOKEN``,
or ``CONTROLLER_USERNAME``/``CONTROLLER_PASSWORD``; ``TOWER_*`` too); the URL comes from the database's
policy, never from a variable. Tests run against ``tests/support/fake_awx_api.py``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.hotdash.supabase.plugins.module_utils import approval_evidence
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.http_json import JsonApi

SERVICE = "AWX API"
_EDGES = ("success_nodes", "failure_nodes", "always_nodes")
_MAX_PAGES = 50


class AwxApprovalError(SupabaseError):
    """AWX could not be asked, or it does not show an approval that covers this job."""


def _describe_status(status, where, reason):
    if status == 401:
        return ("AWX rejected the credentials (401) on %s; attach a controller credential to the job template "
                "(CONTROLLER_OAUTH_TOKEN or CONTROLLER_USERNAME/CONTROLLER_PASSWORD)" % where)
    if status == 403:
        return "AWX denied %s (403): the credential's user cannot read this job or workflow%s" % (where, reason)
    if status == 404:
        return "AWX found nothing at %s (404)%s" % (where, reason)
    return None


def credentials_from_env(environ):
    """``{"token": ...}`` or ``{"username": ..., "password": ...}`` from a controller credential's variables."""
    def first(*names):
        for name in names:
            if environ.get(name):
                return environ[name]
        return None
    token = first("CONTROLLER_OAUTH_TOKEN", "TOWER_OAUTH_TOKEN")
    if token:
        return {"token": token}
    username = first("CONTROLLER_USERNAME", "TOWER_USERNAME")
    password = first("CONTROLLER_PASSWORD", "TOWER_PASSWORD")
    if username and password:
        return {"username": username, "password": password}
    return {}


class AwxApi(object):
    """The four read-only endpoints the approval check needs."""

    def __init__(self, base_url, token=None, username=None, password=None, validate_certs=True, **kwargs):
        if token:
            headers, secrets = {"Authorization": "Bearer %s" % token}, [token]
        elif username and password:
            basic = base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")
            headers, secrets = {"Authorization": "Basic %s" % basic}, [password, basic]
        else:
            raise InvalidInput("no AWX credentials: attach a controller credential to the job template (it sets "
                               "CONTROLLER_OAUTH_TOKEN, or CONTROLLER_USERNAME and CONTROLLER_PASSWORD)")
        self.base_url = str(base_url or "").rstrip("/")
        self.http = JsonApi(SERVICE, base_url, headers=headers, secrets=secrets, validate_certs=validate_certs,
                            error=AwxApprovalError, describe_status=_describe_status, **kwargs)

    def get(self, path):
        data = self.http.request("GET", path)
        if not isinstance(data, dict):
            raise AwxApprovalError("AWX API returned no object for GET %s" % path)
        return data

    def job(self, job_id):
        return self.get("/api/v2/jobs/%d/" % _id(job_id, "job id"))

    def workflow_job(self, workflow_job_id):
        return self.get("/api/v2/workflow_jobs/%d/" % _id(workflow_job_id, "workflow job id"))

    def workflow_nodes(self, workflow_job_id):
        """Every node of a workflow job (all pages)."""
        path = "/api/v2/workflow_jobs/%d/workflow_nodes/?page_size=200" % _id(workflow_job_id, "workflow job id")
        nodes = []
        for _page in range(_MAX_PAGES):
            data = self.get(path)
            nodes.extend(data.get("results") or [])
            path = data.get("next")
            if not path:
                return nodes
        raise AwxApprovalError("AWX listed more than %d pages of workflow nodes for workflow job %s"
                               % (_MAX_PAGES, workflow_job_id))

    def workflow_approval(self, approval_id):
        return self.get("/api/v2/workflow_approvals/%d/" % _id(approval_id, "workflow approval id"))


def _id(value, name):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput("AWX %s must be a number, got %r" % (name, value))
    if number <= 0:
        raise InvalidInput("AWX %s must be positive, got %r" % (name, value))
    return number


def _user(summary, key):
    person = (summary or {}).get(key) or {}
    return person.get("username") or None


def _leads_to(nodes, start, target):
    """True when node ``start``'s success edge leads (through any edges afterwards) to node ``target``."""
    by_id = dict((node["id"], node) for node in nodes)
    frontier = list(by_id.get(start, {}).get("success_nodes") or [])
    seen = set()
    while frontier:
        current = frontier.pop()
        if current == target:
            return True
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        for edge in _EDGES:
            frontier.extend(by_id[current].get(edge) or [])
    return False


def verify_workflow_approval(api, job_id):
    """Evidence that this job's workflow approval node was approved, read from AWX; AwxApprovalError otherwise.

    Returns ``{awx_url, job_id, workflow_job_id, workflow_job_name, approval_id, approval_name, approver,
    approved_at, launched_by}``.
    """
    if not job_id:
        raise AwxApprovalError("no AWX job id: JOB_ID is not set, so this run is not an AWX job and cannot use an "
                               "AWX workflow approval")
    job = api.job(job_id)
    if job.get("status") != "running":
        raise AwxApprovalError("AWX job %s is %s, not running: the approval check must run inside that job"
                               % (job_id, job.get("status")))
    workflow = ((job.get("summary_fields") or {}).get("source_workflow_job") or {}).get("id")
    if not workflow:
        raise AwxApprovalError("AWX job %s was not launched by a workflow; launch the workflow with its approval "
                               "node instead of the job template" % job_id)
    workflow_job = api.workflow_job(workflow)
    if workflow_job.get("status") != "running":
        raise AwxApprovalError("AWX workflow job %s is %s, not running" % (workflow, workflow_job.get("status")))
    nodes = api.workflow_nodes(workflow)
    own = [node for node in nodes if str(node.get("job")) == str(job_id)]
    if not own:
        raise AwxApprovalError("AWX workflow job %s has no node running job %s" % (workflow, job_id))
    candidates = [node for node in nodes
                  if ((node.get("summary_fields") or {}).get("job") or {}).get("type") == "workflow_approval"
                  and _leads_to(nodes, node["id"], own[0]["id"])]
    if not candidates:
        raise AwxApprovalError("AWX workflow job %s has no approval node before job %s; add one (type "
                               "workflow_approval) on the path to the production job" % (workflow, job_id))
    decided = []
    for node in candidates:
        approval = api.workflow_approval(node["job"])
        approver = _user(approval.get("summary_fields"), "approved_or_denied_by")
        if approval.get("status") != "successful" or approval.get("timed_out") or not approver:
            raise AwxApprovalError("AWX approval %s (%s) of workflow job %s is %s%s, not approved by a person"
                                   % (node["job"], approval.get("name"), workflow, approval.get("status"),
                                      " (timed out)" if approval.get("timed_out") else ""))
        decided.append((approval_evidence.parse_time(approval.get("finished"), "AWX approval finished"),
                        approval, approver))
    decided.sort(key=lambda item: item[0])
    approved_at, approval, approver = decided[-1]
    summary = workflow_job.get("summary_fields") or {}
    launched_by = _user(summary, "created_by") or (workflow_job.get("launched_by") or {}).get("name")
    return {
        "awx_url": api.base_url,
        "job_id": int(job_id),
        "workflow_job_id": int(workflow),
        "workflow_job_name": workflow_job.get("name"),
        "approval_id": approval.get("id"),
        "approval_name": approval.get("name"),
        "approver": approver,
        "approved_at": approval_evidence.iso(approved_at),
        "launched_by": launched_by,
    }
