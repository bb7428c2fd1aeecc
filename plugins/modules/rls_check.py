#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: rls_check
short_description: Verify row level security coverage, run RLS scenarios as anon/authenticated/service_role, run SQL and pgTAP test files
version_added: 0.1.0
description:
  - Coverage, per schema in O(schemas) - every table has row level security enabled, except those in
    O(allow_without_rls); tables with RLS enabled but no policy are reported (O(without_policy_status)) unless in
    O(allow_without_policy).
  - Scenarios, see O(scenarios) - a query run the way PostgREST runs a request (C(request.jwt.claims) and
    C(SET LOCAL ROLE)) with plain settings such as the runbook's C(app.current_project), with an expectation on the rows
    seen. Each runs in a C(READ ONLY) transaction that is rolled back.
  - Test files, see O(test_files) - the runbook's C(supabase/rls_tests.sql) or pgTAP files
    (C(supabase/tests/database/*.test.sql)) run statement by statement in one transaction that is always rolled back;
    any SQL error fails the file, C(not ok) lines and plan mismatches fail it too.
  - Every scenario query and every statement of every test file is read with PostgreSQL's own parser (pglast) before
    anything runs. A scenario query is exactly one read-only statement; in a test file the first C(BEGIN) and the last
    C(COMMIT)/C(ROLLBACK) are its wrapper, never sent, and other transaction control, C(SET SESSION AUTHORIZATION),
    changes of the read-only settings, C(COPY) to or from a server file or program, C(VACUUM), C(LISTEN)/C(NOTIFY),
    functions whose effect outlives the transaction (C(lo_export), C(pg_advisory_lock), C(dblink_exec), ...) and
    C(EXECUTE) of a computed string in a C(DO) block are refused with one line naming the file, statement and line.
  - Returns report-ready checks (see M(hotdash.supabase.check_report)); the database is never changed.
options:
  schemas:
    description: Schemas whose tables must have RLS enabled.
    type: list
    elements: str
    default: [public]
  allow_without_rls:
    description:
      - Tables allowed to have RLS disabled, as C(table) or C(schema.table); shell-style patterns (C(tmp_*)) allowed.
    type: list
    elements: str
    default: []
  allow_without_policy:
    description:
      - Tables allowed to have RLS enabled without any policy (only roles that bypass RLS, such as C(service_role),
        can use them), for example C(observability_logs).
    type: list
    elements: str
    default: []
  without_policy_status:
    description: Status of the check that lists tables with RLS enabled but no policy.
    type: str
    default: warn
    choices: [warn, fail]
  scenarios:
    description:
      - Each a dict with C(name), C(query) (one statement) or C(table) (counts the rows the role sees), C(expect)
        (for example C(rows == 0), C(value == 2)) or C(expect_error) (a SQLSTATE or text the error must contain),
        and optionally C(role) (C(anon), C(authenticated), C(service_role) or any role the login role may C(SET ROLE) to),
        C(claims) (JWT claims; C(role) is added), C(settings) (GUCs such as C(app.current_project); not C(role),
        C(session_authorization) or the read-only settings), C(tables) (checked for existence first), C(severity)
        (C(fail) or C(warn)), C(remedy), C(allow) (C([do]) or C([call]) to let the query be a C(DO) block or a
        C(CALL); otherwise refused).
      - A misspelled key is refused, naming the allowed keys.
    type: list
    elements: dict
    default: []
  test_files:
    description:
      - SQL or pgTAP test files, or directories whose C(*.sql) files run in name order.
      - Plain SQL files run read-only. pgTAP files (C(*.test.sql) or calling C(plan())) run read-write outside
        production (pgTAP's C(plan()) creates temporary tables) and read-only on production; all are rolled back.
    type: list
    elements: path
    default: []
  environment:
    description:
      - The environment of the database. On C(production) pgTAP files run read-only and never create the
        extension - their C(CREATE EXTENSION pgtap) is not run, pgTAP's own C(plan()) is called from the extension's
        schema before the transaction turns read-only, and a database without pgtap reports the file C(skipped)
        with the reason.
    type: str
    required: true
    choices: [local, staging, production]
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
notes:
  - The login role must be allowed to C(SET ROLE) to the scenario roles (C(postgres) on Supabase is).
  - psql meta-commands (C(\set), C(\echo)) in test files are refused with their line.
  - docs/safety.md lists what the guard refuses and why.
seealso:
  - module: hotdash.supabase.sql_check
  - module: hotdash.supabase.check_report
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: RLS on every public table, facts visible per project only
  hotdash.supabase.rls_check:
    db_url: "{{ supabase_db_url }}"
    environment: "{{ supabase_environment }}"
    allow_without_policy: [observability_logs]
    scenarios:
      - name: anon sees no facts without a project
        role: anon
        table: facts
        expect: rows == 0
      - name: occ sees its own facts
        role: authenticated
        settings:
          app.current_project: occ
        query: "SELECT count(*) FROM public.facts WHERE project = 'occ'"
        expect: value >= 1
    test_files:
      - "{{ supabase_project_dir }}/supabase/rls_tests.sql"
      - "{{ supabase_project_dir }}/supabase/tests/database"
  register: __supabase_verify_rls
'''

RETURN = r'''
checks:
  description: Report checks (C(name), C(status), C(detail), C(remedy), C(duration_ms), C(data)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "rls enabled: public", "status": "ok", "detail": "6 table(s), RLS enabled on all", "remedy": "",
            "duration_ms": 3}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 7, "warn": 1}
tables:
  description: Row level security of every table in O(schemas).
  returned: success
  type: list
  elements: dict
  sample: [{"schema": "public", "table": "facts", "rls": true, "forced": false, "policies": 1}]
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import CheckSession
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.pgtap import expand_test_paths, load_test_file, run_test_file
from ansible_collections.hotdash.supabase.plugins.module_utils.rls import coverage_checks, normalize_scenario, run_scenario, table_security
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    # Validate everything before connecting: a typo fails without touching the database.
    scenarios = [normalize_scenario(s) for s in params["scenarios"]]
    files = [load_test_file(path, params["environment"]) for path in expand_test_paths(params["test_files"])]
    with CheckSession.opened(connection_settings(module), "hotdash.supabase.rls_check", params["statement_timeout"],
                             params["on_missing_table"]) as session:
        with session.transaction() as cur:
            tables = table_security(cur, params["schemas"])
        checks = coverage_checks(tables, params["schemas"], params["allow_without_rls"],
                                 params["allow_without_policy"], params["without_policy_status"])
        checks.extend(run_scenario(session, scenario) for scenario in scenarios)
        checks.extend(run_test_file(session, test) for test in files)
    return check_result(module, checks, "RLS checks", tables=tables)


def main():
    argument_spec = dict(
        schemas=dict(type="list", elements="str", default=["public"]),
        allow_without_rls=dict(type="list", elements="str", default=[]),
        allow_without_policy=dict(type="list", elements="str", default=[]),
        without_policy_status=dict(type="str", default="warn", choices=["warn", "fail"]),
        scenarios=dict(type="list", elements="dict", default=[]),
        test_files=dict(type="list", elements="path", default=[]),
        environment=environment_option(required=True),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "statement_timeout", "on_missing_table", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check="rls")


if __name__ == "__main__":
    main()
