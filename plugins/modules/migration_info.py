#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_info
short_description: Show where a database stands against a supabase/migrations directory
version_added: 0.1.0
description:
  - Reads the local C(supabase/migrations) directory the way the Supabase CLI does and the CLI's history table
    C(supabase_migrations.schema_migrations) in one query, and gives every version one state.
  - C(applied) (recorded, and the recorded statements equal the file's), C(content_changed) (recorded, but the
    file was edited after it was applied; the CLI itself has no checksum), C(pending) (only local),
    C(out_of_order) (only local but older than the newest applied version), C(remote_only) (only in the history).
  - Also reports naming compliance (14-digit C(YYYYMMDDHHMMSS) versions, with a suggested new name for every other
    file), duplicate versions, files the CLI would skip, down/rollback scripts misplaced in the migrations
    directory, and mixed version widths (8 and 14 digits order differently in older CLI releases).
  - Never changes the database or the files; the session is read-only.
options:
  project_dir:
    description:
      - The project directory that contains C(supabase/migrations), or the migrations directory itself.
    type: path
    required: true
  fail_on_drift:
    description:
      - Fail when the history has versions missing from the directory (C(remote_only)) or an applied file was
        edited (C(content_changed)). The message names the versions and what to do.
      - Duplicates have their own option, O(fail_on_duplicates).
    type: bool
    default: false
  fail_on_naming:
    description:
      - Fail when a migration's version is not a 14-digit C(YYYYMMDDHHMMSS) timestamp, or a down/rollback script
        sits in the migrations directory. The message names every file and its suggested new name.
    type: bool
    default: false
  fail_on_duplicates:
    description:
      - Fail when two files share a version. On by default because C(supabase db push) would apply the first
        file and then fail on the second with a duplicate key, leaving a half-applied run; the message says
        which file to rename to what. Set to V(false) to only report duplicates.
    type: bool
    default: true
  fail_on_hazards:
    description:
      - Fail when a file that matches the migration pattern looks like a down/rollback script
        (C(20251011000000_x.down.sql)); C(supabase db push) would apply it. Down scripts belong in
        C(supabase/rollbacks/<version>_<name>.down.sql).
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - psycopg2
notes:
  - Files are ordered by version compared as text, files sharing a version by name, as C(supabase db push) 2.122.1
    does.
  - A history row without statements (written by a very old CLI) cannot be compared; it counts as C(applied) and is
    listed in RV(unverified).
seealso:
  - module: hotdash.supabase.migration_apply
  - module: hotdash.supabase.migration_repair
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Show the migration status of staging
  hotdash.supabase.migration_info:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
  register: __supabase_status

- name: Stop when the history has versions the checkout lacks, or an applied file was edited
  hotdash.supabase.migration_info:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    fail_on_drift: true
    fail_on_naming: true

- name: Only report duplicate versions
  hotdash.supabase.migration_info:
    login_host: db.example.supabase.co
    login_password: "{{ vault_db_password }}"
    project_dir: /srv/hot-dash
    fail_on_duplicates: false
'''

RETURN = r'''
entries:
  description: One entry per local file and per remote-only version, in apply order.
  returned: success
  type: list
  elements: dict
  sample: [{"version": "20251011120000", "name": "agents", "file": "20251011120000_agents.sql", "state": "applied",
            "recorded_name": "agents"},
           {"version": "20251003090000", "name": "facts", "file": null, "state": "remote_only"}]
counts:
  description: Number of entries per state, and C(total).
  returned: success
  type: dict
  sample: {"applied": 9, "pending": 2, "out_of_order": 0, "content_changed": 0, "remote_only": 56, "total": 67}
in_sync:
  description: True when nothing is pending (or out of order), remote-only or changed.
  returned: success
  type: bool
  sample: false
pending:
  description: Local migrations not in the history, in the order they would apply (out-of-order ones included).
  returned: success
  type: list
  elements: dict
  sample: [{"version": "20251015000000", "name": "dashboard_rpc_functions", "file": "20251015000000_dashboard_rpc_functions.sql"}]
