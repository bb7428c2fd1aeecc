#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: release_verdict
short_description: Decide whether a release rolls back, from verify's checks before and after the apply
version_added: 0.1.0
description:
  - Compares the checks verify made after the apply (O(checks)) with those it made before it (O(baseline)), and adds
    the triggers and warnings other phases reported (an apply error, the monitor's breach). Nothing is read from a
    database.
  - A check that fails after the apply and passed before it (or did not exist before it) is a regression, a trigger
    of the kind of its step (C(rls) - RLS tests failing, C(integrity) - data integrity failures, C(rpc) - critical
    RPC failures, otherwise C(regression)). A check that fails before and after is pre-existing; it becomes a
    warning, because rolling back cannot repair it. When both checks list what fails (C(data.failing)), anything
    new in that list is a regression.
  - Checks of O(absolute_steps) (default the migration state, which is meant to change) are never compared. Without
    a baseline (O(baseline) omitted) every failure is a trigger.
  - The verdict is C(rollback) with any trigger, C(succeeded_with_warnings) with any warning, else C(succeeded).
options:
  checks:
    description:
      - The checks after the apply, as the check modules return them (C(name), C(status), C(detail), C(data)), each
        with C(step) naming the verify step that made it (C(migrations), C(rls), C(integrity), C(rpc), C(smoke),
        C(advisors)). A check may name its trigger kind itself in C(trigger_kind).
      - Give either O(checks) or O(steps).
    type: list
    elements: dict
  steps:
    description:
      - The checks after the apply by step, a dict whose keys are the steps (C(rls), C(integrity), ...) and whose
        values are each step's module result's C(checks); each check is labelled with its step, in the order given.
    type: dict
  baseline:
    description:
      - The same checks made before the apply, labelled with their steps (the RV(checks) this module returned then).
        Omit when there is no baseline; then every failure is a trigger.
    type: list
    elements: dict
  absolute_steps:
    description: Steps whose failures are always triggers, never compared with the baseline.
    type: list
    elements: str
    default: [migrations]
  triggers:
    description:
      - Triggers other phases reported, each C({kind, reason, source, runbook, evidence}) as the collection's modules
        return them. Kinds are C(migration_error), C(rls_failure), C(error_rate), C(rpc_failure),
        C(integrity_failure), C(customer_errors), C(regression), C(rpc_budget).
    type: list
    elements: dict
    default: []
  run_warnings:
    description:
      - Warnings other phases reported (kinds C(pre_existing), C(success_criterion), C(rpc_budget),
        C(check_warning)).
    type: list
    elements: dict
    default: []
  fail_on_failed:
    description: Fail the task when the verdict is C(rollback), naming every trigger in one line.
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads nothing and changes nothing; the same result in check mode.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Judge the release against the checks made before the apply
  hotdash.supabase.release_verdict:
    baseline: "{{ supabase_verify_baseline_checks }}"
    checks: "{{ __supabase_verify_checks }}"
    triggers: "{{ supabase_monitor_result.triggers | default([]) }}"
  register: __supabase_release_verdict

- name: Roll back on a trigger
  ansible.builtin.include_role:
    name: hotdash.supabase.rollback
  vars:
    supabase_rollback_trigger:
      reason: "{{ __supabase_release_verdict.reasons | join('; ') }}"
      evidence:
        triggers: "{{ __supabase_release_verdict.triggers }}"
  when: __supabase_release_verdict.rollback
'''

RETURN = r'''
verdict:
  description: C(rollback), C(succeeded_with_warnings) or C(succeeded).
  returned: always
  type: str
  sample: succeeded_with_warnings
rollback:
  description: True when any trigger fired.
  returned: always
  type: bool
  sample: false
passed:
  description: True when no trigger fired (pre-existing failures and warnings do not count).
  returned: always
  type: bool
  sample: true
summary:
  description: One line for people.
  returned: always
  type: str
  sample: "succeeded with warnings: 0 trigger(s); 1 warning(s); pre-existing: advisor: security_definer_view"
reasons:
  description: Each trigger as one line, its kind then its reason.
  returned: always
  type: list
  elements: str
  sample: ["rls_failure: rls: anon sees no facts fails after the apply; it was ok before it: anon: 4 rows"]
triggers:
  description: Every trigger, those given in O(triggers) first, then the regressions.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "rls_failure", "reason": "rls: anon sees no facts fails after the apply; it was ok before it",
            "source": "verify", "runbook": "RLS tests failing after apply", "check": "rls: anon sees no facts",
            "evidence": {"step": "rls", "before": {"status": "ok", "detail": "0 rows"},
                         "after": {"status": "fail", "detail": "anon: 4 rows"}}}]
run_warnings:
  description: Every warning, those given in O(run_warnings) first, then pre-existing failures and warning checks.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "pre_existing", "reason": "advisor: security_definer_view failing before the apply too: ...",
            "source": "verify", "runbook": "failing before the apply too", "check": "advisor: security_definer_view",
            "evidence": {}}]
checks:
  description:
    - The checks after the apply, each with C(baseline) (C(regression), C(pre_existing), C(fixed), C(unchanged), or
      C(none) without a baseline). Pre-existing failures are turned into C(warn) with C(pre_existing_from=fail), so a
      report of these checks passes unless something regressed.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "advisor: security_definer_view", "status": "warn", "pre_existing_from": "fail",
            "baseline": "pre_existing", "detail": "pre-existing (failing before the apply too): ..."}]
counts:
  description: Judged checks per status.
  returned: always
  type: dict
  sample: {"ok": 12, "warn": 1}
regressions:
  description: Names of the checks that regressed.
  returned: always
  type: list
  elements: str
  sample: []
pre_existing:
  description: Names of the checks that failed before the apply too.
  returned: always
  type: list
  elements: str
  sample: ["advisor: security_definer_view"]
fixed:
  description: Names of the checks that failed before the apply and pass after it.
  returned: always
  type: list
  elements: str
  sample: []
baseline:
  description: C(compared), or C(none) when no baseline was given.
  returned: always
  type: str
  sample: compared
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.baseline import judge_release, with_step
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, module_result


def body(module):
    params = module.params
    checks = params["checks"]
    if checks is None:
        checks = [c for step, step_checks in params["steps"].items() for c in with_step(step_checks or [], step)]
    judged = judge_release(checks, params["baseline"], params["triggers"], params["run_warnings"],
                           params["absolute_steps"])
    result = module_result(judged.pop("checks"))
    result.update(judged)  # passed: other phases' triggers count too, not only the checks
    if params["fail_on_failed"] and result["rollback"]:
        raise CheckFailed("release verdict: rollback (%s)" % "; ".join(result["reasons"]), **result)
    return result


def main():
    argument_spec = dict(
        checks=dict(type="list", elements="dict"),
        steps=dict(type="dict"),
        baseline=dict(type="list", elements="dict"),
        absolute_steps=dict(type="list", elements="str", default=["migrations"]),
        triggers=dict(type="list", elements="dict", default=[]),
        run_warnings=dict(type="list", elements="dict", default=[]),
    )
    argument_spec.update(check_argument_spec("fail_on_failed"))
    module = new_module(argument_spec, with_connection=False, needs_psycopg2=False, supports_check_mode=True,
                        required_one_of=[("checks", "steps")], mutually_exclusive=[("checks", "steps")])
    run_module(module, body)


if __name__ == "__main__":
    main()
