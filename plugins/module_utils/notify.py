# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run notifications: the webhook payload and the runbook's post-apply feedback entry.

The runbook's "Post-Apply Communication" asks to update ``feedback/data/<date>.md`` with the apply
results and to share the logs in ``artifacts/data/``; "Rollback Required" asks to notify the manager
at once with the reason. :func:`payload` is what a webhook receives (``text`` works for Slack/Teams
incoming webhooks, the other keys for anything else); :func:`feedback_entry` is the Markdown entry.
Each entry carries a marker (run id + event) so the same event is never appended twice.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os


from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact, redact_all
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import append_once

EVENTS = ("start", "success", "success_with_warnings", "failure", "rollback")
_HEADLINE = {
    "start": "STARTED",
    "success": "SUCCEEDED",
    "success_with_warnings": "SUCCEEDED WITH WARNINGS",
    "failure": "FAILED",
    "rollback": "ROLLED BACK (CRITICAL: notify the manager)",
}
HOST_STATUSES = ("ok", "succeeded_with_warnings", "failed", "rolled_back", "skipped", "pending")
WARNINGS_LISTED = 10


def validate_event(event):
    if event not in EVENTS:
        raise InvalidInput("unknown notification event %r; use one of %s" % (event, ", ".join(EVENTS)))
    return event


def normalize_results(results):
    """Per-host results as a sorted list of ``{host, status, detail}``.

    Accepts ``{host: status}``, ``{host: {status, detail}}`` or ``[{host, status, detail}]``.
    """
    rows = []
    if isinstance(results, dict):
        for host, value in results.items():
            row = dict(value) if isinstance(value, dict) else {"status": value}
            row["host"] = host
            rows.append(row)
    elif isinstance(results, list):
        for value in results:
            if not isinstance(value, dict) or not value.get("host"):
                raise InvalidInput("each result needs a host; got %r" % (value,))
            rows.append(dict(value))
    elif results:
        raise InvalidInput("results must be a dict of host: status or a list of {host, status}; got %s"
                           % type(results).__name__)
    out = []
    for row in rows:
        status = str(row.get("status") or "pending")
        if status not in HOST_STATUSES:
            raise InvalidInput("result of host %s has status %r; use one of %s"
                               % (row["host"], status, ", ".join(HOST_STATUSES)))
        out.append({"host": str(row["host"]), "status": status, "detail": str(row.get("detail") or "")})
    return sorted(out, key=lambda r: r["host"])


def headline(event, environment, run_id):
    return "[hotdash.supabase] %s migration run %s %s" % (environment, run_id or "(no run id)", _HEADLINE[event])


def _warning_lines(warnings):
    """The run's warnings (missed success criteria, ...) as lines, at most WARNINGS_LISTED and a count of the rest."""
    lines = [" ".join(str(w).split()) for w in (warnings or []) if str(w).strip()]
    if len(lines) > WARNINGS_LISTED:
        lines = lines[:WARNINGS_LISTED] + ["... and %d more (see the reports)" % (len(lines) - WARNINGS_LISTED)]
    return lines


def payload(event, environment, run_id=None, versions=None, results=None, reason=None, report_dir=None,
            index=None, warnings=None, secrets=()):
    """The JSON body posted to the webhook; every text is redacted. ``warnings`` (a run that succeeded with
    warnings: the missed success criteria) are listed one per line."""
    validate_event(event)
    rows = normalize_results(results)
    failed = [r["host"] for r in rows if r["status"] in ("failed", "rolled_back")]
    lines = [headline(event, environment, run_id)]
    if versions:
        lines.append("versions: %s" % ", ".join(str(v) for v in versions))
    if rows:
        lines.append("hosts: %d (%d failed or rolled back%s)" % (len(rows), len(failed),
                                                                 ": " + ", ".join(failed) if failed else ""))
    if reason:
        lines.append("reason: %s" % reason)
    lines += ["warning: %s" % line for line in _warning_lines(warnings)]
    if index or report_dir:
        lines.append("report: %s" % (index or report_dir))
    body = {
        "text": "\n".join(lines),
        "event": event,
        "environment": environment,
        "run_id": run_id,
        "versions": [str(v) for v in (versions or [])],
        "results": rows,
        "reason": reason or None,
        "warnings": [str(w) for w in (warnings or [])],
        "report_dir": report_dir,
        "index": index,
    }
    return redact_all(body, secrets)  # every string anywhere in the body, per-host details included


def marker(run_id, event):
    return "<!-- hotdash.supabase run=%s event=%s -->" % (run_id or "none", event)


def feedback_entry(event, environment, run_id=None, versions=None, results=None, reason=None, report_dir=None,
                   artifacts=None, moment=None, warnings=None, secrets=()):
    """The Markdown entry appended to the feedback file (results, warnings and artifact paths)."""
    validate_event(event)
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    rows = normalize_results(results)
    out = [marker(run_id, event),
           "## %s %s migration %s" % (moment.strftime("%Y-%m-%d %H:%M UTC"), environment, _HEADLINE[event].lower()),
           "",
           "- **run**: %s" % (run_id or "(none)"),
           "- **environment**: %s" % environment,
           "- **versions**: %s" % (", ".join(str(v) for v in versions) if versions else "(none)")]
    if reason:
        out.append("- **reason**: %s" % str(reason).replace("\n", " "))
    out += ["- **warning**: %s" % line for line in _warning_lines(warnings)]
    if report_dir:
        out.append("- **artifacts**: `%s`" % report_dir)
    if rows:
        out += ["", "| host | result | detail |", "| --- | --- | --- |"]
        for row in rows:
            detail = row["detail"].replace("|", "\\|").replace("\n", " ")
            out.append("| %s | %s | %s |" % (row["host"], row["status"].replace("_", " "), detail))
    if artifacts:
        out += ["", "Artifacts:", ""]
        for path in artifacts:
            out.append("- `%s`" % (os.path.join(report_dir, path) if report_dir else path))
    if event == "rollback":
        out += ["", "Next: notify the manager now, document the rollback steps, share the rollback log and "
                    "schedule the post-mortem."]
    elif event == "failure":
        out += ["", "Next: review the failed step in the artifacts before any new attempt."]
    elif event == "success_with_warnings":
        out += ["", "Next: the release stays; review each warning (a missed success criterion is not a rollback "
                    "trigger) and decide whether it needs a fix."]
    return redact("\n".join(out) + "\n", secrets)


def append_entry(path, text, entry_marker, check_mode=False):
    """Append ``text`` to the feedback file unless an entry with the same marker is there; ``changed``."""
    return append_once(path, lambda current: entry_marker in current,
                       lambda current: ("\n" if current and not current.endswith("\n\n") else "") + text,
                       check_mode=check_mode, what="feedback file")
