#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: sql_check
short_description: Run named data-integrity and orphan checks, each a query and an expectation
version_added: 0.1.0
description:
  - Each check is a query with an expectation such as C(rows == 0), C(value <= 0.005) or C(not null), defined in
    O(checks) or in annotated SQL files (O(check_files), C(-- check:) / C(-- expect:) headers).
  - Orphan checks are declared from a foreign-key-like spec without writing SQL, for example
    an C(orphans) dict with C(table=agent_approvals), C(column=agent_id), C(references=agents.id); the query uses C(NOT EXISTS)
    (the runbook's C(NOT IN) finds nothing once the parent column holds a NULL) and a failure shows sample keys.
  - Every check runs in its own C(READ ONLY) transaction that is rolled back. A query is read with PostgreSQL's own
    parser (pglast) before anything runs and must be exactly one C(SELECT) (or C(VALUES), C(TABLE), C(SHOW),
    C(EXPLAIN)); transaction control, a data-modifying C(WITH), C(COPY) to a server file, C(DO)/C(CALL) unless
    declared, and functions whose effect outlives the transaction are refused with one line naming the check.
  - A check on a table that does not exist reports C(skipped) (C(table missing)) or C(fail), per O(on_missing_table).
options:
  checks:
    description:
      - Each a dict with C(name) and either C(query) (one SQL statement) or C(orphans) (C(table), C(column) or
        C(columns), C(references) as C(table.column) or a dict with C(table) and C(column)/C(columns)).
      - Optional keys C(expect) (default C(rows == 0) for a query, C(value == 0) for orphans), C(tables) (checked for
        existence before the query), C(severity) (C(fail) or C(warn)), C(remedy), C(description), C(trigger) (the
        rollback trigger a new failure of this check is, for M(hotdash.supabase.release_verdict), e.g.
        C(customer_errors) for a query over where customer-facing errors are reported; default C(integrity_failure)),
        C(allow) (C([call]) to let the query be a C(CALL) of a procedure; C(do) likewise). Any other key is refused,
        naming the allowed keys.
      - "Expectations: C(<rows|value|column> <op> <literal>) with op C(==), C(!=), C(<), C(<=), C(>), C(>=), or
        C(<name> is [not] null), joined by C(and); shorthands C(not null), C(empty), C(not empty)."
    type: list
    elements: dict
    default: []
  check_files:
    description:
      - >-
        Annotated SQL files; C(-- check: <name>) starts a check, the C(-- expect:), C(-- tables:), C(-- severity:),
        C(-- remedy:), C(-- trigger:) lines right under it annotate it, and the SQL up to the next C(-- check:) is its
        query.
    type: list
    elements: path
    default: []
  since:
    description:
      - Start of the window a time-windowed check measures (ISO 8601 UTC or Unix seconds), typically the moment the
        apply started (the apply role's C(started_at)), so an error rate is the release's, not the last day's.
      - A query reads it as C(current_setting('hotdash.since')::timestamptz). Without O(since) and O(window) it is
        C(-infinity) (every row).
    type: str
  window:
    description:
      - Instead of O(since), the last O(window) seconds on the database server's clock (the verify baseline before an
        apply measures the recent past this way).
    type: float
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.STATEMENT_TIMEOUT
  - hotdash.supabase.checks.MISSING_TABLE
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - psycopg2
  - pglast
seealso:
  - module: hotdash.supabase.rls_check
  - module: hotdash.supabase.check_report
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Data integrity checks of the runbook
  hotdash.supabase.sql_check:
    db_url: "{{ supabase_db_url }}"
    check_files:
      - "{{ supabase_project_dir }}/docs/runbooks/data_integrity_checks.sql"
    checks:
      - name: approvals without agent
        orphans:
          table: agent_approvals
          column: agent_id
          references: agents.id
      - name: error rate of the last hour
        query: >-
          SELECT coalesce(avg((level = 'ERROR')::int), 0) FROM observability_logs
          WHERE created_at > now() - interval '1 hour'
        expect: value <= 0.005
        tables: [observability_logs]
    on_missing_table: skip
  register: __supabase_verify_integrity
'''

RETURN = r'''
checks:
  description: Report checks (C(name), C(status), C(detail), C(remedy), C(duration_ms), C(data)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "approvals without agent", "status": "fail",
            "detail": "value=1 (expected value == 0); e.g. 00000000-0000-0000-0000-00000000dead", "duration_ms": 2}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: false
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 4, "fail": 1, "skipped": 1}
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import CheckSession
from ansible_collections.hotdash.supabase.plugins.module_utils.integrity import load_integrity_checks, run_integrity_check
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    checks = load_integrity_checks(params["checks"], params["check_files"])
    with CheckSession.opened(connection_settings(module), "hotdash.supabase.sql_check", params["statement_timeout"],
                             params["on_missing_table"], params["since"], params["window"]) as session:
        results = [run_integrity_check(session, check) for check in checks]
    return check_result(module, results, "data integrity checks")


def main():
    argument_spec = dict(
        checks=dict(type="list", elements="dict", default=[]),
        check_files=dict(type="list", elements="path", default=[]),
        since=dict(type="str"),
        window=dict(type="float"),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "statement_timeout", "on_missing_table", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True, mutually_exclusive=[("since", "window")])
    run_module(module, body, error_check="integrity")


if __name__ == "__main__":
    main()
