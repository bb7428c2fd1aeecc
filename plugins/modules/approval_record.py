#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: approval_record
short_description: Record an approval or waiver in the target database's audit table and the run's approvals.jsonl
version_added: 0.1.0
description:
  - Writes the record returned by M(hotdash.supabase.approval_gate) for one host into
    C(hotdash_audit.approvals) of that host's database (the schema is created when missing; never C(public)),
    and appends it as one JSON line to C(<report_dir>/approvals.jsonl).
  - The row is bound to this host's plan digest (from the record's C(plans)), which M(hotdash.supabase.migration_apply),
    M(hotdash.supabase.migration_repair), M(hotdash.supabase.migration_rollback) and M(hotdash.supabase.db_read_only)
    look for before they change anything.
  - Before writing, the database's policy (M(hotdash.supabase.db_policy)) is checked. A database labelled
    C(production) refuses to hold an approval for another environment or a gate it does not use (an C(apply_staging)
    waiver), any waiver its policy does not allow, and a record without a plan digest. Approver and ticket must be
    plain text (not a list or dict, not blank, no invisible characters). An SSH-signed record (C(proof=ssh_signature))
    is verified with C(ssh-keygen -Y verify) against the allowed signers the policy pins; an AWX record
    (C(proof=awx_workflow)) gets its approver and time from the AWX API at the policy's C(awx_url), with the
    controller credential of the job (E(CONTROLLER_OAUTH_TOKEN), or E(CONTROLLER_USERNAME) and E(CONTROLLER_PASSWORD))
    and E(JOB_ID). A refusal is one line, recorded in C(hotdash_audit.refusals), and nothing is written.
  - Recording the same approval event twice (same gate, environment, approver, timestamp, mode, ticket,
    acknowledgements, plan digest, proof, host and run id) changes nothing, so a re-run with the same approval
    variables reports C(changed=false).
  - A C(hotdash_audit.approvals) table created by an earlier version gets the missing columns
    (C(ALTER TABLE ... ADD COLUMN IF NOT EXISTS)) when the first row is written.
  - Many hosts may append to the same C(approvals.jsonl) at once; appends are serialized with a file lock.
options:
  record:
    description:
      - The approval record, as returned in C(record) by M(hotdash.supabase.approval_gate).
      - Needs C(gate), C(environment), C(approver), C(approved_at) and C(mode); C(ticket), C(reason),
        C(summary), C(versions) and C(acknowledgements) (the checklist answers, name -> value, stored in the
        C(jsonb) column C(acknowledgements)) are recorded when present.
      - C(plans) (C({host, digest, database, versions}) per database), C(proof), C(evidence), C(window_override) and
        C(operator) bind it to what it approves.
    type: dict
  gate_refusal:
    description:
      - Instead of O(record), the failed result of M(hotdash.supabase.approval_gate) (C(msg), C(gate), C(environment),
        and what was missing) is recorded in C(hotdash_audit.refusals) of a database that has a policy (or when the
        environment is C(production)), and the task fails with the gate's message and details. This is how an attempt
        refused before any database was reached (a list as approver, an invisible ticket, no approval at all) still
        leaves its trace in the database.
    type: dict
  inventory_host:
    description:
      - Name of the inventory host (database) the approval applies to, usually C(inventory_hostname).
      - Not C(host), which is an alias of O(login_host).
    type: str
    required: true
  run_id:
    description: Identifier of the run (the name of the run directory), stored with the record.
    type: str
  report_dir:
    description:
      - Run directory where C(approvals.jsonl) is appended. No file is written when omitted.
    type: path
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports whether the record would be written; writes nothing.
  diff_mode:
    support: none
requirements:
  - psycopg2
  - ssh-keygen (OpenSSH 8.2 or newer) for SSH-signed approvals
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Record the production approval in this database and in the run's artifacts
  hotdash.supabase.approval_record:
    db_url: "{{ supabase_db_url }}"
    record: "{{ __supabase_approval_gate.record }}"
    inventory_host: "{{ inventory_hostname }}"
    run_id: "{{ supabase_report_dir | basename }}"
    report_dir: "{{ supabase_report_dir }}"
  no_log: true
