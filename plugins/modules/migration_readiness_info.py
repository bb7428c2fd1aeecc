#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_readiness_info
short_description: Preflight checks of the pending migrations - drift, naming, order, rollback, promotion gate
version_added: 0.1.0
description:
  - Reads the local migrations and the target database's history (the same engine as
    M(hotdash.supabase.migration_info)) and returns five preflight checks.
  - C(drift) (the runbook's P0) fails on remote-only versions, duplicate local versions or applied files whose
    content changed. C(naming) reports 14-digit C(YYYYMMDDHHMMSS) compliance (fails in production by default).
    C(order) fails when a pending version is not newer than the newest applied one, unless
    O(allow_out_of_order=true).
  - C(rollback) checks each pending migration has a rollback under O(rollback_strategy); with
    O(require_rollback_exercise) (default in production) a successful rollback exercise covering every pending version
    must be recorded in the staging database (C(hotdash_audit.rollback_exercises), written by the rollback role).
  - C(promotion) (production by default) fails unless every pending version is already applied on staging
    (O(staging_db_url)) with identical statements.
  - Read-only; both connections are opened read-only.
options:
  project_dir:
    description: Project directory containing C(supabase/migrations), or the migrations directory itself.
    type: path
    required: true
  environment:
    description:
      - Environment the run targets; production fails non-compliant names, requires the rollback exercise and
        runs the promotion gate by default.
    type: str
    required: true
    choices: [local, staging, production]
  staging_db_url:
    description: Connection URL of the staging database (promotion gate and rollback exercise). Never logged.
    type: str
  rollback_strategy:
    description:
      - How pending migrations would be rolled back; the names are the strategies of
        M(hotdash.supabase.migration_rollback) and the rollback role.
      - C(down_scripts) needs C(<rollback_dir>/<version>_<name>.down.sql) per pending version or, with
        O(rollback_script), one script whose C(-- reverts:) header names every pending version.
      - C(logical_restore) needs O(backup_path) (a verified dump taken by M(hotdash.supabase.backup)).
      - C(supabase_pitr) needs O(pitr_enabled).
      - C(staging_reset) is allowed only when O(environment) is C(staging) or C(local).
      - C(none) fails while anything is pending.
    type: str
    default: down_scripts
    choices: [down_scripts, logical_restore, supabase_pitr, staging_reset, none]
  rollback_dir:
    description: Where down scripts live. Defaults to C(<project_dir>/supabase/rollbacks).
    type: path
  rollback_script:
    description:
      - The runbook's single rollback script (C(scripts/rollback_migrations_<date>.sql)) used instead of per-version
        down scripts (strategy C(down_scripts)).
    type: path
  backup_path:
    description: The fresh logical backup (strategy C(logical_restore)).
    type: path
  pitr_enabled:
    description: Whether point-in-time recovery is enabled (strategy C(supabase_pitr)), from M(hotdash.supabase.backup).
    type: bool
    default: false
  allow_out_of_order:
    description: Accept pending versions older than the newest applied one (the check becomes C(warn)).
    type: bool
    default: false
  require_rollback_exercise:
    description: Require a recorded successful rollback exercise on staging. Defaults to true in production only.
    type: bool
  promotion_gate:
    description: Run the promotion gate. Defaults to true in production only.
    type: bool
  naming_severity:
    description: Status of non-compliant names; C(auto) is C(fail) in production and C(warn) elsewhere.
    type: str
    default: auto
    choices: [auto, warn, fail]
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
- name: Check the pending migrations of production against staging
  hotdash.supabase.migration_readiness_info:
    db_url: "{{ supabase_db_url }}"
    staging_db_url: "{{ supabase_staging_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: production
    rollback_strategy: down_scripts
  register: __supabase_preflight_readiness
'''

RETURN = r'''
checks:
  description: The checks C(drift), C(naming), C(order), C(rollback) and C(promotion).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "promotion", "status": "fail", "detail": "1 pending version(s) not applied on staging:
            20251019000000", "remedy": "apply exactly these files to staging first"}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 4, "fail": 1}
pending:
  description: Pending versions, in apply order.
  returned: always
  type: list
  elements: str
  sample: ["20251019000000"]
pending_files:
  description: Paths of the pending migration files, in apply order.
  returned: always
  type: list
  elements: str
  sample: ["/srv/hotdash/supabase/migrations/20251019000000_add_index.sql"]
newest_applied:
  description: The newest version in the target's history.
  returned: always
  type: str
  sample: "20251015000000"
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.readiness import ROLLBACK_STRATEGIES, readiness
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    staging = None
    if params["staging_db_url"]:
        staging = ConnectionSettings.from_url(params["staging_db_url"], option="staging_db_url")
    checks, facts = readiness(connection_settings(module), params["project_dir"], params["environment"],
                              staging_settings=staging, rollback_strategy=params["rollback_strategy"],
                              rollback_dir=params["rollback_dir"], rollback_script=params["rollback_script"],
                              backup_path=params["backup_path"], pitr_enabled=params["pitr_enabled"],
                              allow_out_of_order=params["allow_out_of_order"],
                              require_exercise=params["require_rollback_exercise"],
                              promotion_gate_enabled=params["promotion_gate"],
                              naming_severity=params["naming_severity"])
    return check_result(module, checks, "migration readiness checks", **facts)


def main():
    argument_spec = dict(
        project_dir=dict(type="path", required=True),
        environment=environment_option(required=True),
        staging_db_url=dict(type="str", no_log=True),
        rollback_strategy=dict(type="str", default="down_scripts", choices=list(ROLLBACK_STRATEGIES)),
        rollback_dir=dict(type="path"),
        rollback_script=dict(type="path"),
        backup_path=dict(type="path"),
        pitr_enabled=dict(type="bool", default=False),
        allow_out_of_order=dict(type="bool", default=False),
        require_rollback_exercise=dict(type="bool"),
        promotion_gate=dict(type="bool"),
        naming_severity=dict(type="str", default="auto", choices=["auto", "warn", "fail"]),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True, url_options=("staging_db_url",))
    run_module(module, body, error_check="readiness")


if __name__ == "__main__":
    main()
