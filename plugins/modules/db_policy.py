#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_policy
short_description: Label a database with its change policy (environment, approvals, window, backup, promotion)
version_added: 0.1.0
description:
  - Stores the database's change policy in C(hotdash_audit.policy), in the database itself. M(hotdash.supabase.migration_apply),
    M(hotdash.supabase.migration_repair), M(hotdash.supabase.migration_rollback) and M(hotdash.supabase.db_read_only) read it
    before changing anything and refuse, in one line recorded in C(hotdash_audit.refusals), a run that does not meet it.
    Extra variables of a run can make it stricter, never weaker.
  - Setting or changing the policy is itself a change that needs an approval at gate C(policy_change), bound to the digest
    of the new policy and recorded in C(hotdash_audit.approvals) (the playbook C(hotdash.supabase.set_policy) asks for it
    with the C(hotdash.supabase.approval) role). It is judged by the stricter of the policy in force and the new one, so
    a policy is never weakened by an approval the current policy would not accept, and new allowed signers cannot
    approve their own admission.
  - Every policy set is kept (the table is append-only); the newest row is in force. Setting the same policy again
    changes nothing and needs no approval.
  - Options left out take the environment's defaults. C(production) defaults are the runbook's manager approval
    within 24 h, the 02:00-04:00 UTC window, a backup younger than 12 h and staging first (which needs
    O(promotion_db_url)).
  - A person with superuser or owner rights on the database can change anything, this table included; the policy
    protects the database from this collection's runs and their variables, not from them.
options:
  environment:
    description: The database's label.
    type: str
    required: true
    choices: [local, staging, production]
  require_approval:
    description: Changes need an approval bound to their plan. Always true in production.
    type: bool
  approval_max_age:
    description: Seconds an approval stays valid after its C(approved_at) (database clock). At most 7 days; default 86400.
    type: float
  allowed_waivers:
    description: Gates at which a recorded waiver counts as approval. Never C(apply_production), C(production_rollback) or C(policy_change).
    type: list
    elements: str
    choices: [apply_production, drift_resolution, production_rollback, apply_staging, policy_change]
  require_verified_approval:
    description: Only an SSH-signed approval (verified against O(allowed_signers_file)) or an AWX workflow approval (verified through O(awx_url)) counts.
    type: bool
  require_distinct_approver:
    description: The approver must not be the operator of the change (needs O(require_verified_approval)).
    type: bool
  windows:
    description: Maintenance windows (C(HH:MM-HH:MM) UTC, or C({start, end, days})) an apply or repair must run in; the database's clock decides.
    type: list
    elements: raw
  allow_window_override:
    description: An approval may carry a reason to run outside the windows.
    type: bool
  backup_max_age:
    description: Seconds; an apply needs a backup recorded in C(hotdash_audit.backups) at most this old. C(0) requires none.
    type: float
  require_promotion:
    description: Every version to apply must already be applied, with the same statements, on the staging database of O(promotion_db_url).
    type: bool
  promotion_db_url:
    description:
      - Connection URL of the staging database; the module reads its identity (system identifier and name) and pins it
        in the policy, so an apply can prove promotion only against that database.
    type: str
  allowed_signers_file:
    description:
      - An C(allowed_signers) file (as for C(ssh-keygen -Y verify)) kept with the inventory. Its content is stored in the
        policy; SSH-signed approvals are verified against that stored copy.
    type: path
  awx_url:
    description: Base URL of the AWX / Automation Controller whose workflow approval nodes count as approvals.
    type: str
  automatic_rollback_window:
    description: Seconds after a release during which the run that applied it may roll it back on a trigger without a new approval. Default 7200.
    type: float
  run_id:
    description: Identifier of the run, stored with the policy.
    type: str
  inventory_host:
    description: Inventory host name stored with the policy.
    type: str
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the policy that would be set, what changes, and the plan digest the C(policy_change) approval must cover; writes nothing.
  diff_mode:
    support: full
    details:
      - The policy before and after.
requirements:
  - psycopg2
  - ssh-keygen (OpenSSH 8.2 or newer) to verify SSH-signed approvals
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Compute the policy change and the digest its approval must cover
  hotdash.supabase.db_policy:
    db_url: "{{ supabase_db_url }}"
    environment: production
    promotion_db_url: "{{ supabase_staging_db_url }}"
    allowed_signers_file: "{{ inventory_dir }}/allowed_signers"
    require_verified_approval: true
    require_distinct_approver: true
  check_mode: true
  register: policy_plan
  no_log: true

- name: Label the database once the policy change is approved
  hotdash.supabase.db_policy:
    db_url: "{{ supabase_db_url }}"
    environment: production
    promotion_db_url: "{{ supabase_staging_db_url }}"
    allowed_signers_file: "{{ inventory_dir }}/allowed_signers"
    require_verified_approval: true
    require_distinct_approver: true
    inventory_host: "{{ inventory_hostname }}"
  no_log: true
'''

RETURN = r'''
policy:
  description: The policy in force after the task (or that would be, in check mode).
  returned: always
  type: dict
  sample: {"environment": "production", "require_approval": true, "approval_max_age": 86400, "allowed_waivers": [],
           "require_verified_approval": true, "require_distinct_approver": true, "windows": ["02:00-04:00"],
           "allow_window_override": false, "backup_max_age": 43200, "require_promotion": true,
           "promotion_source": {"system_identifier": "7301234567890123456", "database": "hotdash_staging"},
           "allowed_signers": "ana@hotdash.example ssh-ed25519 AAAA...\n", "awx_url": null,
           "automatic_rollback_window": 7200}
