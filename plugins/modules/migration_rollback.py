#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_rollback
short_description: Roll Supabase migrations back by down scripts, logical restore, PITR or a staging reset, then verify
version_added: 0.1.0
description:
  - Reverts the applied migrations newer than O(target_version) (or the O(versions) given, e.g. the ones an apply
    just applied) with one of four strategies, then verifies the result and records it.
  - C(down_scripts) runs C(supabase/rollbacks/<version>_<name>.down.sql) for each version, newest first, each in one
    transaction together with deleting the version's row from C(supabase_migrations.schema_migrations), so
    C(supabase migration list) shows it as not applied. With O(rollback_script) it runs the runbook's single
    script instead, in one transaction with the history rows of the versions its header names
    (see O(rollback_script)).
  - C(logical_restore) restores the custom-format dump the preflight took (O(backup_path)) into the O(schemas) and
    the history schema, in one transaction, and checks the row counts of O(count_tables) and the history against
    what the dump holds.
  - C(supabase_pitr) asks the Supabase Management API for a point-in-time restore to O(recovery_margin) seconds
    before O(recovery_time_target) (the moment the apply started), then waits for the restore to begin (the project
    leaves C(ACTIVE_HEALTHY), or the database server restarted after the request) and then to finish (the project is
    C(ACTIVE_HEALTHY) again). A queued restore still reports C(ACTIVE_HEALTHY), so its first C(ACTIVE_HEALTHY) is
    never taken for the end.
  - C(staging_reset) (only when O(environment) is C(staging) or C(local)) drops the objects of O(schemas) and every
    history row, then re-applies the migrations up to the target with the native apply engine, and loads
    O(seed_path) when given. C(supabase db reset) (Docker) and C(supabase migration down) are never used.
  - Verification after every strategy checks that the history equals the target state, the O(count_tables) that existed can
    be read, their row counts did not drop, and tables that had row level security still have it.
  - Each rollback appends a log C(<log_dir>/<environment>_rollback_<UTC timestamp>.log) and records a row in
    C(hotdash_audit.rollback_exercises) of the database (also when it fails), which the production preflight reads
    from staging to require "rollback tested on staging".
  - The session writes even while the database is held read-only by M(hotdash.supabase.db_read_only).
