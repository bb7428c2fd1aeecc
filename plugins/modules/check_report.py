#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: check_report
short_description: Write a preflight/verify/monitor check report as JSON, Markdown and JUnit XML
version_added: 0.1.0
description:
  - Takes the checks a phase role collected and writes them under O(report_dir) as C(<name>.json),
    C(<name>.md) and C(<name>.junit.xml) (AWX and CI render JUnit), and returns a one-screen summary.
  - Optionally fails the task, naming every failed check and its remedy, so a role can stop the run.
options:
  checks:
    description:
      - The checks. Each is a dict with C(name), C(status) (one of C(ok), C(warn), C(fail), C(waived), C(skipped)),
        and optionally C(detail), C(remedy), C(duration_ms) and C(data).
    type: list
    elements: dict
    required: true
  report_dir:
    description: Directory for the report files; created when missing.
    type: path
    required: true
  name:
    description: Base name of the files, for example C(preflight).
    type: str
    required: true
  title:
    description: Heading of the Markdown report and the summary. Defaults to O(name).
    type: str
  meta:
    description: Facts shown at the top of the report (environment, host, versions).
    type: dict
    default: {}
  formats:
    description: Which files to write.
    type: list
    elements: str
    default: [json, markdown, junit]
    choices: [json, markdown, junit]
extends_documentation_fragment:
  - hotdash.supabase.checks
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports are written in check mode too, since they describe the run and change no database.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Write the preflight report and stop on a failed check
  hotdash.supabase.check_report:
    name: preflight
    title: "Preflight {{ inventory_hostname }}"
    report_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    checks: "{{ __supabase_preflight_checks }}"
    fail_on_failed: true
'''

RETURN = r'''
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
summary:
  description: Counts per status and the names of failed checks.
  returned: always
  type: dict
  sample: {"total": 3, "counts": {"ok": 2, "warn": 1, "fail": 0, "waived": 0, "skipped": 0}, "passed": true,
           "failed_checks": []}
files:
  description: Paths of the files written, by format.
  returned: always
  type: dict
  sample: {"json": "artifacts/data/run/preflight.json", "markdown": "artifacts/data/run/preflight.md"}
lines:
  description: The one-screen summary, one line per check.
  returned: always
  type: list
  elements: str
  sample: ["Preflight: PASSED", "[PASS] drift: in sync"]
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, write_report


def body(module):
    params = module.params
    written = write_report(params["report_dir"], params["name"], params["title"] or params["name"], params["checks"],
                           meta=params["meta"], formats=params["formats"], secrets=list(module.no_log_values))
    result = dict(changed=False, passed=written["summary"]["passed"], summary=written["summary"],
                  files=written["files"], lines=written["lines"])
    if params["fail_on_failed"] and not result["passed"]:
        failed = [line.strip() for line in written["lines"] if line.startswith("[FAIL]") or line.startswith("   ")]
        raise CheckFailed("%s failed: %s" % (params["title"] or params["name"], "; ".join(failed)), **result)
    return result


def main():
    argument_spec = dict(
        checks=dict(type="list", elements="dict", required=True),
        report_dir=dict(type="path", required=True),
        name=dict(type="str", required=True),
        title=dict(type="str"),
        meta=dict(type="dict", default={}),
        formats=dict(type="list", elements="str", default=["json", "markdown", "junit"],
                     choices=["json", "markdown", "junit"]),
    )
    argument_spec.update(check_argument_spec("fail_on_failed"))
    module = new_module(argument_spec, with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
