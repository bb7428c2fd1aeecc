#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: backup
short_description: Check that a fresh backup exists, or take and verify one with pg_dump
version_added: 0.1.0
description:
  - Finds the newest backup with one of four providers and returns a preflight check named C(backup) that fails when
    it is older than O(max_age_hours) (default 12 h in production, 24 h elsewhere, as in the runbook).
  - C(supabase) reads the Management API's backups list for O(project_ref) (point-in-time recovery enabled counts as
    fresh). C(pg_dump) takes a custom-format logical backup now into O(backup_dir), named
    C(<host_label>_<dbname>_<UTC timestamp>.dump), and verifies it with C(pg_restore --list); its path is returned for
    the rollback role. C(path) takes the newest file in O(backup_dir) matching O(pattern). C(command) runs O(command)
    and parses the ISO 8601 timestamp on its last output line.
  - The runbook's C(SELECT pg_backup_start_time()) no longer exists in PostgreSQL 15 and never described finished
    backups; it is not used.
  - The hosted Management API cannot be reached from CI; the C(supabase) provider is tested against a local fake
    that speaks its documented shapes.
options:
  provider:
    description: Where the newest backup comes from.
    type: str
    required: true
    choices: [supabase, pg_dump, path, command]
  environment:
    description: Environment the run targets; picks the default O(max_age_hours).
    type: str
    required: true
    choices: [local, staging, production]
  max_age_hours:
    description: Oldest acceptable backup, in hours. Defaults to 12 in production and 24 elsewhere.
    type: float
  project_ref:
    description: Supabase project reference (provider C(supabase)).
    type: str
  access_token:
    description:
      - Supabase personal access token (provider C(supabase)). Never returned or logged.
      - Falls back to the E(SUPABASE_ACCESS_TOKEN) environment variable.
    type: str
  api_url:
    description: Base URL of the Management API.
    type: str
    default: https://api.supabase.com
  api_timeout:
    description: Seconds to wait for one Management API request.
    type: int
    default: 30
  api_retries:
    description: Retries on HTTP 429/5xx and connection errors, with exponential backoff.
    type: int
    default: 3
  backup_dir:
    description: Directory of backups (provider C(path)) or where the dump is written (provider C(pg_dump)).
    type: path
  pattern:
    description: File name glob for provider C(path).
    type: str
    default: "*"
  command:
    description: Command printing an ISO 8601 timestamp on its last line (provider C(command)); run without a shell.
    type: raw
  command_timeout:
    description: Seconds the O(command) may run.
    type: int
    default: 60
  record:
    description:
      - Record the backup found or taken in C(hotdash_audit.backups) of the database of the connection options (when
        they are given); a database whose policy sets C(backup_max_age) (M(hotdash.supabase.db_policy)) refuses an
        apply without a recorded backup that recent. The same backup is recorded once.
      - A backup another provider only observed (the Management API, a path, a command) is as trustworthy as that
        provider's answer.
    type: bool
    default: true
  host_label:
    description: Host part of the dump file name (provider C(pg_dump)), normally C(inventory_hostname).
    type: str
    default: db
  pg_dump_path:
    description: The pg_dump binary.
    type: path
    default: pg_dump
  pg_restore_path:
    description: The pg_restore binary used to verify the dump.
    type: path
    default: pg_restore
  dump_timeout:
    description: Seconds pg_dump and pg_restore may run.
    type: int
    default: 3600
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - With provider C(pg_dump), check mode takes no dump and reports the path it would write (check C(skipped)).
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Require a Supabase backup younger than 12 hours
  hotdash.supabase.backup:
    provider: supabase
    environment: production
    fail_on_failed: true
    project_ref: "{{ supabase_project_ref }}"
    access_token: "{{ supabase_access_token }}"
  no_log: false

- name: Take a verified logical backup now for the rollback role
  hotdash.supabase.backup:
    provider: pg_dump
    environment: staging
    db_url: "{{ supabase_db_url }}"
    backup_dir: "{{ supabase_backup_dir }}"
    host_label: "{{ inventory_hostname }}"
  register: __supabase_preflight_backup

- name: Use the newest file written by the nightly job
  hotdash.supabase.backup:
    provider: path
    environment: staging
    backup_dir: /srv/backups/hotdash
    pattern: "*.dump"
'''

RETURN = r'''
backup_record_id:
  description: Id of the backup's row in C(hotdash_audit.backups) (see O(record)).
  returned: when the backup was recorded
  type: int
  sample: 4
checks:
  description: One check, C(backup).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "backup", "status": "ok", "detail": "newest backup 2026-11-26T01:00:00Z is 3.2 h old, limit 12 h"}]
