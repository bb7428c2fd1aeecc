#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: smoke_check
short_description: Smoke-test reads and writes; writes run in a transaction that is always rolled back
version_added: 0.1.0
description:
  - Reads - C(count(*)) of each table in O(reads), in a C(READ ONLY) transaction, optionally with a minimum row count.
  - Writes - each entry of O(writes) runs as C(service_role) (by default) in a C(READ WRITE) transaction that is
    B(always rolled back), so no data is ever changed; the tables are counted before and after to show it.
  - With O(read_only=true) (production, if so configured) and in check mode the writes are reported as C(skipped).
options:
  reads:
    description:
      - Tables to count, each a name (C(product_categories), C(public.facts)) or a dict with C(table) and optionally
        C(name), C(min_rows), C(role), C(claims), C(settings).
    type: list
    elements: raw
    default: []
  writes:
    description:
      - Each a dict with C(name) and either C(table) + C(values) (a dict of column values; the row is inserted, then
        deleted by C(key) columns - default all of C(values) - and each must affect exactly one row), or
        C(statements) (SQL statements, one per item) with optional C(tables) to count before and after.
      - Each statement is read with PostgreSQL's own parser (pglast) before anything runs and must be exactly one
        C(SELECT), C(INSERT), C(UPDATE), C(DELETE) or C(MERGE); a list holding transaction control (C(COMMIT),
        C(SAVEPOINT), ...), a role switch or any other refused statement stops the module before anything runs.
        C(DO) and C(CALL) only with C(allow) (C([do]), C([call])).
      - Optional C(role) (default C(service_role); empty for the login role), C(claims), C(settings) (not C(role),
        C(session_authorization) or the read-only settings). Any other key is refused, naming the allowed keys.
    type: list
    elements: dict
    default: []
  read_only:
    description: Report the writes as C(skipped) instead of running them (for example on production).
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.STATEMENT_TIMEOUT
  - hotdash.supabase.checks.MISSING_TABLE
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads run; writes are reported as skipped (they would be rolled back anyway, but sequences they use advance).
  diff_mode:
    support: none
requirements:
  - psycopg2
  - pglast
notes:
  - A rolled-back insert still advances the sequence behind an identity column; prefer tables with natural keys.
  - If other sessions change the counted tables meanwhile, the write's check is C(warn), not C(fail).
seealso:
  - module: hotdash.supabase.rpc_check
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Runbook smoke tests (the write is rolled back)
  hotdash.supabase.smoke_check:
    db_url: "{{ supabase_db_url }}"
    reads: [product_categories, customer_segments]
    writes:
      - name: product_categories insert and delete
        table: product_categories
        values:
          shopify_product_id: 99999
          category_l1: Test
          category_l2: Smoke Test
          avg_order_value: 100.00
          margin_pct: 30.00
          inventory_velocity: fast
        key: [shopify_product_id]
    read_only: "{{ supabase_environment == 'production' }}"
'''

RETURN = r'''
checks:
  description: Report checks (C(name), C(status), C(detail), C(remedy), C(duration_ms), C(data) with counts).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "write: product_categories insert and delete", "status": "ok",
            "detail": "insert 1 row(s), delete 1 row(s); rolled back; counts unchanged (product_categories=3)",
            "data": {"counts_before": {"product_categories": 3}, "counts_after": {"product_categories": 3}}}]
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
from ansible_collections.hotdash.supabase.plugins.module_utils.smoke import normalize_read, normalize_write, run_read, run_write


def body(module):
    params = module.params
    reads = [normalize_read(spec) for spec in params["reads"]]
    writes = [normalize_write(spec) for spec in params["writes"]]
    with CheckSession.opened(connection_settings(module), "hotdash.supabase.smoke_check", params["statement_timeout"],
                             params["on_missing_table"]) as session:
        checks = [run_read(session, spec) for spec in reads]
        checks.extend(run_write(session, spec, read_only_mode=params["read_only"], check_mode=module.check_mode)
                      for spec in writes)
    return check_result(module, checks, "smoke tests")


def main():
    argument_spec = dict(
        reads=dict(type="list", elements="raw", default=[]),
        writes=dict(type="list", elements="dict", default=[]),
        read_only=dict(type="bool", default=False),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "statement_timeout", "on_missing_table", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check="smoke")


if __name__ == "__main__":
    main()
