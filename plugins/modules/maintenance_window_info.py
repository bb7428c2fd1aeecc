#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: maintenance_window_info
short_description: Check that the current UTC time is inside a maintenance window
version_added: 0.1.0
description:
  - Compares the current UTC time with the configured maintenance windows and returns a preflight check named
    C(maintenance_window) with status C(ok) (inside, or no window required), C(fail) (outside) or C(waived)
    (outside, with a recorded O(override_reason)).
  - Production's default window is the runbook's off-peak 02:00-04:00 UTC; other environments need no window
    unless O(windows) is given.
  - Fails the task for being outside a window only with O(fail_on_failed=true); the preflight role decides from the
    check.
options:
  environment:
    description: Environment the run targets; picks the default windows when O(windows) is not given.
    type: str
    required: true
    choices: [local, staging, production]
  windows:
    description:
      - Windows as C(HH:MM-HH:MM) strings (UTC, may wrap midnight such as C(22:00-02:00)) or dicts with C(start),
        C(end) and optionally C(days) (the days a window starts on, C(mon) ... C(sun)).
      - An empty list means no window is required.
    type: list
    elements: raw
  now:
    description: The time to check instead of the clock (ISO 8601, for rehearsals and tests).
    type: str
  override_reason:
    description: Why running outside the window is acceptable; recorded in the report. Makes an outside run C(waived).
    type: str
extends_documentation_fragment:
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Check the production maintenance window
  hotdash.supabase.maintenance_window_info:
    environment: production
    windows: ["02:00-04:00"]
  register: __supabase_preflight_window

- name: Run outside the window with a recorded reason
  hotdash.supabase.maintenance_window_info:
    environment: production
    fail_on_failed: true
    override_reason: "CHG-1234 hotfix approved by the manager"
'''

RETURN = r'''
checks:
  description: One check, C(maintenance_window), in the shape M(hotdash.supabase.check_report) takes.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "maintenance_window", "status": "ok", "detail": "now 2026-11-26T02:30:00Z is inside the
            maintenance window 02:00-04:00 UTC", "remedy": ""}]
passed:
  description: True when the check did not fail.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 1}
inside:
  description: True when now is inside a window (or none is required).
  returned: always
  type: bool
  sample: true
windows:
  description: The windows checked, normalised.
  returned: always
  type: list
  elements: str
  sample: ["02:00-04:00 UTC"]
next_window_start:
  description: When the next window opens (UTC), when now is outside all windows.
  returned: when outside
  type: str
  sample: "2026-11-27T02:00:00Z"
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.maintenance_window import DEFAULT_WINDOWS, parse_now, window_check
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    windows = params["windows"]
    if windows is None:
        windows = DEFAULT_WINDOWS.get(params["environment"], [])
    check = window_check(windows, now=parse_now(params["now"]), override_reason=params["override_reason"])
    extra = dict(inside=check["data"]["inside"], windows=check["data"]["windows"])
    if "next_window_start" in check["data"]:
        extra["next_window_start"] = check["data"]["next_window_start"]
    return check_result(module, [check], "maintenance window", **extra)


def main():
    argument_spec = dict(
        environment=environment_option(required=True),
        windows=dict(type="list", elements="raw"),
        now=dict(type="str"),
        override_reason=dict(type="str"),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="maintenance_window")


if __name__ == "__main__":
    main()
