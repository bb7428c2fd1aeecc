#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_lint
short_description: Lint pending migrations with the PostgreSQL parser (pglast) and squawk's dangerous-operation rules
version_added: 0.1.0
description:
  - Every file in O(files) (normally the pending migrations only) must parse with pglast, PostgreSQL's own parser;
    a parse error names the file and line and always fails the C(lint) check.
  - >-
    squawk flags operations that lock or rewrite tables or lose data (C(CREATE INDEX) without C(CONCURRENTLY),
    C(ADD COLUMN ... NOT NULL) without default, type changes, dropped columns, renames, ...). Findings of the rules in
    O(dangerous_rules) make the C(lint) check C(warn) on staging and C(fail) in production (O(severity)), unless the
    file carries a reviewed waiver comment C(-- hotdash:lint-waive <rule> reason: <why>). Other rules are reported
    as notes.
  - Also returns the tables the files touch (for the lock check of M(hotdash.supabase.db_health_info)) and, with
    O(verify_files), a C(verify_files) check that the RLS tests and integrity queries the verify role runs exist and
    parse.
options:
  files:
    description: The migration files to lint.
    type: list
    elements: path
    default: []
  environment:
    description: Environment the run targets; decides the severity of dangerous findings with O(severity=auto).
    type: str
    required: true
    choices: [local, staging, production]
  severity:
    description: Status of unwaived dangerous findings; C(auto) is C(fail) in production and C(warn) elsewhere.
    type: str
    default: auto
    choices: [auto, warn, fail]
  dangerous_rules:
    description: squawk rules whose findings count as dangerous. Defaults to the engine's list (see the role docs).
    type: list
    elements: str
  exclude_rules:
    description: squawk rules not to run at all.
    type: list
    elements: str
    default: []
  squawk_path:
    description: The squawk binary. Defaults to the one beside the Python running the module, then PATH.
    type: path
  assume_in_transaction:
    description: Lint as the Supabase CLI applies, each file inside a transaction.
    type: bool
    default: true
  pg_version:
    description: PostgreSQL version squawk assumes, for example C(15.0).
    type: str
  verify_files:
    description: RLS test and integrity query files that must exist (and parse, for C(.sql) files).
    type: list
    elements: path
    default: []
  project_dir:
    description: Directory relative O(verify_files) are resolved against.
    type: path
extends_documentation_fragment:
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - pglast
  - squawk-cli
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Lint the pending migrations (fails in production on unwaived dangerous operations)
  hotdash.supabase.migration_lint:
    files: "{{ __supabase_preflight_readiness.pending_files }}"
    environment: "{{ supabase_environment }}"
    verify_files:
      - supabase/rls_tests.sql
      - docs/runbooks/data_integrity_checks.sql
    project_dir: "{{ supabase_project_dir }}"
  register: __supabase_preflight_lint
'''

RETURN = r'''
checks:
  description: The C(lint) check, and C(verify_files) when O(verify_files) is given.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "lint", "status": "fail", "detail": "1 dangerous operation(s) in 1 file(s) (production):
            20251019000000_idx.sql line 1: require-concurrent-index-creation"}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: false
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 1}
tables:
  description: Tables the files refer to.
  returned: always
  type: list
  elements: str
  sample: ["public.orders", "agents"]
parse_errors:
  description: Files that do not parse, with line and message.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "20251019000000_bad.sql", "line": 3, "message": "syntax error at or near \"selec\""}]
findings:
  description: All squawk findings with file, line, rule, message, whether dangerous and whether waived.
  returned: always
  type: list
  elements: dict
  sample: [{"file": "20251019000000_idx.sql", "line": 1, "rule": "require-concurrent-index-creation",
            "dangerous": true, "waived": false}]
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.lint import DANGEROUS_RULES, lint_check, lint_files, verify_files_check
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    dangerous = params["dangerous_rules"] if params["dangerous_rules"] is not None else DANGEROUS_RULES
    result = lint_files(params["files"], environment=params["environment"], severity=params["severity"],
                        dangerous_rules=dangerous, exclude_rules=params["exclude_rules"],
                        squawk=params["squawk_path"], assume_in_transaction=params["assume_in_transaction"],
                        pg_version=params["pg_version"])
    checks = [lint_check(result, params["environment"])]
    if params["verify_files"]:
        checks.append(verify_files_check(params["verify_files"], params["project_dir"]))
    return check_result(module, checks, "migration lint", tables=result["tables"],
                        parse_errors=result["parse_errors"], findings=result["findings"],
                        unreviewed_waivers=result["unreviewed_waivers"])


def main():
    argument_spec = dict(
        files=dict(type="list", elements="path", default=[]),
        environment=environment_option(required=True),
        severity=dict(type="str", default="auto", choices=["auto", "warn", "fail"]),
        dangerous_rules=dict(type="list", elements="str"),
        exclude_rules=dict(type="list", elements="str", default=[]),
        squawk_path=dict(type="path"),
        assume_in_transaction=dict(type="bool", default=True),
        pg_version=dict(type="str"),
        verify_files=dict(type="list", elements="path", default=[]),
        project_dir=dict(type="path"),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="lint")


if __name__ == "__main__":
    main()
