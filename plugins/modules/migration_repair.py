#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_repair
short_description: Repair the Supabase migration history (mark applied/reverted, fetch remote files, baseline)
version_added: 0.1.0
description:
  - Resolves migration drift without running migrations, with the semantics of C(supabase migration repair).
  - O(state=applied) records O(versions) as applied (version, name and statements from the local file) without
    running them. O(state=reverted) deletes their history rows and leaves the schema as it is.
  - O(state=fetch) writes a local file for every remote-only version from the statements its history row recorded
    (the runbook's option A); afterwards the Supabase CLI reports no remote-only version.
  - O(state=baseline) writes a schema-only C(pg_dump) of O(schemas) as one new migration and marks it applied
    (the runbook's option C); O(revert_remote_only) also marks older remote-only versions reverted.
  - History changes run in one transaction, under the same advisory lock as M(hotdash.supabase.migration_apply).
    C(supabase migration down) is never used.
options:
  project_dir:
    description: The project directory containing C(supabase/migrations), or the migrations directory itself.
    type: path
    required: true
  state:
    description: What to do.
    type: str
    required: true
    choices: [applied, reverted, fetch, baseline]
    aliases: [status]
  environment:
    description:
      - Environment of the database. A database labelled by its policy (M(hotdash.supabase.db_policy)) refuses a run
        that names another one; its policy decides whether the history change needs an approval at gate
        C(drift_resolution), bound to the plan digest of exactly these changes (O(state=fetch) changes no database
        and needs none).
      - With an approval required, give O(baseline_version) for O(state=baseline), so the plan is the same when it is
        approved and when it runs.
    type: str
    default: local
    choices: [local, staging, production]
  versions:
    description: Versions to mark with O(state=applied) or O(state=reverted).
    type: list
    elements: str
    default: []
  remote_only:
    description: With O(state=reverted), also mark every remote-only version reverted (the runbook's option B).
    type: bool
    default: false
  baseline_version:
    description: Version of the baseline file (14 digits). Defaults to the current UTC time.
    type: str
  baseline_name:
    description: Name part of the baseline file.
    type: str
    default: remote_baseline
  schemas:
    description: Schemas dumped into the baseline.
    type: list
    elements: str
    default: [public]
  revert_remote_only:
    description: With O(state=baseline), delete the history rows of remote-only versions older than the baseline.
    type: bool
    default: false
  apply_lock_wait:
    description: Seconds to wait for another runner's apply lock before failing.
    type: float
    default: 30
  pg_dump:
    description: The C(pg_dump) binary used by O(state=baseline); it must not be older than the server.
    type: str
    default: pg_dump
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.policy
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the rows and files that would change; nothing is written.
  diff_mode:
    support: full
    details:
      - History rows before and after, and the content of files written.
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Write the remote-only migrations into supabase/migrations (option A)
  hotdash.supabase.migration_repair:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    state: fetch

- name: Mark every remote-only version reverted (option B)
  hotdash.supabase.migration_repair:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    state: reverted
    remote_only: true

- name: Record a migration that was applied by hand
  hotdash.supabase.migration_repair:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    state: applied
    versions: ["20251015000100"]

- name: Baseline the public schema into one migration (option C)
  hotdash.supabase.migration_repair:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    state: baseline
    schemas: [public]
    revert_remote_only: true
'''

RETURN = r'''
policy_check:
  description:
    - The database policy's decision on these history changes; C(plan_digest) is what a C(drift_resolution) approval
      must cover (see M(hotdash.supabase.migration_apply)'s RV(hotdash.supabase.migration_apply#module:policy_check)).
  returned: when the history changes (or would, in check mode)
  type: dict
  sample: {"gate": "drift_resolution", "environment": "production", "plan_digest": "sha256:0b9e...", "approval_id": 14}
actions:
  description: One entry per version touched, with C(action) one of C(inserted), C(updated), C(deleted), C(written),
    C(unchanged).
  returned: always
  type: list
  elements: dict
  sample: [{"version": "20251003000000", "name": "facts", "action": "written", "file": "20251003000000_facts.sql"}]
files:
  description: Files written (or that would be written in check mode).
  returned: always
  type: list
  elements: str
  sample: ["/srv/hot-dash/supabase/migrations/20251003000000_facts.sql"]
queries:
  description: The history changes that ran or would run, statements abbreviated to their count.
  returned: always
  type: list
  elements: str
  sample: ["DELETE FROM supabase_migrations.schema_migrations WHERE version = '20251003000000'"]
baseline_version:
  description: Version of the baseline migration.
  returned: when O(state=baseline)
  type: str
  sample: "20251019094600"
summary:
  description: One line saying what changed.
  returned: success
  type: str
  sample: "fetch: 56 change(s)"
remote_only_before:
  description: Remote-only versions (history rows without a local file) before the repair.
  returned: success
  type: list
  elements: str
  sample: ["20251003000000"]
remote_only_after:
  description: Remote-only versions left after the repair, read again from the database and the directory.
  returned: success, not in check mode
  type: list
  elements: str
  sample: []
checks:
  description:
    - C(repair) (C(repair (check mode)) in check mode) whose detail is RV(summary), and after a real repair
      C(remote-only versions), C(fail) while RV(remote_only_after) is not empty - so a role reports the repair like
      every other step.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "repair", "status": "ok", "detail": "reverted: 1 change(s)", "remedy": ""},
           {"name": "remote-only versions", "status": "ok", "detail": "before 1, after 0", "remedy": ""}]
passed:
  description: False when remote-only versions are left after the repair.
  returned: success
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success
  type: dict
  sample: {"ok": 1}
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import Guard, policy_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    check_result,
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.repair import RepairRequest, repair_checks, run_repair


def body(module):
    params = module.params
    request = RepairRequest(params["state"], versions=params["versions"], remote_only=params["remote_only"],
                            baseline_version=params["baseline_version"], baseline_name=params["baseline_name"],
                            schemas=params["schemas"], revert_remote_only=params["revert_remote_only"],
                            apply_lock_wait=params["apply_lock_wait"], pg_dump=params["pg_dump"])
    settings = connection_settings(module)
    if params["state"] != "fetch":  # fetch writes local files only; the database does not change
        request.guard = Guard(settings, "repair", "migration_repair:%s" % params["state"], params["environment"], params)
    result = run_repair(settings, params["project_dir"], request, check_mode=module.check_mode, diff=module._diff)
    return check_result(module, repair_checks(result, module.check_mode), **result)


def main():
    argument_spec = dict(
        project_dir=dict(type="path", required=True),
        state=dict(type="str", required=True, choices=["applied", "reverted", "fetch", "baseline"],
                   aliases=["status"]),
        environment=environment_option(required=False, default="local"),
        versions=dict(type="list", elements="str", default=[]),
        remote_only=dict(type="bool", default=False),
        baseline_version=dict(type="str"),
        baseline_name=dict(type="str", default="remote_baseline"),
        schemas=dict(type="list", elements="str", default=["public"]),
        revert_remote_only=dict(type="bool", default=False),
        apply_lock_wait=dict(type="float", default=30),
        pg_dump=dict(type="str", default="pg_dump"),
    )
    argument_spec.update(policy_argument_spec())
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
