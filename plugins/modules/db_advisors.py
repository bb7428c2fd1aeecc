#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_advisors
short_description: Run Supabase's database advisors (security and performance lints) and grade them
version_added: 0.1.0
description:
  - Runs C(supabase db advisors --db-url ... --output-format json) (Supabase CLI 2.122.1) against the database; the
    password reaches the CLI through C(PGPASSWORD), never its command line.
  - Returns one check per lint (for example C(rls_disabled_in_public), C(rls_enabled_no_policy),
    C(auth_rls_initplan)) - C(fail) when a finding not allow-listed reaches O(fail_level), C(warn) when it reaches
    O(warn_level), C(waived) when every finding is allow-listed, otherwise C(ok).
options:
  advisor_type:
    description: Which advisors to run.
    type: str
    default: all
    choices: [all, security, performance]
  fail_level:
    description: Lowest finding level that fails its check (C(none) never fails).
    type: str
    default: error
    choices: [info, warn, error, none]
  warn_level:
    description: Lowest finding level that makes its check C(warn).
    type: str
    default: warn
    choices: [info, warn, error, none]
  allow:
    description:
      - Allow-listed findings, each C(<lint>) (all findings of that lint) or C(<lint>:<schema>.<object>);
        shell-style patterns allowed, for example C(rls_enabled_no_policy:public.observability_logs) or C(unused_index).
    type: list
    elements: str
    default: []
  cli_path:
    description: Path of the Supabase CLI; default the C(SUPABASE_CLI) environment variable, then C(supabase) on PATH.
    type: path
  timeout:
    description: Seconds the CLI may run.
    type: int
    default: 120
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - Supabase CLI 2.122.1 (C(db advisors) with C(--db-url))
seealso:
  - module: hotdash.supabase.rls_check
  - name: Supabase database linter
    description: What each lint means and how to fix it.
    link: https://supabase.com/docs/guides/database/database-linter
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Supabase advisors; observability_logs has RLS without policy on purpose
  hotdash.supabase.db_advisors:
    db_url: "{{ supabase_db_url }}"
    cli_path: "{{ supabase_cli_path | default(omit) }}"
    fail_level: error
    allow:
      - rls_enabled_no_policy:public.observability_logs
      - unused_index
  register: __supabase_verify_advisors
'''

RETURN = r'''
checks:
  description: One report check per lint.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "advisor: rls_enabled_no_policy", "status": "waived",
            "detail": "RLS Enabled No Policy; allow-listed: public.observability_logs"}]
findings:
  description: The CLI's findings as it printed them.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "rls_enabled_no_policy", "level": "INFO", "metadata": {"schema": "public",
            "name": "observability_logs", "type": "table"}}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 1, "waived": 1, "warn": 1}
cli_version:
  description: Version of the CLI that ran.
  returned: success
  type: str
  sample: 2.122.1
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.advisors import advisor_checks, run_advisors
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    cli = SupabaseCli(params["cli_path"], timeout=params["timeout"])
    findings = run_advisors(cli, connection_settings(module), params["advisor_type"])
    checks = advisor_checks(findings, params["fail_level"], params["warn_level"], params["allow"])
    return check_result(module, checks, "Supabase advisors", findings=findings, cli_version=cli.version())


def main():
    argument_spec = dict(
        advisor_type=dict(type="str", default="all", choices=["all", "security", "performance"]),
        fail_level=dict(type="str", default="error", choices=["info", "warn", "error", "none"]),
        warn_level=dict(type="str", default="warn", choices=["info", "warn", "error", "none"]),
        allow=dict(type="list", elements="str", default=[]),
        cli_path=dict(type="path"),
        timeout=dict(type="int", default=120),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="advisors")


if __name__ == "__main__":
    main()
