#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rpc_check
short_description: Call the dashboard's RPC functions, check what they return and time them against a budget
version_added: 0.1.0
description:
  - Calls each function of O(functions) with its arguments (C(SELECT * FROM fn(...))), in a C(READ ONLY) transaction
    that is rolled back, optionally as a role with JWT claims and settings, the way PostgREST would.
  - Fails the check when the function raises or does not exist, or when the result misses expected columns or does
    not meet C(expect) (runbook - critical RPC function failures, a rollback trigger).
  - When the median time of C(calls) calls exceeds C(budget) (runbook target - under 500 ms) the check warns, or fails
    with O(budget_status=fail). The check's C(data) carries C(over_budget) and, for a failure, C(failing) (the
    SQLSTATE of the error, or C(expect)/C(columns)), so M(hotdash.supabase.release_verdict) can tell a new failure
    from one that was there before the apply.
options:
  functions:
    description:
      - >-
        Each a dict with C(name) (the function, C(name) or C(schema.name); also the check name) and optionally
        C(function) (when the check name differs), C(args) (a list; a plain value is passed as a driver parameter,
        a dict with key C(sql) such as C(now() - interval '7 days') as an SQL expression, a dict with C(value) and
        C(type) with a cast), C(budget) (seconds), C(budget_status) (C(fail) or C(warn)), C(calls), C(expect) (as in
        M(hotdash.supabase.sql_check)), C(expect_columns), C(role), C(claims), C(settings). Any other key is refused,
        naming the allowed keys.
      - An argument's C(sql) expression is read with PostgreSQL's own parser (pglast) and must be one value (it cannot
        close the call's parentheses and add statements); C(calls) must be at least 1 and C(budget) 0 or more.
      - A string is a function name called without arguments.
    type: list
    elements: raw
    required: true
  budget:
    description:
      - Default time budget per function, in seconds (C(0.5) is 500 ms), compared with the median of its calls; 0 or more.
      - Reports show the budget and the timings in milliseconds.
    type: float
    default: 0.5
  budget_status:
    description:
      - Status of a function over its budget, unless the function sets its own C(budget_status). C(warn) by default
        (a budget is a target); C(fail) makes an overrun a failed check (and, after an apply, a rollback trigger when
        the function was within budget before it).
    type: str
    choices: [warn, fail]
    default: warn
  calls:
    description:
      - Default number of calls per function (at least 1); the median is compared, so one cold call does not fail it.
    type: int
    default: 3
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.STATEMENT_TIMEOUT
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - psycopg2
  - pglast
notes:
  - A function that writes fails here (read-only transaction); that is intended for verification of read RPCs.
seealso:
  - module: hotdash.supabase.smoke_check
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Dashboard RPC functions answer within 500 ms
  hotdash.supabase.rpc_check:
    db_url: "{{ supabase_db_url }}"
    budget: 0.5
    functions:
      - name: get_revenue_metrics
        args:
          - sql: now() - interval '7 days'
          - sql: now()
        expect_columns: [segments, customers, revenue]
        expect: rows == 1
      - name: get_inventory_summary
        role: authenticated
      - name: get_approvals_pending_count
        expect: value >= 0
  register: __supabase_verify_rpc
'''

RETURN = r'''
checks:
  description: Report checks (C(name), C(status), C(detail), C(remedy), C(duration_ms), C(data) with the timings).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "rpc: get_inventory_summary", "status": "ok",
            "detail": "2 ms median of 3 call(s), budget 500 ms; returned 1 row(s): {\"fast\": 1}",
            "data": {"timings_ms": [3.1, 1.9, 1.8], "median_ms": 1.9, "budget_ms": 500}}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 3}
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import CheckSession
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.rpc import normalize_rpc, run_rpc


def body(module):
    params = module.params
    specs = [normalize_rpc(spec, params["budget"], params["calls"], params["budget_status"])
             for spec in params["functions"]]
    with CheckSession.opened(connection_settings(module), "hotdash.supabase.rpc_check",
                             params["statement_timeout"]) as session:
        checks = [run_rpc(session, spec) for spec in specs]
    return check_result(module, checks, "RPC checks")


def main():
    argument_spec = dict(
        functions=dict(type="list", elements="raw", required=True),
        budget=dict(type="float", default=0.5),
        budget_status=dict(type="str", choices=["warn", "fail"], default="warn"),
        calls=dict(type="int", default=3),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "statement_timeout", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check="rpc")


if __name__ == "__main__":
    main()
