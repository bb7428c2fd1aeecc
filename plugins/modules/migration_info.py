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
  - Returns the state as report checks too (C(pending), C(drift), C(naming), C(hazards), C(duplicates)), with the
    status of each finding set by O(severities); with O(fail_on_failed=true) (the default) a failed check fails the
    task, its message saying which files to rename or fetch.
  - Never changes the database or the files; the session is read-only.
options:
  project_dir:
    description:
      - The project directory that contains C(supabase/migrations), or the migrations directory itself.
    type: path
    required: true
  severities:
    description:
      - Status (C(ok), C(warn) or C(fail)) of each check when it finds something, by check name; checks not named
        keep their default.
      - C(pending) (default C(warn)) - local migrations not applied yet; C(fail) after an apply.
      - C(drift) (default C(warn)) - versions in the history missing from the directory (C(remote_only)), or applied
        files edited afterwards (C(content_changed)); the detail names the versions and what to do.
      - C(naming) (default C(warn)) - versions that are not 14-digit C(YYYYMMDDHHMMSS) timestamps, each with its
        suggested new name.
      - C(hazards) (default C(warn)) - files matching the migration pattern that look like down/rollback scripts
        (C(20251011000000_x.down.sql)); C(supabase db push) would apply them. Down scripts belong in
        C(supabase/rollbacks/<version>_<name>.down.sql).
      - C(duplicates) (default C(fail)) - two files sharing a version; C(supabase db push) would apply the first and
        then fail on the second with a duplicate key, leaving a half-applied run. The detail says which file to
        rename to what.
    type: dict
    default: {}
  fail_on_failed:
    description:
      - Fail the task when a check has status C(fail) (after O(waivers)); the message is the failed checks' details.
      - On by default, so duplicate versions stop a run before anything is applied.
    type: bool
    default: true
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
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

- name: Stop when the history has versions the checkout lacks, an applied file was edited, or a name is not compliant
  hotdash.supabase.migration_info:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    severities:
      drift: fail
      naming: fail

- name: Only report duplicate versions
  hotdash.supabase.migration_info:
    login_host: db.example.supabase.co
    login_password: "{{ vault_db_password }}"
    project_dir: /srv/hot-dash
    fail_on_failed: false
'''

RETURN = r'''
checks:
  description: The checks C(pending), C(drift), C(naming), C(hazards) and C(duplicates) in the check_report shape.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "pending", "status": "warn", "detail": "9 applied, 1 pending: 20251015000000",
            "remedy": "apply them (role hotdash.supabase.apply), or roll back what should not be there"}]
passed:
  description: True when no check failed (after O(waivers)).
  returned: success
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success
  type: dict
  sample: {"ok": 4, "warn": 1}
entries:
  description: One entry per local file and per remote-only version, in apply order.
  returned: success
  type: list
  elements: dict
  sample: [{"version": "20251011120000", "name": "agents", "file": "20251011120000_agents.sql", "state": "applied",
            "recorded_name": "agents"},
           {"version": "20251003090000", "name": "facts", "file": null, "state": "remote_only"}]
state_counts:
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
ignored_files:
  description:
    - Files in the directory that the CLI ignores (they do not match C(<version>_<name>.sql)), with the reason.
    - Such C(.sql) files also make the C(naming) check find something (nothing would ever apply them).
    - Called C(skipped) in earlier versions; renamed because Ansible reads a result key C(skipped) as "the task was skipped".
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
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import read_state, state_checks, validate_severities
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import load_directory
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec


def body(module):
    params = module.params
    # The directory and the options first: a wrong path fails before any connection is attempted.
    local = load_directory(params["project_dir"])
    validate_severities(params["severities"])
    conn = connect(connection_settings(module), application_name="hotdash.supabase.migration_info")
    try:
        conn.set_session(readonly=True)
        report = read_state(conn, local)[2]
        conn.rollback()
    finally:
        conn.close()
    return check_result(module, state_checks(report, params["severities"]), None, **report.as_dict())


def main():
    argument_spec = dict(
        project_dir=dict(type="path", required=True),
        severities=dict(type="dict", default={}),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status", fail_on_failed=True))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body, error_check="migrations")


if __name__ == "__main__":
    main()
