#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: run_index
short_description: Write the run directory's index.md linking every report, log and chart by host and phase
version_added: 0.1.0
description:
  - Lists every file under O(run_dir) (except C(index.md) and hidden files) and writes C(<run_dir>/index.md) with
    run-level files first (C(approvals.jsonl), logs), then one table per host with one row per phase
    (C(preflight), C(apply), C(verify), C(monitor), C(rollback), ...) and relative links to each file.
  - The text depends only on the files and O(meta), so writing it again without new files reports C(changed=false).
options:
  run_dir:
    description: The run directory (C(supabase_report_dir)). It must exist.
    type: path
    required: true
  title:
    description: Heading of the index. Defaults to C(Run <run id>).
    type: str
  meta:
    description: Facts listed under the heading (environment, result, playbook).
    type: dict
    default: {}
extends_documentation_fragment:
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports whether index.md would change, without writing it.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Link every file of the run from index.md
  hotdash.supabase.run_index:
    run_dir: "{{ supabase_report_dir }}"
    meta:
      environment: "{{ supabase_environment }}"
      result: success
  run_once: true
'''

RETURN = r'''
index:
  description: Path of index.md.
  returned: always
  type: str
  sample: artifacts/data/production_20251019T020500Z/index.md
files:
  description: Files the index links, relative to O(run_dir).
  returned: always
  type: list
  elements: str
  sample: ["approvals.jsonl", "prod-eu/preflight.json", "prod-eu/preflight.md"]
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils import runinfo


def body(module):
    params = module.params
    path, changed, files = runinfo.write_index(params["run_dir"], params["title"], params["meta"],
                                               check_mode=module.check_mode)
    return dict(changed=changed, index=path, files=files)


def main():
    module = new_module(dict(
        run_dir=dict(type="path", required=True),
        title=dict(type="str"),
        meta=dict(type="dict", default={}),
    ), with_connection=False, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
