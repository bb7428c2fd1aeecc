"""The AWX workflow approval check against a local server that speaks AWX's /api/v2 shapes."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "support"))
from fake_awx_api import FakeAwx  # noqa: E402

from ansible_collections.hotdash.supabase.plugins.module_utils import awx_api  # noqa: E402
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput  # noqa: E402


@pytest.fixture
def awx():
    with FakeAwx(token="awx-secret-token", username="svc", password="svc-pass") as fake:
        yield fake


def client(fake, **kwargs):
    kwargs.setdefault("token", "awx-secret-token")
    return awx_api.AwxApi(fake.url, retries=0, **kwargs)


def test_an_approved_node_before_this_job_is_the_evidence(awx):
    ids = awx.workflow(approver="ana", launcher="maria", approved_ago=600)
    found = awx_api.verify_workflow_approval(client(awx), ids["job_id"])
    assert found["approver"] == "ana" and found["launched_by"] == "maria"
    assert found["workflow_job_id"] == ids["workflow_job_id"] and found["approval_id"] == ids["approval_id"]
    assert found["awx_url"] == awx.url and found["approved_at"].endswith("Z")
    assert ("GET", "/api/v2/workflow_approvals/%d/" % ids["approval_id"]) in awx.requests
    # basic authentication (CONTROLLER_USERNAME / CONTROLLER_PASSWORD) works the same
    creds = awx_api.credentials_from_env({"CONTROLLER_USERNAME": "svc", "CONTROLLER_PASSWORD": "svc-pass"})
    assert awx_api.verify_workflow_approval(client(awx, token=None, **creds), ids["job_id"])["approver"] == "ana"


@pytest.mark.parametrize("scenario, message", [
    (dict(approval_status="pending"), "is pending, not approved"),
    (dict(approval_status="failed"), "is failed, not approved"),
    (dict(approval_status="failed", timed_out=True), "(timed out)"),
    (dict(production_status="successful"), "is successful, not running"),
    (dict(workflow_status="canceled"), "workflow job"),
    (dict(approval_leads_to_production=False), "has no approval node before job"),
])
def test_anything_short_of_an_approval_before_this_running_job_is_refused(awx, scenario, message):
    ids = awx.workflow(**scenario)
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx), ids["job_id"])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_job_outside_any_workflow_or_unknown_is_refused(awx):
    ids = awx.workflow()
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx), ids["staging_job_id"])
    assert "not running" in str(err.value)
    awx.jobs[ids["job_id"]]["summary_fields"] = {}
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx), ids["job_id"])
    assert "was not launched by a workflow" in str(err.value)
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx), 999999)
    assert "(404)" in str(err.value)
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx), None)
    assert "JOB_ID is not set" in str(err.value)


def test_a_wrong_token_fails_in_one_line_without_the_token(awx):
    ids = awx.workflow()
    with pytest.raises(awx_api.AwxApprovalError) as err:
        awx_api.verify_workflow_approval(client(awx, token="wrong-token-value"), ids["job_id"])
    assert "rejected the credentials (401)" in str(err.value)
    assert "wrong-token-value" not in str(err.value)
    with pytest.raises(InvalidInput) as err:
        awx_api.AwxApi(awx.url)
    assert "CONTROLLER_OAUTH_TOKEN" in str(err.value)


def test_every_page_of_workflow_nodes_is_read(awx):
    ids = awx.workflow()
    nodes = awx.nodes[ids["workflow_job_id"]]
    for extra in range(5):   # unrelated nodes first push the workflow's own nodes onto later pages
        nodes.insert(0, dict(nodes[0], id=9000 + extra, job=8000 + extra, success_nodes=[]))
    awx.max_page_size = 2
    assert awx_api.verify_workflow_approval(client(awx), ids["job_id"])["approver"] == "ana"
    pages = [path for method, path in awx.requests if path.endswith("/workflow_nodes/")]
    assert len(pages) == 4


def test_credentials_come_from_the_controller_credential():
    assert awx_api.credentials_from_env({"CONTROLLER_OAUTH_TOKEN": "t", "CONTROLLER_USERNAME": "u"}) == {"token": "t"}
    assert awx_api.credentials_from_env({"TOWER_OAUTH_TOKEN": "t2"}) == {"token": "t2"}
    assert awx_api.credentials_from_env({"CONTROLLER_USERNAME": "u"}) == {}
