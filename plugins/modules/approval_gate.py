#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: approval_gate
short_description: Fail-closed approval gate (interactive yes, recorded approval variables, or a waiver)
version_added: 0.1.0
description:
  - An action plugin that runs on the controller and decides whether the play may pass an approval point of
    the runbook (drift resolution strategy, production apply window, production rollback).
  - With a terminal on the controller's stdin it shows the gate, environment, hosts, versions and O(summary),
    and accepts only an explicit C(yes); anything else, including an empty answer or Ctrl+C, fails.
  - Without a terminal (AWX, ansible-runner, CI, cron) it never waits. It requires O(approver), O(ticket) and
    O(approved_at) (ISO 8601, not older than O(max_age_hours) and not in the future) or fails at once with a
    message naming the variables C(supabase_approval_approver), C(supabase_approval_ticket) and
    C(supabase_approval_at).
  - Terminal detection is done by the main C(ansible-playbook) process (Ansible's prompt proxy checks that its
    stdin is a TTY in the foreground process group). Because ansible-runner and AWX run C(ansible-playbook)
    inside a pseudo-terminal, O(mode=auto) also treats the environment variables C(AWX_ISOLATED_DATA_DIR),
    C(JOB_ID), C(TOWER_HOST), C(AWX_HOST), C(CI), C(GITHUB_ACTIONS), C(GITLAB_CI), C(JENKINS_URL) and
    C(BUILD_ID) as headless.
  - Unlike M(ansible.builtin.pause), which continues with an empty answer when stdin is not interactive, this
    gate fails closed.
  - O(required_acknowledgements) adds a checklist of human steps (the runbook's "DevOps notified 24 hours in
    advance", "Incident response team on standby"...). On a terminal every question is listed and asked, one by
    one, before the final C(yes); a missing or invalid answer refuses. Without a terminal the answers come from
    O(acknowledgements); every missing or invalid one is named at once in one line, and nothing waits. The
    answers are part of the returned C(record).
  - It only decides; M(hotdash.supabase.approval_record) writes the returned C(record) to each database and to
    the run's C(approvals.jsonl). The role C(hotdash.supabase.approval) does both.
options:
  gate:
    description: The approval point.
    type: str
    required: true
    choices: [apply_production, drift_resolution, production_rollback, apply_staging, policy_change]
  environment:
    description: Environment the gate guards, for example C(production).
    type: str
    required: true
    choices: [local, staging, production]
  mode:
    description:
      - C(auto) prompts when there is a terminal and no automation marker, otherwise checks the approval variables.
      - C(interactive) requires a terminal; C(headless) never prompts.
      - C(waiver) lets the run through without approval, recording O(waiver_reason); refused for
        C(apply_production), C(production_rollback) and O(protected_environments).
    type: str
    default: auto
    choices: [auto, interactive, headless, waiver]
  summary:
    description: Text shown in the prompt and recorded with the approval (what will be applied or rolled back).
    type: str
    default: ''
  versions:
    description: Migration versions the gate lets through (to apply or to roll back).
    type: list
    elements: str
    default: []
  hosts:
    description: Hosts (databases) the approval covers, shown in the prompt.
    type: list
    elements: str
    default: []
  approver:
    description:
      - Who approved. Required without a terminal. With a terminal, defaults to the controller user
        (C(USER) or C(LOGNAME)).
      - Plain text only; a list, a dict, a blank value or invisible characters (a zero-width space) are refused.
    type: raw
  ticket:
    description:
      - Change ticket of the approval. Required without a terminal; on a terminal it is asked when not given.
      - Plain text only, as O(approver).
    type: raw
  approved_at:
    description: When the approval was given, ISO 8601 (C(Z) or an offset; no offset means UTC). Required without a terminal.
    type: str
  max_age_hours:
    description: Oldest acceptable O(approved_at), in hours.
    type: float
    default: 24
  waiver_reason:
    description: Why no approval is needed; required with O(mode=waiver).
    type: str
  protected_environments:
    description: Environments where a waiver is refused.
    type: list
    elements: str
    default: [production]
    choices: [local, staging, production]
  run_id:
    description: Identifier of the run, copied into the record.
    type: str
  required_acknowledgements:
    description:
      - Checklist the approver acknowledges. Each item is a dict with C(name) (lower-case identifier, the key of
        the answer), C(question) (shown to the person), optional C(type) and, for a timestamp, C(min_age_hours).
      - C(type=confirm) (the default) needs C(yes) on a terminal and V(true) in O(acknowledgements).
      - C(type=timestamp) needs an ISO 8601 time that is not in the future and, with C(min_age_hours), at least that
        many hours before now (for example C(24) for "DevOps notified 24 hours in advance").
      - C(type=text) needs a non-empty answer, for example the incident commander's name.
      - C(gates) (a list of gates) limits an item to those gates; without it the item applies to every gate. This
        lets one inventory-wide list hold the apply window's checklist without holding up an emergency
        C(production_rollback).
      - A waiver (O(mode=waiver)) waives the checklist along with the approval.
    type: list
    elements: dict
    default: []
  acknowledgements:
    description:
      - Answers to O(required_acknowledgements) for runs without a terminal, name -> value (V(true), an ISO 8601
        timestamp, or text). Ignored when the gate asks on a terminal.
    type: dict
    default: {}
  plans:
    description:
      - What the approval covers, one entry per database, C({host, digest, database, versions}); C(digest) is the plan
        digest the changing module returned in check mode (C(policy_check.plan_digest)). The record carries them and
        M(hotdash.supabase.approval_record) binds each host's row to its digest.
    type: list
    elements: dict
    default: []
  statement_file:
    description:
      - An approval statement signed with C(ssh-keygen -Y sign -n hotdash.supabase.approval) (C(tools/sign_approval.py)
        makes one from O(request_file)); the signature is read from the same path plus C(.sig).
      - The approver, ticket and time are the signed ones; the statement must name this gate, environment and every
        plan of O(plans), or the gate refuses.
    type: path
  allowed_signers_file:
    description: The C(allowed_signers) file kept with the inventory; when given, the signature is checked here already.
    type: path
  awx_approval:
    description:
      - Under AWX (E(JOB_ID) set), the approval is the workflow's approval node; who approved and when are read from the
        AWX API by M(hotdash.supabase.approval_record), at the URL the database's policy pins.
    type: bool
    default: false
  window_override:
    description: Why this change may run outside the maintenance window; honoured only where the policy allows it.
    type: str
  request_file:
    description:
      - Where to write the approval request (gate, environment and the plan lines) when a run without a terminal has no
        approval, so an approver can sign it.
    type: path
  refusal:
    description:
      - The failed result of an earlier call of this gate (registered without failing, so that each database could
        record the refusal first). The task then fails with that result, message and details (C(missing),
        C(acknowledgements_missing), C(acknowledgements_invalid), C(request_file)) as the gate returned them; nothing is
        asked or checked again. The approval role uses it.
    type: dict
attributes:
  action:
    support: full
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
  async:
    support: none
    description: Supports being used with the C(async) keyword.
  bypass_host_loop:
    support: none
    description: Forces a 'global' task that does not execute per host.
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
    details:
      - The gate is enforced in check mode as well; it changes nothing.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    support: full
    platforms: all
    description: Target OS/families that can be operated against.
notes:
  - Use it with C(run_once=true) so a play over many databases asks once; register the result and record it per host.
seealso:
  - module: hotdash.supabase.approval_record
  - module: ansible.builtin.pause
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Ask for (or check) the production approval once per play
  hotdash.supabase.approval_gate:
    gate: apply_production
    environment: production
    summary: "Apply 3 migrations in the 02:00-04:00 UTC window"
    versions: ["20251011000000", "20251012000000"]
    hosts: "{{ ansible_play_hosts }}"
    approver: "{{ supabase_approval_approver | default(omit) }}"
    ticket: "{{ supabase_approval_ticket | default(omit) }}"
    approved_at: "{{ supabase_approval_at | default(omit) }}"
  run_once: true
  register: gate

# Headless (AWX, CI): ansible-playbook ... -e supabase_approval_approver=maria
#   -e supabase_approval_ticket=CHG-1042 -e supabase_approval_at=2025-10-19T02:05:00Z

- name: Production window with the runbook's pre-flight checklist acknowledged
  hotdash.supabase.approval_gate:
    gate: apply_production
    environment: production
    hosts: "{{ ansible_play_hosts }}"
    required_acknowledgements:
      - name: devops_notified_at
        question: DevOps notified 24 hours in advance (when?)
        type: timestamp
        min_age_hours: 24
      - name: incident_commander
        question: Incident response team on standby (incident commander's name)
        type: text
      - name: rollback_criteria_defined
        question: Rollback decision criteria defined
    acknowledgements: "{{ supabase_approval_acknowledgements | default({}) }}"
    approver: "{{ supabase_approval_approver | default(omit) }}"
    ticket: "{{ supabase_approval_ticket | default(omit) }}"
    approved_at: "{{ supabase_approval_at | default(omit) }}"
  run_once: true
  register: gate
'''

RETURN = r'''
record:
  description: The approval record (who, when, what, how); hand it to M(hotdash.supabase.approval_record).
  returned: success
  type: dict
  sample: {"gate": "apply_production", "environment": "production", "approver": "maria",
           "approved_at": "2025-10-19T02:05:00Z", "mode": "headless", "ticket": "CHG-1042", "reason": null,
           "versions": ["20251011000000"], "summary": "Apply 3 migrations", "hosts": ["prod-eu"], "run_id": null,
           "acknowledgements": {"devops_notified_at": "2025-10-18T01:00:00Z", "incident_commander": "Ana",
                                "rollback_criteria_defined": true}}
checks:
  description:
    - The approval as report checks (the shape M(hotdash.supabase.check_report) takes) - C(approval <gate>),
      C(waived) for a waiver and C(ok) otherwise, then one check per acknowledged checklist item.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "approval apply_production", "status": "ok", "remedy": "",
            "detail": "headless by maria at 2025-10-19T02:05:00Z, ticket CHG-1042"},
           {"name": "acknowledged incident_commander", "status": "ok", "remedy": "",
            "detail": "Incident response team on standby (incident commander's name): Ana"}]
passed:
  description: True on success (a refused approval fails the task).
  returned: success
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success
  type: dict
  sample: {"ok": 2}
acknowledgements_missing:
  description: Names of the required acknowledgements that were not passed (headless refusal).
  returned: when the gate refused because acknowledgements were missing or invalid
  type: list
  elements: str
  sample: ["incident_commander"]
acknowledgements_invalid:
  description: Required acknowledgements that were passed but are not valid, name -> why.
  returned: when the gate refused because acknowledgements were missing or invalid
  type: dict
  sample: {"devops_notified_at": "devops_notified_at 2026-11-26T01:00:00Z is 3 h before now; the runbook requires 24 h notice"}
msg:
  description: One line saying who approved, or why the gate stayed closed.
  returned: always
  type: str
  sample: gate apply_production on production approved by maria (headless)
'''