'''

RETURN = r'''
approval_id:
  description: Id of the row in C(hotdash_audit.approvals) (null in check mode when it would be inserted).
  returned: always
  type: int
  sample: 12
inserted:
  description: True when a new audit row was (or in check mode would be) inserted.
  returned: always
  type: bool
  sample: true
jsonl:
  description: Path of the approvals.jsonl file, or null without O(report_dir).
  returned: always
  type: str
  sample: artifacts/data/production_20251019T020500Z/approvals.jsonl
appended:
  description: True when a line was (or in check mode would be) appended to C(approvals.jsonl).
  returned: always
  type: bool
  sample: true
record:
  description: The record as stored, with C(host) and C(run_id).
  returned: always
  type: dict
  sample: {"gate": "apply_production", "environment": "production", "approver": "maria",
           "approved_at": "2025-10-19T02:05:00Z", "mode": "headless", "ticket": "CHG-1042",
           "versions": ["20251011000000"], "host": "prod-eu", "run_id": "production_20251019T020500Z",
           "acknowledgements": {"devops_notified_at": "2025-10-18T01:00:00Z", "rollback_criteria_defined": true}}
'''

from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.approval import REFUSAL_DETAILS
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApprovalRefused, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import check_record, record_gate_refusal


def host_plan_digest(record, host):
    """This host's plan digest among the plans the approval covers (None when it covers none of its plans)."""
    for plan in record.get("plans") or []:
        if isinstance(plan, dict) and plan.get("host") == host:
            return plan.get("digest")
    return record.get("plan_digest") or None


def record_refusal(module):
    params, refusal = module.params, module.params["gate_refusal"]
    message = str(refusal.get("msg") or "the approval gate refused")
    details = dict((key, refusal[key]) for key in REFUSAL_DETAILS if key in refusal)
    refusal_id = None
    if not module.check_mode:
        try:
            conn = connect(connection_settings(module), application_name="hotdash.supabase.approval_record")
        except SupabaseError as exc:  # the gate's refusal stands; say that it is not in the trail
            message += " (the refusal could not be recorded: %s)" % exc
        else:
            try:
                refusal_id = record_gate_refusal(conn, refusal.get("gate"), refusal.get("environment"), message,
                                                 params["inventory_host"], params["run_id"])
            finally:
                conn.close()
    raise ApprovalRefused(message, refusal_id=refusal_id, changed=False, **details)


def body(module):
    params = module.params
    if params["gate_refusal"]:
        record_refusal(module)
    record = audit.validate_record(params["record"])
    run_id = params["run_id"] or record.get("run_id") or None
    host = params["inventory_host"]
    conn = connect(connection_settings(module), application_name="hotdash.supabase.approval_record")
    try:
        # The database's policy first: what it would not accept is refused (and that refusal recorded).
        record = check_record(conn, dict(record, plan_digest=host_plan_digest(record, host)), host, run_id,
                              check_mode=module.check_mode)
        with conn:
            with conn.cursor() as cur:
                approval_id, inserted = audit.record_in_database(cur, record, host, run_id,
                                                                 check_mode=module.check_mode)
    finally:
        conn.close()
    jsonl, appended = None, False
    if params["report_dir"]:
        jsonl, appended = audit.append_jsonl(params["report_dir"], record, host, run_id,
                                             check_mode=module.check_mode)
    stored = dict(record, host=host, run_id=run_id)
    return dict(changed=inserted or appended, approval_id=approval_id, inserted=inserted, jsonl=jsonl,
                appended=appended, record=stored)


def main():
    module = new_module(dict(
        record=dict(type="dict"),
        gate_refusal=dict(type="dict"),
        inventory_host=dict(type="str", required=True),
        run_id=dict(type="str"),
        report_dir=dict(type="path"),
    ), supports_check_mode=True, mutually_exclusive=[("record", "gate_refusal")],
        required_one_of=[("record", "gate_refusal")])
    run_module(module, body)


if __name__ == "__main__":
    main()
