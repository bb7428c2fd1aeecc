#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: migration_apply
short_description: Apply pending Supabase migrations safely, natively or through the Supabase CLI
version_added: 0.1.0
description:
  - Applies the pending files of C(supabase/migrations) to a database and records each in the Supabase CLI's
    history table C(supabase_migrations.schema_migrations), exactly as C(supabase db push) records it, so the
    CLI and this module can be used on the same database.
  - Before anything runs it refuses duplicate versions, remote-only versions (unless O(allow_remote_only)),
    out-of-order files (unless O(include_all)), unreadable or empty files, and files that cannot run in one
    transaction (unless O(non_transactional=isolate)). It refuses Supabase's transaction-mode pooler (port 6543).
  - A session advisory lock makes a second runner on the same database wait at most O(apply_lock_wait) seconds
    and then fail, instead of applying the same migrations twice.
  - With O(engine=native) (default) each migration and its history row commit in one transaction; a lock not
    granted within O(lock_timeout) is retried O(lock_retries) times with exponential backoff. The run stops at
    the first failure; what committed before it stays and is returned in RV(applied).
  - With O(engine=cli) the real C(supabase db push --yes) runs, and what it recorded is read back from the history.
  - Progress is appended to a log file as it happens (C(tail -f) works). C(supabase migration down) is never used.
