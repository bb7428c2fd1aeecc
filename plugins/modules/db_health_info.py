#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_health_info
short_description: Pre-apply database checks - connection, server, connections, long-running queries, locks
version_added: 0.1.0
description:
  - The runbook's "Pre-Apply Verification" queries as preflight checks, each with status C(ok), C(fail),
    C(waived) or C(skipped) in the shape M(hotdash.supabase.check_report) takes.
  - C(connection) reachable within O(connect_timeout); C(server) version, database size, not read-only;
    C(connections) in use against C(max_connections) (fails over O(max_connections_percent));
    C(long_running_queries) non-idle sessions older than O(long_query_threshold), listed with pid, user, duration
    and truncated query text; C(locks) other sessions holding or waiting on locks on O(tables) (the tables the
    pending migrations touch, see M(hotdash.supabase.migration_lint)).
  - An unreachable database is reported as a failed C(connection) check, not a task failure.
  - Read-only; the session is opened read-only.
options:
  tables:
    description: Tables (C(schema.table) or C(table)) whose locks matter; an unqualified name matches any schema.
    type: list
    elements: str
    default: []
  max_connections_percent:
    description: Fail C(connections) when more than this percentage of C(max_connections) is in use (client backends).
    type: float
    default: 80
  long_query_threshold:
    description: A non-idle session whose query started more than this many seconds ago fails C(long_running_queries).
    type: float
    default: 60
  max_query_chars:
    description: Query text is truncated to this many characters in results and reports.
    type: int
    default: 120
  min_server_version_num:
    description: Fail C(server) when C(server_version_num) is lower, for example C(150000).
    type: int
  check_locks:
    description: Run the C(locks) check.
    type: bool
    default: true
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Check the database before applying
  hotdash.supabase.db_health_info:
    db_url: "{{ supabase_db_url }}"
    tables: "{{ __supabase_preflight_lint.tables }}"
    long_query_threshold: 60
    max_connections_percent: 80
  register: __supabase_preflight_health
'''

RETURN = r'''
checks:
  description: The checks C(connection), C(server), C(connections), C(long_running_queries) and C(locks).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "connections", "status": "ok",
            "detail": "12 of max_connections 100 in use (12%, limit 80%; 3 of them reserved for superusers); 4 on this database"}]
passed:
  description: True when no check failed (waived ones do not count).
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 4, "fail": 1}
facts:
  description: Server facts (version, size, connection counts) and the sessions found.
  returned: always
  type: dict
  sample: {"server_version_num": 150018, "size_pretty": "9 MB", "max_connections": 100, "connections_total": 3}
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.db_health import health_checks


def body(module):
    params = module.params
    checks, facts = health_checks(connection_settings(module), tables=params["tables"],
                                  max_connections_percent=params["max_connections_percent"],
                                  long_query_threshold=params["long_query_threshold"],
                                  max_query_chars=params["max_query_chars"],
                                  min_server_version_num=params["min_server_version_num"],
                                  check_locks=params["check_locks"])
    return check_result(module, checks, "database checks", facts=facts)


def main():
    argument_spec = dict(
        tables=dict(type="list", elements="str", default=[]),
        max_connections_percent=dict(type="float", default=80),
        long_query_threshold=dict(type="float", default=60),
        max_query_chars=dict(type="int", default=120),
        min_server_version_num=dict(type="int"),
        check_locks=dict(type="bool", default=True),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check="connection")


if __name__ == "__main__":
    main()