passed:
  description: True when the check did not fail.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"ok": 1}
backup:
  description: What the provider found.
  returned: always
  type: dict
  sample: {"provider": "pg_dump", "newest": "2026-11-26T05:00:00Z", "age_hours": 0.0,
           "path": "artifacts/backups/db1_postgres_20261126T050000Z.dump", "toc_entries": 42, "verified": true}
path:
  description:
    - Where the backup is - the dump file (provider C(pg_dump); in check mode, the path it would write), or the newest
      file found (providers C(path) and C(command)); null when there is no file (provider C(supabase)).
  returned: success
  type: str
  sample: artifacts/backups/db1_postgres_20261126T050000Z.dump
pitr_enabled:
  description: Whether point-in-time recovery is enabled (provider C(supabase)).
  returned: when provider is supabase
  type: bool
  sample: false
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

import time

from ansible.module_utils.basic import env_fallback

from ansible_collections.hotdash.supabase.plugins.module_utils import backup as engine
from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import check_result, connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.management_api import ManagementApi
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_dump import planned_dump_path, take_pg_dump
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, make_check

_REQUIRED = {"supabase": ("project_ref",), "pg_dump": ("backup_dir",), "path": ("backup_dir",),
             "command": ("command",)}


def body(module):
    params = module.params
    provider = params["provider"]
    missing = [name for name in _REQUIRED[provider] if not params[name]]
    if missing:
        raise InvalidInput("provider %s needs %s" % (provider, ", ".join(missing)))
    max_age = params["max_age_hours"]
    if max_age is None:
        max_age = engine.default_max_age_hours(params["environment"])
    if max_age <= 0:
        raise InvalidInput("max_age_hours must be positive (got %s)" % max_age)
    result = dict(changed=False)
    if provider == "supabase":
        api = ManagementApi(params["access_token"], base_url=params["api_url"], timeout=params["api_timeout"],
                            retries=params["api_retries"])
        found = engine.from_supabase(api, params["project_ref"])
        result["pitr_enabled"] = found["pitr_enabled"]
    elif provider == "path":
        found = engine.from_path(params["backup_dir"], params["pattern"])
    elif provider == "command":
        found = engine.from_command(params["command"], timeout=params["command_timeout"])
    else:
        settings = connection_settings(module)
        if module.check_mode:
            path = planned_dump_path(params["backup_dir"], params["host_label"], settings.dbname)
            check = make_check("backup", "skipped", "check mode: would take a pg_dump backup of %s to %s and verify it"
                               % (settings.describe(), path))
            return check_result(module, [check], "backup check", changed=True, path=path,
                                backup=engine.finding("pg_dump", None, settings.describe(), path=path, verified=False))
        found = take_pg_dump(settings, params["backup_dir"], params["host_label"],
                             timeout=params["dump_timeout"], pg_dump=params["pg_dump_path"],
                             pg_restore=params["pg_restore_path"], now=time.time())
        result.update(changed=True, path=found["path"])
    result.setdefault("path", found.get("file"))
    if params["record"] and (params["db_url"] or params["login_host"]) and not module.check_mode:
        result["backup_record_id"], recorded = engine.record_in_database(connection_settings(module), found,
                                                                         host=params["host_label"])
        result["changed"] = result["changed"] or recorded
    status, detail, remedy = engine.evaluate(found, max_age)
    return check_result(module, [make_check("backup", status, detail, remedy, data=found)], "backup check",
                        backup=found, max_age_hours=max_age, **result)


def main():
    argument_spec = dict(
        provider=dict(type="str", required=True, choices=list(engine.PROVIDERS)),
        environment=environment_option(required=True),
        max_age_hours=dict(type="float"),
        project_ref=dict(type="str"),
        access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["SUPABASE_ACCESS_TOKEN"])),
        api_url=dict(type="str", default="https://api.supabase.com"),
        api_timeout=dict(type="int", default=30),
        api_retries=dict(type="int", default=3),
        backup_dir=dict(type="path"),
        pattern=dict(type="str", default="*"),
        command=dict(type="raw"),
        command_timeout=dict(type="int", default=60),
        host_label=dict(type="str", default="db"),
        pg_dump_path=dict(type="path", default="pg_dump"),
        pg_restore_path=dict(type="path", default="pg_restore"),
        dump_timeout=dict(type="int", default=3600),
        record=dict(type="bool", default=True),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, needs_psycopg2=False, supports_check_mode=True)
    run_module(module, body, error_check="backup")


if __name__ == "__main__":
    main()
