#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: run_directory
short_description: Create the run directory C(artifacts/data/<label>_<UTC timestamp>/) and return its id
version_added: 0.1.0
description:
  - Every report, log, chart and C(approvals.jsonl) of one run goes into one directory,
    C(<base_dir>/<label>_<YYYYmmddTHHMMSSZ>), whose name is the run id recorded with approvals.
  - Two runs started in the same second get distinct directories (C(_2), C(_3) suffixes).
  - Call it once per play (C(run_once=true)) and set C(supabase_report_dir) from RV(run_dir).
options:
  base_dir:
    description:
      - Directory holding the run directories. A relative path is relative to the controller's current directory,
        so pass an absolute one (for example C({{ playbook_dir }}/../artifacts/data)).
    type: path
    default: artifacts/data
  label:
    description:
      - What the run is, starting the directory name - the environment of an apply (C(staging), C(production)) or
        the playbook (C(status), C(rollback), C(drift)). Letters, digits, C(-), C(_) and C(.).
    type: str
    required: true
  run_id:
    description:
      - Reuse this run id instead of making a new one (for example one id passed to every job of an AWX workflow).
    type: str
extends_documentation_fragment:
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the directory it would create, without creating it.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Create this run's directory once for the play
  hotdash.supabase.run_directory:
    base_dir: "{{ playbook_dir }}/../artifacts/data"
    label: "{{ supabase_environment }}"
  run_once: true
  register: run

- name: Use it as the report directory on every host
  ansible.builtin.set_fact:
    supabase_report_dir: "{{ run.run_dir }}"
'''

RETURN = r'''
run_id:
  description: Name of the run directory, recorded with approvals and notifications.
  returned: always
  type: str
  sample: production_20251019T020500Z
run_dir:
  description: Path of the run directory.
  returned: always
  type: str
  sample: /srv/hotdash/artifacts/data/production_20251019T020500Z
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils import runinfo


def body(module):
    params = module.params
    if module.check_mode:
        run_id, path, created = runinfo.planned_run_dir(params["base_dir"], params["label"], params["run_id"])
    else:
        run_id, path, created = runinfo.create_run_dir(params["base_dir"], params["label"], params["run_id"])
    return dict(changed=created, run_id=run_id, run_dir=path)


def main():
    module = new_module(dict(
        base_dir=dict(type="path", default="artifacts/data"),
        label=dict(type="str", required=True),
        run_id=dict(type="str"),
    ), with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
