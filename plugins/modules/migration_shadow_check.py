#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_shadow_check
short_description: Try the pending migrations on a shadow copy of the target - dry run, supabase db lint, advisors
version_added: 0.1.0
description:
  - Copies the target's schema (C(pg_dump --schema-only), read-only, with a lock wait timeout) into a shadow
    database, applies the pending migrations there with the native engine - planned exactly as
    M(hotdash.supabase.migration_apply) plans them - and returns three checks. Nothing is written to the target.
  - C(dry_run) names the file and statement that would fail (C(supabase db push --dry-run) only lists file
    names). A failure is C(fail) in production and C(warn) elsewhere (O(severity)); when some of the target's
    objects could not be copied into the shadow (an extension or role the shadow server lacks), a successful
    dry run is C(warn) and names the first of them.
  - C(db_lint) runs the real C(supabase db lint --db-url ... --level warning) (plpgsql_check) on the shadow
    before and after the migrations. PL/pgSQL errors the migrations introduce (a function selecting a column
    that does not exist) are C(fail) in production and C(warn) elsewhere; warnings and findings the target
    already had are C(warn).
  - C(shadow_advisors) runs C(supabase db advisors) on the shadow before and after; findings the migrations add
    (a table in C(public) without RLS, a function with a mutable search_path) are graded like
    M(hotdash.supabase.db_advisors) - C(ERROR) fails in production, C(WARN) warns.
  - Where the shadow lives is explicit (O(shadow)); by default a PostgreSQL cluster started on the controller for
    this run and removed after it, so no scratch database is ever created on a server by surprise.
  - When M(hotdash.supabase.migration_apply) would refuse to plan (a duplicate version, remote-only versions,
    out-of-order files, a statement that cannot run in a transaction), the checks are C(skipped) with the refusal
    (the readiness checks report the drift).