options:
  project_dir:
    description:
      - The project directory containing C(supabase/migrations), or the migrations directory itself.
    type: path
    required: true
  engine:
    description:
      - C(native) applies with psycopg2; C(cli) runs the real C(supabase db push).
    type: str
    default: native
    choices: [native, cli]
  environment:
    description:
      - Environment of the database, used in the default log file name.
    type: str
    default: local
    choices: [local, staging, production]
  log_path:
    description:
      - Log file to append progress to. Defaults to
        C(artifacts/data/<environment>_migration_apply_<YYYYmmdd_HHMMSS>.log) under the current directory
        (a numbered suffix is added when another host of the same run took that name).
      - No log is written in check mode or when nothing is pending.
    type: path
  include_all:
    description:
      - Also apply pending files older than the newest applied version (like C(supabase db push --include-all)).
    type: bool
    default: false
  allow_remote_only:
    description:
      - Apply even though the history holds versions that have no local file.
    type: bool
    default: false
  target_version:
    description:
      - Stop after this version (a local migration's version); later pending files are left pending.
    type: str
  lock_timeout:
    description:
      - Seconds a statement may wait for a lock (PostgreSQL C(lock_timeout)); C(0) waits forever.
    type: float
    default: 5
  lock_retries:
    description:
      - How many times a migration whose lock was not granted is rolled back and retried (native engine).
    type: int
    default: 3
  lock_retry_backoff:
    description:
      - Seconds before the first retry; doubled for each next one.
    type: float
    default: 2
  statement_timeout:
    description:
      - Seconds a statement may run (PostgreSQL C(statement_timeout)); C(0) means no limit.
    type: float
    default: 0
  apply_lock_wait:
    description:
      - Seconds to wait for another runner's apply lock on the same database before failing.
    type: float
    default: 30
  non_transactional:
    description:
      - What to do with files holding statements that cannot run in a transaction (C(CREATE INDEX CONCURRENTLY),
        C(VACUUM), their own C(BEGIN)/C(COMMIT), C(ALTER TYPE ... ADD VALUE) whose value the same file uses later).
      - C(refuse) fails before anything runs and names the file and statement.
      - C(isolate) (native engine only) runs each such statement on its own outside a transaction, the statements
        around it in transactions, and writes the history row only when all of the file succeeded. A failure
        then leaves the file partially applied without a history row, and the error says so.
    type: str
    default: refuse
    choices: [refuse, isolate]
  cli_timeout:
    description:
      - Seconds the CLI may run before it is stopped.
    type: int
    default: 3600
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.cli
  - hotdash.supabase.cli.MINIMUM_CLI_VERSION
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - A dry run; returns exactly the migrations and statements that would apply, and C(changed) when any would.
  diff_mode:
    support: none
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Show what would apply to staging
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: staging
  check_mode: true
  register: __supabase_apply_plan

- name: Apply pending migrations to staging
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: staging
    lock_timeout: 5
    statement_timeout: 300
  register: __supabase_apply_result

- name: Apply through the Supabase CLI instead
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    engine: cli
    cli_path: "{{ supabase_cli_path | default(omit) }}"
'''

RETURN = r'''
applied:
  description: Migrations applied by this run, in order, with durations (C(null) per migration for the CLI engine).
  returned: always
  type: list
  elements: dict
  sample: [{"version": "20251011120000", "name": "facts", "file": "20251011120000_facts.sql", "duration_ms": 41,
            "attempts": 1}]
plan:
  description: Migrations that would apply (check mode) or were planned, with their statement counts and the
    statements that cannot run in a transaction.
  returned: when the directory and the history could be read
  type: list
  elements: dict
  sample: [{"version": "20251011120000", "name": "facts", "file": "20251011120000_facts.sql", "statements": 3,
            "transactional": true, "non_transactional": []}]
queries:
  description: The statements that ran or would run, in order.
  returned: when the directory and the history could be read
  type: list
  elements: str
  sample: ["CREATE TABLE facts (id bigint primary key)"]
started_at:
  description:
    - When this run started changing the database (the server's clock, UTC), taken under the apply lock before the
      first migration. A point-in-time rollback restores to a moment before it. Also in the result of a failed run.
  returned: when a migration was to be applied (not in check mode)
  type: str
  sample: "2025-10-19T02:05:11.402117Z"
log_path:
  description: Absolute path of the progress log; C(null) when none was written.
  returned: always
  type: str
  sample: /srv/hotdash/artifacts/data/staging_migration_apply_20251019_020000.log
engine:
  description: The engine used.
  returned: always
  type: str
  sample: native
summary:
  description: One line saying what was (or would be) applied.
  returned: success
  type: str
  sample: applied 2 migration(s)
content_changed:
  description: Applied versions whose local file differs from the statements recorded in the history.
  returned: when the directory and the history could be read
  type: list
  elements: str
  sample: []
cli_version:
  description: Version of the Supabase CLI used by O(engine=cli).
  returned: when O(engine=cli) ran the CLI
  type: str
  sample: 2.122.1
failed_file:
  description: The migration file that failed.
  returned: on failure of a migration
  type: str
  sample: 20251015000100_dashboard_tile_queries.sql
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ENGINES, NON_TRANSACTIONAL_MODES, ApplyOptions, run_apply
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import cli_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option


def body(module):
    params = module.params
    options = ApplyOptions(
        engine=params["engine"], environment=params["environment"], log_path=params["log_path"],
        include_all=params["include_all"], allow_remote_only=params["allow_remote_only"],
        target_version=params["target_version"], lock_timeout=params["lock_timeout"],
        lock_retries=params["lock_retries"], lock_retry_backoff=params["lock_retry_backoff"],
        statement_timeout=params["statement_timeout"], apply_lock_wait=params["apply_lock_wait"],
        non_transactional=params["non_transactional"], cli_path=params["cli_path"],
        minimum_cli_version=params["minimum_cli_version"], cli_timeout=params["cli_timeout"])
    return run_apply(connection_settings(module), params["project_dir"], options, check_mode=module.check_mode)


def main():
    argument_spec = dict(
        project_dir=dict(type="path", required=True),
        engine=dict(type="str", default="native", choices=list(ENGINES)),
        environment=environment_option(required=False, default="local"),
        log_path=dict(type="path"),
        include_all=dict(type="bool", default=False),
        allow_remote_only=dict(type="bool", default=False),
        target_version=dict(type="str"),
        lock_timeout=dict(type="float", default=5),
        lock_retries=dict(type="int", default=3),
        lock_retry_backoff=dict(type="float", default=2),
        statement_timeout=dict(type="float", default=0),
        apply_lock_wait=dict(type="float", default=30),
        non_transactional=dict(type="str", default="refuse", choices=list(NON_TRANSACTIONAL_MODES)),
        cli_timeout=dict(type="int", default=3600),
    )
    argument_spec.update(cli_argument_spec())
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