options:
  strategy:
    description: How to roll back.
    type: str
    required: true
    choices: [down_scripts, logical_restore, supabase_pitr, staging_reset]
  environment:
    description: Environment of the database, used in the log name and the audit row; C(staging_reset) needs C(staging) or C(local).
    type: str
    required: true
    choices: [local, staging, production]
  project_dir:
    description: Project directory holding C(supabase/migrations) and C(supabase/rollbacks).
    type: path
  target_version:
    description: Revert every applied version newer than this one (compared as text, as the CLI orders versions).
    type: str
  versions:
    description: Revert exactly these versions (those that are applied). Takes precedence over O(target_version).
    type: list
    elements: str
    default: []
  rollback_script:
    description:
      - One script reverting several versions (runbook C(scripts/rollback_migrations_<date>.sql)) for
        O(strategy=down_scripts).
      - 'Its header names the versions it reverts, in lines such as C(-- reverts: 20251019090000, 20251015090000).'
    type: path
  rollback_dir:
    description:
      - Directory of the C(<version>_<name>.down.sql) scripts for O(strategy=down_scripts).
      - Defaults to C(<project_dir>/supabase/rollbacks); never C(supabase/migrations), where C(supabase db push)
        would apply them as migrations.
    type: path
  backup_path:
    description: The C(pg_dump -Fc) file to restore for O(strategy=logical_restore) (the preflight's backup).
    type: path
  schemas:
    description: Application schemas the migrations own; restored by C(logical_restore), emptied by C(staging_reset).
    type: list
    elements: str
    default: [public]
  count_tables:
    description: Tables (C([schema.]table)) read for the smoke test and whose row counts must not drop.
    type: list
    elements: str
    default: [public.product_categories, public.customer_segments, public.agents, public.agent_approvals, public.facts]
  seed_path:
    description: SQL file loaded after a C(staging_reset) (like C(supabase/seed.sql) after C(db reset)).
    type: path
  project_ref:
    description: Supabase project reference for O(strategy=supabase_pitr).
    type: str
  access_token:
    description: Supabase access token for O(strategy=supabase_pitr).
    type: str
  api_url:
    description: Base URL of the Management API.
    type: str
    default: https://api.supabase.com
  recovery_time_target:
    description:
      - For O(strategy=supabase_pitr), the moment the apply started (ISO 8601 UTC or Unix seconds), as the apply
        recorded it before its first change (the apply role's C(supabase_apply_result.started_at)). The restore goes to
        O(recovery_margin) seconds before it. Refused when it is in the future.
    type: str
  recovery_margin:
    description:
      - Seconds before O(recovery_time_target) to restore to, so that clock differences and the restore's granularity
        cannot land inside the apply. Writes of the application in that margin are lost with the release's.
    type: float
    default: 60
  wait_timeout:
    description: Seconds to wait for the restore to finish after the request (C(ACTIVE_HEALTHY) again).
    type: float
    default: 1800
  begin_timeout:
    description:
      - Seconds to wait for the restore to begin after the request. When it has not, the module fails without asking
        again (a second request would restore twice); check the project's Backups page.
    type: float
    default: 300
  poll_interval:
    description: Seconds between status polls.
    type: float
    default: 15
  log_dir:
    description: Directory of the rollback log. Defaults to C(artifacts/data) under the current directory.
    type: path
  trigger:
    description:
      - "Set when the rollback was triggered automatically, e.g. C({reason: verify failed, evidence: {...}});
        the reason and evidence go into the log and the audit row."
      - In a database whose policy requires approval (production), a trigger alone approves nothing. Without a
        C(production_rollback) approval bound to this rollback's plan digest, it needs O(run_key), the key of the
        release run that applied the versions to revert; the trigger is then recorded in
        C(hotdash_audit.rollback_triggers) before anything changes.
    type: dict
  record_exercise:
    description: Record the rollback in C(hotdash_audit.rollback_exercises).
    type: bool
    default: true
  fail_on_failed:
    description: Fail the task when a verification check fails (after O(waivers); the audit row and log are written first).
    type: bool
    default: true
  pg_bin_dir:
    description: Directory of C(pg_restore) and C(psql); defaults to E(PATH).
    type: path
  timeout:
    description: Seconds C(pg_restore) and C(psql) may run.
    type: int
    default: 3600
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.policy
  - hotdash.supabase.policy.AUTOMATIC
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the versions that would be reverted, the plan and the statements, and changes nothing.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Revert what the apply just applied, with the down scripts
  hotdash.supabase.migration_rollback:
    db_url: "{{ supabase_db_url }}"
    strategy: down_scripts
    environment: staging
    project_dir: "{{ supabase_project_dir }}"
    versions: ["20251019090000"]
    log_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    inventory_host: "{{ inventory_hostname }}"
  no_log: true

- name: Restore the preflight's dump
  hotdash.supabase.migration_rollback:
    db_url: "{{ supabase_db_url }}"
    strategy: logical_restore
    environment: production
    backup_path: "{{ supabase_preflight_result.backup_path }}"
    trigger: {reason: verify failed, evidence: {failed_checks: [rls]}}
  no_log: true

- name: Point-in-time restore to before the apply
  hotdash.supabase.migration_rollback:
    db_url: "{{ supabase_db_url }}"
    strategy: supabase_pitr
    environment: production
    project_ref: abcdefghijklmnopqrst
    access_token: "{{ supabase_access_token }}"
    recovery_time_target: "2025-10-19T02:00:00Z"
    target_version: "20251015090000"
  no_log: true
'''

RETURN = r'''
policy_check:
  description:
    - The database policy's decision on this rollback (gate C(production_rollback)); C(plan_digest) is what an approval
      must cover; C(trigger_id) and C(release_run_id) when an automatic trigger with the release's run key let it
      through instead of an approval.
  returned: when something is (or would be) rolled back
  type: dict
  sample: {"gate": "production_rollback", "environment": "production", "plan_digest": "sha256:77aa...",
           "approval_id": null, "trigger_id": 3, "release_run_id": 41}
reverted:
  description: Versions rolled back, newest first.
  returned: always
  type: list
  elements: str
  sample: ["20251019090000"]
to_revert:
  description: Versions the rollback was (or in check mode would be) for, newest first.
  returned: when the history could be read
  type: list
  elements: str
  sample: ["20251019090000"]
applied_before:
  description: History versions before the rollback.
  returned: when the history could be read
  type: list
  elements: str
  sample: ["20251015090000", "20251019090000"]
expected_history:
  description: History versions the database must hold afterwards.
  returned: when the history could be read
  type: list
  elements: str
  sample: ["20251015090000"]
plan:
  description: Steps (down script files, objects to drop, restore or PITR request).
  returned: always
  type: list
  elements: dict
  sample: [{"versions": ["20251019090000"], "file": "supabase/rollbacks/20251019090000_x.down.sql", "statements": 2}]
queries:
  description: The SQL that ran or would run (down script statements or drop statements).
  returned: always
  type: list
  elements: str
  sample: ["drop view if exists public.dashboard_tiles"]
checks:
  description:
    - C(rollback) (C(rollback (check mode)) when check mode would roll something back) with what was, or would be,
      rolled back, then the verification checks (C(rollback history), C(smoke reads), C(no data loss), C(rls enabled),
      and C(backup row counts) after a logical restore), in the check_report shape.
    - With O(error_status), a failure (planning or running) is the C(rollback) check with that status and the error,
      pointing to the log.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "rollback", "status": "ok", "detail": "rolled back 20251019090000 with down_scripts; verification passed",
            "remedy": ""}, {"name": "rollback history", "status": "ok", "detail": "history matches the target"}]