options:
  project_dir:
    description: Project directory containing C(supabase/migrations) (or the migrations directory itself).
    type: path
    required: true
  environment:
    description: Environment of the target; production makes introduced errors C(fail) (O(severity=auto)).
    type: str
    required: true
    choices: [local, staging, production]
  lint:
    description: Run C(supabase db lint) on the shadow (the C(db_lint) check).
    type: bool
    default: true
  lint_level:
    description: Lowest C(db lint) level reported.
    type: str
    default: warning
    choices: [warning, error]
  advisors:
    description: Run C(supabase db advisors) on the shadow (the C(shadow_advisors) check).
    type: bool
    default: true
  advisor_allow:
    description:
      - Allow-listed advisor findings, C(<lint>) or C(<lint>:<schema>.<object>), as
        O(hotdash.supabase.db_advisors#module:allow).
    type: list
    elements: str
    default: []
  severity:
    description: Status of an introduced error or a failed dry run; C(auto) is C(fail) in production, C(warn) elsewhere.
    type: str
    default: auto
    choices: [auto, warn, fail]
  include_all:
    description:
      - Also apply pending files older than the newest applied version, as
        O(hotdash.supabase.migration_apply#module:include_all).
    type: bool
    default: false
  allow_remote_only:
    description: Plan even when the history has versions without a local file, as migration_apply does.
    type: bool
    default: false
  target_version:
    description: Apply only up to and including this version, as migration_apply does.
    type: str
  non_transactional:
    description: What to do with statements that cannot run in a transaction, as migration_apply does.
    type: str
    default: refuse
    choices: [refuse, isolate]
  cli_path:
    description: Path of the Supabase CLI; default the C(SUPABASE_CLI) environment variable, then C(supabase) on PATH.
    type: path
  cli_timeout:
    description: Seconds each CLI run may take.
    type: int
    default: 300
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.shadow
  - hotdash.supabase.shadow.TIMEOUTS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - psycopg2
  - PostgreSQL client programs (pg_dump, pg_restore) of the target's major version or newer
  - With O(shadow=local), PostgreSQL server programs (initdb, pg_ctl) and plpgsql_check on the controller
  - Supabase CLI (C(db lint) and C(db advisors) with C(--db-url))
seealso:
  - module: hotdash.supabase.migration_apply
  - module: hotdash.supabase.schema_drift_info
  - module: hotdash.supabase.migration_lint
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Try the pending migrations on a local shadow copy of staging
  hotdash.supabase.migration_shadow_check:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: staging
  register: __supabase_preflight_shadow

- name: Same for production, with the shadow on a scratch server
  hotdash.supabase.migration_shadow_check:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: production
    shadow: server
    shadow_server_url: "{{ vault_scratch_db_url }}"
    advisor_allow:
      - rls_enabled_no_policy:public.observability_logs
    fail_on_failed: true
'''

RETURN = r'''
checks:
  description: The C(dry_run), C(db_lint) and C(shadow_advisors) checks (those enabled).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "dry_run", "status": "fail", "detail": "dry run on a shadow copy of postgres@db:5432/postgres:
            migration 20251020000000_orders.sql would fail at statement 2 of 3 (alter table public.orders drop column
            nope): column \"nope\" of relation \"orders\" does not exist (SQLSTATE 42703); nothing was changed on the
            target"}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: false
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"fail": 1, "skipped": 2}
dry_run:
  description:
    - What happened on the shadow - C(plan) (files in apply order), C(shadow) (C(location), C(server), C(database),
      C(server_version)), C(applied), C(failed) (C(file), C(version), C(statement), C(statements),
      C(statement_text), C(error)), C(not_reached), C(restore_errors), C(duration_ms).
    - C(refused) is migration_apply's refusal to plan (then nothing is tried and the checks are C(skipped)).
  returned: success
  type: dict
  sample: {"plan": ["20251020000000_orders.sql"], "failed": {"file": "20251020000000_orders.sql", "statement": 2,
           "statements": 3, "error": "column \"nope\" of relation \"orders\" does not exist (SQLSTATE 42703)"}}
'''

import functools

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    check_result,
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import (
    SHADOW_URL_OPTIONS,
    shadow_module_argument_spec,
    shadow_options,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow_checks import shadow_checks


def body(module):
    params = module.params
    apply_options = ApplyOptions(environment=params["environment"], include_all=params["include_all"],
                                 allow_remote_only=params["allow_remote_only"],
                                 target_version=params["target_version"],
                                 non_transactional=params["non_transactional"],
                                 statement_timeout=params["statement_timeout"], lock_retries=0)
    # Resolved when db lint or db advisors first runs: a missing CLI is their check, not an error hiding the dry run.
    cli = functools.partial(SupabaseCli, params["cli_path"], timeout=params["cli_timeout"])
    checks, dry_run = shadow_checks(connection_settings(module), params["project_dir"], apply_options,
                                    shadow_options(params), cli=cli, lint=params["lint"], advisors=params["advisors"],
                                    lint_level=params["lint_level"], advisor_allow=params["advisor_allow"],
                                    severity=params["severity"])
    return check_result(module, checks, "shadow checks", dry_run=dry_run)


def main():
    module = new_module(shadow_module_argument_spec(
        lint=dict(type="bool", default=True),
        lint_level=dict(type="str", default="warning", choices=["warning", "error"]),
        advisors=dict(type="bool", default=True),
        advisor_allow=dict(type="list", elements="str", default=[]),
        include_all=dict(type="bool", default=False),
        allow_remote_only=dict(type="bool", default=False),
        target_version=dict(type="str"),
        non_transactional=dict(type="str", default="refuse", choices=["refuse", "isolate"]),
        cli_path=dict(type="path"),
        cli_timeout=dict(type="int", default=300),
    ), supports_check_mode=True, url_options=SHADOW_URL_OPTIONS)
    run_module(module, body, error_check="dry_run")


if __name__ == "__main__":
    main()
