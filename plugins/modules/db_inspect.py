#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_inspect
short_description: Run the Supabase CLI's read-only database reports (locks, blocking, outliers, ...) as data
version_added: 0.1.0
description:
  - Runs C(supabase inspect db <report> --db-url ... --output-format json) with the real Supabase CLI for each of
    O(reports) and returns the rows of each report, plus report checks for M(hotdash.supabase.check_report)
    (blocked and long-running statements are warnings).
  - The password never reaches the CLI's command line; it gets it through E(PGPASSWORD).
  - A report that cannot run because what it reads is missing (C(outliers) needs C(pg_stat_statements) in schema
    C(extensions)), or that waited behind a lock for longer than O(statement_timeout), is returned as C(null) with a
    warning; a connection failure fails the task.
  - Only reads the database.
options:
  reports:
    description: The C(supabase inspect db) reports to run, in order.
    type: list
    elements: str
    default: [locks, blocking, long-running-queries, outliers, db-stats]
    choices: [locks, blocking, long-running-queries, outliers, db-stats, calls, index-stats, table-stats, role-stats,
              vacuum-stats, bloat, replication-slots, traffic-profile]
  cli_timeout:
    description: Seconds each report may run before the CLI is stopped.
    type: int
    default: 120
  statement_timeout:
    description:
      - Seconds a report's query may run in the database before it is cancelled (C(statement_timeout)); C(0) means
        no limit. C(db-stats) sizes every table and waits behind an C(ACCESS EXCLUSIVE) lock, so a cancelled report is
        returned as C(null) with a warning instead of hanging the run.
    type: float
    default: 30
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.cli
  - hotdash.supabase.cli.MINIMUM_CLI_VERSION
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - Supabase CLI (O(minimum_cli_version) or later)
seealso:
  - module: hotdash.supabase.monitor_sample
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Look for locks and blocked statements after the apply
  hotdash.supabase.db_inspect:
    db_url: "{{ supabase_db_url }}"
    reports: [locks, blocking, long-running-queries]
    cli_path: "{{ supabase_cli_path | default(omit) }}"
  register: __supabase_monitor_inspect

- name: Show the slowest statements by total time
  ansible.builtin.debug:
    var: __supabase_monitor_inspect.reports.outliers
'''

RETURN = r'''
reports:
  description: Rows of each report as the CLI returned them (statement texts on one line, bounded); C(null) for a
    report that could not run here.
  returned: success
  type: dict
  sample: {"blocking": [], "db-stats": [{"database_size": "7607 kB", "index_hit_rate": "0.99", "table_hit_rate": "0.98"}]}
checks:
  description: One report check per report.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "inspect blocking", "status": "ok", "detail": "0 row(s)", "remedy": ""}]
passed:
  description: True when no check failed.
  returned: success
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success
  type: dict
  sample: {"ok": 4, "skipped": 1}
unavailable:
  description: Reports that could not run here, with the reason (also shown as warnings).
  returned: success
  type: list
  elements: str
  sample: ["outliers: not available here (ERROR: relation \"extensions.pg_stat_statements\" does not exist (SQLSTATE 42P01))"]
cli_version:
  description: Version of the Supabase CLI used.
  returned: success
  type: str
  sample: 2.122.1
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli, cli_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.inspect import DEFAULT_REPORTS, REPORTS, inspect_checks, run_inspect, validate_reports
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    reports = validate_reports(params["reports"])
    settings = connection_settings(module)
    cli = SupabaseCli(params["cli_path"], timeout=params["cli_timeout"])
    version = cli.require_version(params["minimum_cli_version"])
    outcome = run_inspect(cli, settings, reports, statement_timeout=params["statement_timeout"])
    for warning in outcome["warnings"]:
        module.warn(warning)
    return check_result(module, inspect_checks(outcome["reports"], outcome["warnings"]), "inspect reports",
                        reports=outcome["reports"], unavailable=outcome["warnings"], cli_version=version)


def main():
    argument_spec = dict(
        reports=dict(type="list", elements="str", default=list(DEFAULT_REPORTS), choices=list(REPORTS)),
        cli_timeout=dict(type="int", default=120),
        statement_timeout=dict(type="float", default=30),
    )
    argument_spec.update(cli_argument_spec())
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="supabase inspect db")


if __name__ == "__main__":
    main()