passed:
  description: True when no verification check failed (after O(waivers)).
  returned: always
  type: bool
  sample: true
counts:
  description: Number of verification checks per status.
  returned: always
  type: dict
  sample: {"ok": 4}
succeeded:
  description: True when the strategy ran and no verification check failed.
  returned: always
  type: bool
  sample: true
log_path:
  description: The rollback log, or C(null) when nothing ran.
  returned: always
  type: str
  sample: artifacts/data/db1/staging_rollback_20251019T021500Z.log
exercise_id:
  description: Id of the row in C(hotdash_audit.rollback_exercises), or C(null).
  returned: always
  type: int
  sample: 7
summary:
  description: One line saying what happened.
  returned: success
  type: str
  sample: rolled back 20251019090000 with down_scripts; verification passed
pitr:
  description:
    - The PITR request body, the moment and margin it came from, when it was asked (the database server's clock), the
      statuses seen while waiting, and after how many seconds the restore began and finished.
  returned: when O(strategy=supabase_pitr) ran
  type: dict
  sample: {"project_ref": "abcdefghijklmnopqrst", "request": {"recovery_time_target_unix": 1760839140},
           "recovery_time_target": "2025-10-19T02:00:00Z", "recovery_margin": 60.0,
           "requested_at": "2025-10-19T02:21:07.120410Z",
           "statuses_seen": ["ACTIVE_HEALTHY", "RESTORING", "COMING_UP", "ACTIVE_HEALTHY"], "began_after": 30.1,
           "finished_after": 615.4, "requests_made": 43}
error:
  description: The error, when O(error_status) reported the failure as a check instead of failing the task.
  returned: on failure with O(error_status)
  type: str
  sample: "down script 20251019090000_tiles.down.sql failed at statement 1 of 2: ..."
restore:
  description: The backup restored, the history it holds and its row counts.
  returned: when O(strategy=logical_restore)
  type: dict
  sample: {"backup_path": "artifacts/backups/db1_hotdash_20251019T015900Z.dump", "backup_history": ["20251015090000"],
           "backup_counts": {"public.customer_segments": 3}}
'''

from ansible.module_utils.basic import env_fallback

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import Guard, policy_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.rollback import (DEFAULT_COUNT_TABLES, STRATEGIES,
                                                                                RollbackOptions, error_checks,
                                                                                run_rollback)


def body(module):
    p = module.params
    options = RollbackOptions(
        p["strategy"], environment=p["environment"], project_dir=p["project_dir"], target_version=p["target_version"],
        versions=p["versions"], rollback_script=p["rollback_script"], rollback_dir=p["rollback_dir"],
        backup_path=p["backup_path"],
        schemas=p["schemas"], count_tables=p["count_tables"], seed_path=p["seed_path"], project_ref=p["project_ref"],
        access_token=p["access_token"], api_url=p["api_url"], recovery_time_target=p["recovery_time_target"],
        recovery_margin=p["recovery_margin"], wait_timeout=p["wait_timeout"], begin_timeout=p["begin_timeout"],
        poll_interval=p["poll_interval"], log_dir=p["log_dir"], trigger=p["trigger"],
        run_id=p["run_id"], host=p["inventory_host"], record_exercise=p["record_exercise"],
        fail_on_failed=p["fail_on_failed"], waivers=p["waivers"],
        pg_bin_dir=p["pg_bin_dir"], timeout=p["timeout"])
    settings = connection_settings(module)
    options.guard = Guard(settings, "rollback", "migration_rollback:%s" % p["strategy"], p["environment"], p,
                          trigger=p["trigger"])
    return run_rollback(settings, options, check_mode=module.check_mode)


def main():
    argument_spec = dict(
        strategy=dict(type="str", required=True, choices=list(STRATEGIES)),
        environment=environment_option(required=True),
        project_dir=dict(type="path"),
        target_version=dict(type="str"),
        versions=dict(type="list", elements="str", default=[]),
        rollback_script=dict(type="path"),
        rollback_dir=dict(type="path"),
        backup_path=dict(type="path"),
        schemas=dict(type="list", elements="str", default=["public"]),
        count_tables=dict(type="list", elements="str", default=list(DEFAULT_COUNT_TABLES)),
        seed_path=dict(type="path"),
        project_ref=dict(type="str"),
        access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["SUPABASE_ACCESS_TOKEN"])),
        api_url=dict(type="str", default="https://api.supabase.com"),
        recovery_time_target=dict(type="str"),
        recovery_margin=dict(type="float", default=60.0),
        wait_timeout=dict(type="float", default=1800.0),
        begin_timeout=dict(type="float", default=300.0),
        poll_interval=dict(type="float", default=15.0),
        log_dir=dict(type="path"),
        trigger=dict(type="dict"),
        record_exercise=dict(type="bool", default=True),
        pg_bin_dir=dict(type="path"),
        timeout=dict(type="int", default=3600),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status", fail_on_failed=True))
    argument_spec.update(policy_argument_spec(automatic=True))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check=error_checks)


if __name__ == "__main__":
    main()
