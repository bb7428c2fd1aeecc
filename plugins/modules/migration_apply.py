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
  - With O(engine=native) (default) each migration and its history row commit in one transaction, and it never
    queues behind a long transaction on a live database. Before each attempt it finds the sessions that hold or
    wait for a lock conflicting with what the migration needs on the tables it touches (parsed with pglast) and
    does not try while one of them is in a transaction older than O(blocker_transaction_age), logging whom it
    waits for. An attempt waits at most O(lock_timeout) for its locks (meanwhile the application's queries on
    that table queue behind it), then rolls back and retries after a jittered exponential backoff starting at
    O(lock_retry_backoff). When O(lock_retry_budget) is spent it fails with one line naming the blocker (pid,
    user, application_name, state, transaction age, the start of its query with literals masked), and nothing
    of that migration is applied.
  - The run stops at the first failure, and between migrations when its controller is gone (SIGTERM, SIGHUP or
    SIGINT, or the C(ansible-playbook) that started it died), saying why in the log. After any failure the history
    is re-read on a fresh connection, and RV(applied) is what it holds, with RV(failed_file), RV(partial) and the
    cause in words (a terminated session, a server restart, a cancel, a log that cannot be written).
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
      - A database labelled by its policy (M(hotdash.supabase.db_policy)) refuses a run that names another
        environment; an unlabelled one applies the C(production) approval rules when this says C(production).
    type: str
    default: local
    choices: [local, staging, production]
  promotion_db_url:
    description:
      - Connection URL of the staging database, read when the database's policy requires staging first
        (C(require_promotion)). Every version to apply must be applied there with the same statements, and it must be
        the staging database the policy pins (system identifier and name). Read-only; its password is never shown.
    type: str
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
      - Seconds one attempt of a migration may wait for a lock (PostgreSQL C(lock_timeout)). While it waits,
        every later query on that table queues behind it, so this is the longest stall the apply may cause.
      - C(0) waits forever (not for a live database).
    type: float
    default: 0.2
  lock_retry_budget:
    description:
      - Seconds a migration may spend getting its locks (waiting for old transactions in the way, attempts and
        backoff) before the run fails naming the blocker (native engine).
    type: float
    default: 60
  blocker_transaction_age:
    description:
      - A session holding or waiting for a lock that conflicts with the migration's, in a transaction open for at
        least this many seconds, is waited for without trying (native engine). Younger ones only cost an attempt
        bounded by O(lock_timeout).
    type: float
    default: 0.5
  lock_retries:
    description:
      - At most this many retries of a migration whose lock was not granted (native engine). By default as many as
        O(lock_retry_budget) allows.
    type: int
  lock_retry_backoff:
    description:
      - Seconds of the first backoff after a refused attempt; doubled for each next one up to 5 s, each drawn at
        random between half and all of it, so runners and hosts do not retry in step.
    type: float
    default: 0.25
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
  dry_run:
    description:
      - In check mode, also try the plan on a shadow database (O(shadow)) - the target's schema copied with
        C(pg_dump --schema-only), the pending migrations applied there with the native engine - which
        C(supabase db push --dry-run) does not do (it only lists file names).
      - When a statement would fail (a column that does not exist, a PL/pgSQL block that raises, a type mismatch),
        the task fails (or, with O(error_status), reports it) naming the file, the statement number and text, and
        the error, in RV(failed_file), RV(failed_statement) and RV(failed_error); nothing is written to the target.
        Otherwise RV(dry_run) says what was tried where, and a C(dry_run) check is added.
      - No effect outside check mode (the apply itself is then the test). The schema dump waits at most 5 s for a
        lock on the target.
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.shadow
  - hotdash.supabase.cli
  - hotdash.supabase.cli.MINIMUM_CLI_VERSION
  - hotdash.supabase.policy
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns exactly the migrations and statements that would apply, and C(changed) when any would. With
        O(dry_run) the plan is also tried on a shadow database, which names the statement that would fail.
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

- name: Before the window, try the pending migrations on a shadow copy of production's schema
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: production
    dry_run: true
    shadow: server
    shadow_server_url: "{{ vault_scratch_db_url }}"
  check_mode: true

- name: Apply pending migrations to staging
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: staging
    statement_timeout: 300
  register: __supabase_apply_result

