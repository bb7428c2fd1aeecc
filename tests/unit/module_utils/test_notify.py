"""Unit tests of notification payloads and the post-apply feedback entry."""
import datetime

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import notify
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

MOMENT = datetime.datetime(2025, 10, 19, 2, 40, tzinfo=datetime.timezone.utc)


def test_results_accept_dicts_and_lists_and_reject_unknown_status():
    assert notify.normalize_results({"b": "ok", "a": {"status": "failed", "detail": "verify"}}) == [
        {"host": "a", "status": "failed", "detail": "verify"}, {"host": "b", "status": "ok", "detail": ""}]
    assert notify.normalize_results([{"host": "a"}])[0]["status"] == "pending"
    with pytest.raises(InvalidInput, match="status 'great'"):
        notify.normalize_results({"a": "great"})
    with pytest.raises(InvalidInput, match="each result needs a host"):
        notify.normalize_results([{"status": "ok"}])
    with pytest.raises(InvalidInput, match="unknown notification event 'done'"):
        notify.payload("done", "production")


def test_payload_names_failures_and_redacts_secrets():
    body = notify.payload("rollback", "production", run_id="production_x", versions=["20251011000000"],
                          results={"prod-eu": "rolled_back", "prod-us": "ok"},
                          reason="verify failed on postgresql://postgres:hunter2@db:5432/postgres",
                          index="artifacts/data/production_x/index.md")
    assert body["text"].splitlines()[0] == "[hotdash.supabase] production migration run production_x ROLLED BACK " \
                                           "(CRITICAL: notify the manager)"
    assert "hosts: 2 (1 failed or rolled back: prod-eu)" in body["text"]
    assert "hunter2" not in body["text"] and "hunter2" not in body["reason"]
    assert body["results"][0] == {"host": "prod-eu", "status": "rolled_back", "detail": ""}


def test_feedback_entry_lists_results_and_artifacts():
    text = notify.feedback_entry("success", "staging", run_id="staging_x", versions=["1", "2"],
                                 results={"stg": "ok"}, report_dir="artifacts/data/staging_x",
                                 artifacts=["index.md", "stg/verify.md"], moment=MOMENT)
    assert text.startswith(notify.marker("staging_x", "success") + "\n## 2025-10-19 02:40 UTC staging migration succeeded")
    assert "| stg | ok |  |" in text
    assert "- `artifacts/data/staging_x/stg/verify.md`" in text
    rollback = notify.feedback_entry("rollback", "production", run_id="p", reason="error rate 3%", moment=MOMENT)
    assert "- **reason**: error rate 3%" in rollback and "notify the manager now" in rollback


def test_feedback_entry_is_appended_once_per_run_and_event(tmp_path):
    path = str(tmp_path / "feedback" / "data" / "2025-10-19.md")
    first = notify.feedback_entry("success", "staging", run_id="r1", moment=MOMENT)
    assert notify.append_entry(path, first, notify.marker("r1", "success"), check_mode=True)
    assert not (tmp_path / "feedback").exists()
    assert notify.append_entry(path, first, notify.marker("r1", "success"))
    assert not notify.append_entry(path, first, notify.marker("r1", "success"))
    assert notify.append_entry(path, notify.feedback_entry("rollback", "staging", run_id="r1", moment=MOMENT),
                               notify.marker("r1", "rollback"))
    text = open(path).read()
    assert text.count("run=r1 event=success") == 1 and text.count("run=r1 event=rollback") == 1


def test_payload_redacts_per_host_details_too():
    # A per-host detail often carries an error message, and error messages can carry a DSN.
    body = notify.payload("failure", "staging", run_id="staging_x",
                          results={"stg1": {"status": "failed",
                                            "detail": "cannot connect to postgresql://app:s3cret-pw@db:5432/app"}},
                          secrets=["tok-123"], report_dir="artifacts/data/tok-123")
    assert body["results"][0]["detail"] == "cannot connect to postgresql://app:********@db:5432/app"
    assert "s3cret-pw" not in str(body) and "tok-123" not in str(body)


def test_a_run_that_succeeded_with_warnings_says_so_and_lists_them():
    warnings = ["prod-eu: probe get_tile_summary P95 < 500 ms missed: P95 812.0 ms over 420 call(s)",
                "prod-eu: error rate < 0.50% missed: 0.60% (9 of 1500 log rows were errors)"]
    body = notify.payload("success_with_warnings", "production", run_id="production_x", versions=["20251019090000"],
                          results={"prod-eu": "succeeded_with_warnings", "prod-us": "ok"}, warnings=warnings)
    lines = body["text"].splitlines()
    assert lines[0] == "[hotdash.supabase] production migration run production_x SUCCEEDED WITH WARNINGS"
    assert ["warning: " + w for w in warnings] == [line for line in lines if line.startswith("warning: ")]
    assert body["warnings"] == warnings and "0 failed or rolled back" in body["text"]
    entry = notify.feedback_entry("success_with_warnings", "production", run_id="production_x", moment=MOMENT,
                                  results={"prod-eu": "succeeded_with_warnings"}, warnings=warnings)
    assert "## 2025-10-19 02:40 UTC production migration succeeded with warnings" in entry
    assert "- **warning**: %s" % warnings[0] in entry and "| prod-eu | succeeded with warnings |" in entry
    assert "a missed success criterion is not a rollback trigger" in entry


def test_many_warnings_are_bounded():
    body = notify.payload("success_with_warnings", "staging", warnings=["w%d" % i for i in range(25)])
    listed = [line for line in body["text"].splitlines() if line.startswith("warning: ")]
    assert len(listed) == notify.WARNINGS_LISTED + 1 and listed[-1] == "warning: ... and 15 more (see the reports)"
