#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: notify_message
short_description: Compose a run notification and append the runbook's post-apply entry to the feedback file
version_added: 0.1.0
description:
  - Builds the webhook payload for a run event (C(start), C(success), C(success_with_warnings), C(failure),
    C(rollback)), that is a C(text) line for chat webhooks plus structured keys (environment, run id, versions,
    per-host results, reason, warnings, report path).
  - C(success_with_warnings) is a run that applied and kept its release but missed a success criterion (error rate,
    query P95, pool); its headline says SUCCEEDED WITH WARNINGS and every warning is listed.
  - When O(feedback_file) is given, appends a Markdown entry with the results and the artifact paths (the
    runbook's "Update feedback/data/<date>.md with apply results"). Each entry carries a marker with the run id
    and event, so the same event is appended once (C(changed=false) on a repeat).
  - Texts are redacted (DSN passwords masked).
options:
  event:
    description: What happened.
    type: str
    required: true
    choices: [start, success, success_with_warnings, failure, rollback]
  environment:
    description: Environment of the run.
    type: str
    required: true
    choices: [local, staging, production]
  run_id:
    description: Run identifier (name of the run directory).
    type: str
  versions:
    description: Migration versions concerned.
    type: list
    elements: str
    default: []
  results:
    description:
      - "Per-host results, C({host: status}) or a list of C({host, status, detail})."
      - Status is one of C(ok), C(succeeded_with_warnings), C(failed), C(rolled_back), C(skipped), C(pending).
    type: raw
    default: {}
  reason:
    description: Why the run failed or was rolled back.
    type: str
  warnings:
    description: What the run warned about (missed success criteria, what could not be measured), one line each.
    type: list
    elements: str
    default: []
  report_dir:
    description: The run directory; its files are listed as artifacts in the feedback entry.
    type: path
  feedback_file:
    description:
      - Markdown file to append the entry to, for example C(feedback/data/2025-10-19.md); created with its directory
        when missing. A relative path is relative to the controller's current directory. No file is written when omitted.
    type: path
extends_documentation_fragment:
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the payload and whether the entry would be appended, without writing.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Append the post-apply entry and compose the webhook payload
  hotdash.supabase.notify_message:
    event: success
    environment: production
    run_id: "{{ supabase_report_dir | basename }}"
    versions: ["20251011000000"]
    results: {prod-eu: ok, prod-us: ok}
    report_dir: "{{ supabase_report_dir }}"
    feedback_file: "feedback/data/{{ now(utc=true, fmt='%Y-%m-%d') }}.md"
  run_once: true
  register: message
'''

RETURN = r'''
payload:
  description: The JSON body for the webhook.
  returned: always
  type: dict
  sample: {"text": "[hotdash.supabase] production migration run production_20251019T020500Z SUCCEEDED",
           "event": "success", "environment": "production", "run_id": "production_20251019T020500Z",
           "versions": ["20251011000000"], "results": [{"host": "prod-eu", "status": "ok", "detail": ""}],
           "reason": null, "warnings": [], "report_dir": "artifacts/data/production_20251019T020500Z", "index": null}
entry:
  description: The Markdown feedback entry.
  returned: always
  type: str
  sample: "## 2025-10-19 02:40 UTC production migration succeeded"
feedback_file:
  description: The feedback file, or null when none was given.
  returned: always
  type: str
  sample: feedback/data/2025-10-19.md
appended:
  description: True when the entry was (or in check mode would be) appended.
  returned: always
  type: bool
  sample: true
'''

import os

from ansible_collections.hotdash.supabase.plugins.module_utils import notify, runinfo
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option


def body(module):
    params = module.params
    secrets = list(module.no_log_values)
    report_dir = params["report_dir"]
    artifacts, index = [], None
    if report_dir and os.path.isdir(report_dir):
        artifacts = runinfo.list_run_files(report_dir)
        if os.path.exists(os.path.join(report_dir, runinfo.INDEX_NAME)):
            index = os.path.join(report_dir, runinfo.INDEX_NAME)
            artifacts = [runinfo.INDEX_NAME] + artifacts
    common = dict(run_id=params["run_id"], versions=params["versions"], results=params["results"],
                  reason=params["reason"], report_dir=report_dir, warnings=params["warnings"], secrets=secrets)
    message = notify.payload(params["event"], params["environment"], index=index, **common)
    entry = notify.feedback_entry(params["event"], params["environment"], artifacts=artifacts, **common)
    appended = False
    if params["feedback_file"]:
        appended = notify.append_entry(params["feedback_file"], entry, notify.marker(params["run_id"], params["event"]),
                                       check_mode=module.check_mode)
    return dict(changed=appended, payload=message, entry=entry, feedback_file=params["feedback_file"],
                appended=appended)


def main():
    module = new_module(dict(
        event=dict(type="str", required=True, choices=list(notify.EVENTS)),
        environment=environment_option(required=True),
        run_id=dict(type="str"),
        versions=dict(type="list", elements="str", default=[]),
        results=dict(type="raw", default={}),
        reason=dict(type="str"),
        warnings=dict(type="list", elements="str", default=[]),
        report_dir=dict(type="path"),
        feedback_file=dict(type="path"),
    ), with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