- name: Apply under heavy traffic, waiting up to 5 minutes for long reports to finish
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: production
    lock_timeout: 0.1
    lock_retry_budget: 300

- name: Apply through the Supabase CLI instead
  hotdash.supabase.migration_apply:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    engine: cli
    cli_path: "{{ supabase_cli_path | default(omit) }}"
'''

RETURN = r'''
policy_check:
  description:
    - The database policy's decision on this plan (M(hotdash.supabase.db_policy)). C(plan_digest) is what the approval
      must cover (check mode returns it, with C(refusal) saying what would be refused now); C(approval_id) is the
      approval that let the apply through; C(release) (not in check mode) is the release run recorded in
      C(hotdash_audit.release_runs) with its secret C(run_key), which only this run knows and which an automatic
      rollback of this release presents (M(hotdash.supabase.migration_rollback) O(hotdash.supabase.migration_rollback#module:run_key)).
  returned: when something is (or would be) applied
  type: dict
  sample: {"environment": "production", "source": "database", "policy_id": 3, "gate": "apply_production",
           "plan_digest": "sha256:5d1c0e2f...", "approval_id": 12, "approver": "ana@hotdash.example",
           "plan": {"database": "7301234567890123456/hotdash", "versions": ["20251019090000"]},
           "release": {"id": 41, "run_key": "<secret>", "started_at": "2026-11-30T02:10:00Z"}}
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
checks:
  description:
    - C(pending migrations) (the versions planned, under the apply lock) and C(apply) (or C(apply (check mode))) with
      the summary, for M(hotdash.supabase.check_report).
    - With O(error_status), a failure is a check with that status - C(pending migrations) when it stopped before a
      plan (connection, drift refused), otherwise C(apply), naming what committed before the failure.
  returned: success, or a failure with O(error_status)
  type: list
  elements: dict
  sample: [{"name": "pending migrations", "status": "ok", "detail": "20251019090000"},
           {"name": "apply", "status": "ok", "detail": "applied 1 migration(s)"}]
passed:
  description: True unless the apply failed.
  returned: success, or a failure with O(error_status)
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success, or a failure with O(error_status)
  type: dict
  sample: {"ok": 2}
failed_file:
  description: The migration file that failed (was not applied, or only partly with RV(partial)); C(null) when nothing
    failed.
  returned: always
  type: str
  sample: 20251015000100_dashboard_tile_queries.sql
partial:
  description: Whether the failed file is partially applied (its non-transactional statements ran, it has no history
    row); it then needs completing by hand and C(migration_repair state=applied). What committed before it is in
    RV(applied).
  returned: always
  type: bool
  sample: false
cause:
  description: Why the run failed, in words (the server's message, a terminated session, a server restart, the
    blocker that held a lock past the budget, a log that cannot be written, the signal that stopped it).
  returned: on failure
  type: str
  sample: "received SIGTERM"
applied_verified:
  description: Whether RV(applied) is known to be what committed - re-read from the history after the failure, or
    nothing had started. False only when the server could not be reached again within 30 s; RV(applied) is then
    what the apply knew.
  returned: on failure
  type: bool
  sample: true
blocker:
  description: The session that held or waited for a conflicting lock when the lock budget was spent, on one line.
  returned: when a migration's locks were not granted within O(lock_retry_budget)
  type: str
  sample: "pid 4242 (user app, application_name 'report', idle in transaction, transaction open 95.2 s, holds
    AccessShareLock on public.facts, query: select * from facts where id = '...')"
stopped:
  description: Why the run stopped between migrations (a signal, or the controller process gone).
  returned: when the run was stopped
  type: str
  sample: "the controller process 4242 (ansible-playbook) is gone"
failed_version:
  description: The version of RV(failed_file).
  returned: when a migration failed
  type: str
  sample: "20251015000100"
failed_statement:
  description: The 1-based number of the statement that failed (native engine), when it could be told.
  returned: when a migration failed
  type: int
  sample: 2
failed_error:
  description: The failing statement's error on one line (native engine).
  returned: when a migration failed
  type: str
  sample: "division by zero (SQLSTATE 22012)"
not_reached:
  description: With O(dry_run), the planned files after RV(failed_file) that the shadow did not get to.
  returned: when the dry run failed
  type: list
  elements: str
  sample: ["20251019090000_segment_churn.sql"]
dry_run:
  description:
    - With O(dry_run) in check mode, what happened on the shadow - C(plan), C(shadow) (C(location), C(server),
      C(database), C(server_version)), C(applied), C(failed) (C(file), C(version), C(statement), C(statements),
      C(statement_text), C(error)), C(not_reached), C(restore_errors) (objects of the target the shadow could not
      copy), C(duration_ms).
  returned: with O(dry_run) in check mode when something is pending
  type: dict
  sample: {"plan": ["20251020000000_orders.sql"], "failed": null, "restore_errors": [],
           "shadow": {"location": "local", "server": "local cluster 127.0.0.1:41745", "server_version": "15.18"}}
error:
  description: The error, when O(error_status) reported the failure as a check instead of failing the task.
  returned: on failure with O(error_status)
  type: str
  sample: "migration 20251015000100_dashboard_tile_queries.sql failed at statement 2 of 3 (...): division by zero"
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import (ENGINES, NON_TRANSACTIONAL_MODES, ApplyOptions,
                                                                             apply_error_checks, run_apply)
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import cli_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import Guard, policy_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, module_result
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import SHADOW_URL_OPTIONS, shadow_argument_spec, shadow_options
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow_checks import apply_dry_run


def body(module):
    params = module.params
    options = ApplyOptions(
        engine=params["engine"], environment=params["environment"], log_path=params["log_path"],
        include_all=params["include_all"], allow_remote_only=params["allow_remote_only"],
        target_version=params["target_version"], lock_timeout=params["lock_timeout"],
        lock_retries=params["lock_retries"], lock_retry_backoff=params["lock_retry_backoff"],
        lock_retry_budget=params["lock_retry_budget"], blocker_transaction_age=params["blocker_transaction_age"],
        statement_timeout=params["statement_timeout"], apply_lock_wait=params["apply_lock_wait"],
        non_transactional=params["non_transactional"], cli_path=params["cli_path"],
        minimum_cli_version=params["minimum_cli_version"], cli_timeout=params["cli_timeout"])
    settings = connection_settings(module)
    # The shadow's options are checked before anything is read (a wrong one is one line, nothing done).
    shadow = shadow_options(params, timeouts=False) if module.check_mode and params["dry_run"] else None
    staging = (ConnectionSettings.from_url(params["promotion_db_url"], option="promotion_db_url")
               if params["promotion_db_url"] else None)
    guard = Guard(settings, "apply", "migration_apply", params["environment"], params, promotion_settings=staging)
    result = run_apply(settings, params["project_dir"], options, check_mode=module.check_mode, guard=guard)
    if shadow is not None:
        result = apply_dry_run(result, settings, params["project_dir"], options, shadow)
    checks = result.pop("checks")
    return module_result(checks, **result)


def error_checks(module):
    """A failed apply as its report checks (what committed before it, where the log is), for ``error_status``."""
    return lambda message, status, result: apply_error_checks(message, status, result, module.check_mode)


def main():
    argument_spec = dict(
        project_dir=dict(type="path", required=True),
        engine=dict(type="str", default="native", choices=list(ENGINES)),
        environment=environment_option(required=False, default="local"),
        log_path=dict(type="path"),
        include_all=dict(type="bool", default=False),
        allow_remote_only=dict(type="bool", default=False),
        target_version=dict(type="str"),
        lock_timeout=dict(type="float", default=0.2),
        lock_retry_budget=dict(type="float", default=60),
        blocker_transaction_age=dict(type="float", default=0.5),
        lock_retries=dict(type="int"),
        lock_retry_backoff=dict(type="float", default=0.25),
        statement_timeout=dict(type="float", default=0),
        apply_lock_wait=dict(type="float", default=30),
        non_transactional=dict(type="str", default="refuse", choices=list(NON_TRANSACTIONAL_MODES)),
        cli_timeout=dict(type="int", default=3600),
        dry_run=dict(type="bool", default=False),
        promotion_db_url=dict(type="str", no_log=True),
    )
    argument_spec.update(shadow_argument_spec(timeouts=False))
    argument_spec.update(cli_argument_spec())
    argument_spec.update(policy_argument_spec())
    argument_spec.update(check_argument_spec("error_status"))
    module = new_module(argument_spec, supports_check_mode=True,
                        url_options=SHADOW_URL_OPTIONS + ("promotion_db_url",))
    run_module(module, body, error_check=error_checks(module))


if __name__ == "__main__":
    main()