previous:
  description: The policy that was in force before (null for a database without one).
  returned: always
  type: dict
  sample: null
changed_fields:
  description: Fields whose value changes.
  returned: always
  type: list
  elements: str
  sample: ["require_verified_approval"]
policy_id:
  description: Id of the row in C(hotdash_audit.policy) in force after the task (null in check mode when it would change).
  returned: always
  type: int
  sample: 3
policy_check:
  description:
    - The policy guard's decision, as every module the policy guards returns it. C(plan_digest) is what the C(policy_change) approval must
      cover; C(refusal) says, in check mode, what would be refused.
  returned: when the policy changes
  type: dict
  sample: {"gate": "policy_change", "environment": "production", "plan_digest": "sha256:5d1c...", "approval_id": 12,
           "approver": "ana@hotdash.example", "source": "change"}
summary:
  description: One line saying what happened.
  returned: always
  type: str
  sample: "policy #3 set: production (approval within 24.0 h, verified approval, windows 02:00-04:00, backup < 12.0 h, staging first)"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils import plan_digest, policy as policy_model, policy_audit, policy_guard
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings, connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

_POLICY_OPTIONS = ("environment", "require_approval", "approval_max_age", "allowed_waivers", "require_verified_approval",
                   "require_distinct_approver", "windows", "allow_window_override", "backup_max_age",
                   "require_promotion", "awx_url", "automatic_rollback_window")


def _read_signers(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read allowed_signers_file %s: %s" % (path, exc.strerror or exc))


def _staging_identity(url):
    conn = connect(ConnectionSettings.from_url(url, option="promotion_db_url"), application_name="hotdash.supabase db_policy (staging identity)")
    try:
        conn.set_session(readonly=True, autocommit=True)
        with conn.cursor() as cur:
            return plan_digest.database_identity(cur)
    finally:
        conn.close()


def requested_policy(params):
    settings = dict((name, params[name]) for name in _POLICY_OPTIONS if params.get(name) is not None)
    if params.get("allowed_signers_file"):
        settings["allowed_signers"] = _read_signers(params["allowed_signers_file"])
    if params.get("promotion_db_url"):
        settings["promotion_source"] = _staging_identity(params["promotion_db_url"])
    return policy_model.normalize(settings)


def body(module):
    params = module.params
    new = requested_policy(params)
    conn = connect(connection_settings(module), application_name="hotdash.supabase db_policy")
    try:
        with conn:
            with conn.cursor() as cur:
                stored = policy_audit.current_policy(cur)
        previous = policy_model.canonical(stored) if stored else None
        changed_fields = policy_model.differences(previous, new)
        result = dict(policy=new, previous=previous, changed_fields=changed_fields,
                      policy_id=stored["id"] if stored else None)
        if not changed_fields:
            result.update(changed=False, summary="policy #%s unchanged: %s" % (stored["id"], policy_model.describe(new)))
            return result
        change = policy_guard.Change("policy", "db_policy", new["environment"], new_policy=new,
                                     run_id=params["run_id"], host=params["inventory_host"])
        decision = policy_guard.check(conn, change, check_mode=module.check_mode)
        result.update(changed=True, policy_check=decision)
        if module._diff:
            result["diff"] = {"before": previous or {}, "after": new}
        if module.check_mode:
            result.update(policy_id=None, summary="policy would be set: %s%s" % (
                policy_model.describe(new), " (refused now: %s)" % decision["refusal"] if decision.get("refusal") else ""))
            return result
        with conn:
            with conn.cursor() as cur:
                policy_id, set_at = policy_audit.record_policy(
                    cur, new, decision["plan_digest"], decision["approval_id"], replaces=result["policy_id"],
                    set_by=decision["operator"], run_id=params["run_id"], host=params["inventory_host"])
        result.update(policy_id=policy_id, summary="policy #%s set: %s (approval #%s by %s)" % (
            policy_id, policy_model.describe(new), decision["approval_id"], decision["approver"]))
        return result
    finally:
        conn.close()


def main():
    module = new_module(dict(
        environment=dict(type="str", required=True, choices=list(policy_model.ENVIRONMENTS)),
        require_approval=dict(type="bool"),
        approval_max_age=dict(type="float"),
        allowed_waivers=dict(type="list", elements="str", choices=list(policy_model.GATES)),
        require_verified_approval=dict(type="bool"),
        require_distinct_approver=dict(type="bool"),
        windows=dict(type="list", elements="raw"),
        allow_window_override=dict(type="bool"),
        backup_max_age=dict(type="float"),
        require_promotion=dict(type="bool"),
        promotion_db_url=dict(type="str", no_log=True),
        allowed_signers_file=dict(type="path"),
        awx_url=dict(type="str"),
        automatic_rollback_window=dict(type="float"),
        run_id=dict(type="str"),
        inventory_host=dict(type="str"),
    ), supports_check_mode=True, url_options=("promotion_db_url",))
    run_module(module, body)


if __name__ == "__main__":
    main()