remote_only:
  description: History rows with no local file (the runbook's drift).
  returned: success
  type: list
  elements: dict
  sample: [{"version": "20251003090000", "name": "facts"}]
content_changed:
  description: Versions whose recorded statements differ from the local file.
  returned: success
  type: list
  elements: str
  sample: ["20251012100000"]
out_of_order:
  description: Pending versions older than the newest applied one (C(supabase db push) needs C(--include-all)).
  returned: success
  type: list
  elements: str
  sample: []
unverified:
  description: Applied versions whose history row has no statements to compare.
  returned: success
  type: list
  elements: str
  sample: []
naming:
  description: Naming compliance, with a suggested file name for every non-compliant file.
  returned: success
  type: dict
  sample: {"compliant": 9, "total": 11, "percent": 81.8,
           "non_compliant": [{"file": "20251015_dashboard_rpc_functions.sql",
                              "suggested": "20251015000000_dashboard_rpc_functions.sql"}]}
duplicates:
  description: Versions shared by several files, with the files in apply order.
  returned: success
  type: dict
  sample: {"20251015": ["20251015_dashboard_rpc_functions.sql", "20251015_dashboard_tile_queries.sql"]}
duplicate_message:
  description: One line naming the files sharing a version and what to rename them to; null without duplicates.
  returned: success
  type: str
  sample: null
skipped:
  description: Files in the directory that the CLI skips (they do not match C(<version>_<name>.sql)), with the reason.
  returned: success
  type: list
  elements: dict
  sample: [{"file": "20251017120000.sql", "reason": "no _<name> after the version"}]
hazards:
  description: Files that match the migration pattern but look like down/rollback scripts, with a message each.
  returned: success
  type: list
  elements: dict
  sample: []
mixed_widths:
  description: True when versions of different lengths (for example 8 and 14 digits) are mixed locally or remotely.
  returned: success
  type: bool
  sample: true
newest_applied:
  description: The highest version in the history (compared as text), or null.
  returned: success
  type: str
  sample: "20251014180000"
history_table_exists:
  description: Whether C(supabase_migrations.schema_migrations) exists (it does not before the first apply).
  returned: success
  type: bool
  sample: true
migrations_dir:
  description: The migrations directory that was read.
  returned: success
  type: str
  sample: /srv/hot-dash/supabase/migrations
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import (
    classify,
    hazard_message,
    naming_message,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import DriftError
from ansible_collections.hotdash.supabase.plugins.module_utils.history import history_exists, read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory


def body(module):
    params = module.params
    # The directory first: a wrong path fails before any connection is attempted.
    local = load_directory(params["project_dir"])
    conn = connect(connection_settings(module), application_name="hotdash.supabase.migration_info")
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            exists = history_exists(cur)
            rows = read_history(cur) if exists else []
        conn.rollback()
    finally:
        conn.close()
    report = classify(local, rows, history_table_exists=exists)
    result = report.as_dict()
    result["changed"] = False
    messages = []
    if params["fail_on_duplicates"] and result["duplicate_message"]:
        messages.append(result["duplicate_message"])
    if params["fail_on_drift"]:
        messages.append(report.drift_message())
    if params["fail_on_naming"]:
        messages.append(naming_message(local))
    if params["fail_on_naming"] or params["fail_on_hazards"]:
        messages.append(hazard_message(local))
    messages = [message for message in messages if message]
    if messages:
        raise DriftError("; ".join(messages), **result)
    return result


def main():
    module = new_module(dict(
        project_dir=dict(type="path", required=True),
        fail_on_drift=dict(type="bool", default=False),
        fail_on_naming=dict(type="bool", default=False),
        fail_on_duplicates=dict(type="bool", default=True),
        fail_on_hazards=dict(type="bool", default=False),
    ), supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
