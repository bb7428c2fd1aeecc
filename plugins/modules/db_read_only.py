#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_read_only
short_description: Stop or resume writes to a database with default_transaction_read_only
version_added: 0.1.0
description:
  - Runs C(ALTER DATABASE <db> SET default_transaction_read_only = on) (O(state=on)) or resets it (O(state=off)),
    the runbook's production rollback steps 1 ("stop accepting writes") and 4 ("re-enable writes").
  - The setting applies to sessions that start afterwards, and a pooler (PgBouncer, Supavisor) keeps its server
    connections open, so the application would go on writing through them. So turning it on also ends the other
    client sessions of the database that started before the switch (O(terminate_sessions)), except superusers'
    (reported in RV(kept)). An idle session is ended at once, a session inside a transaction when it has finished
    it or when O(terminate_grace) seconds have passed. The pooler's new server connections start read-only.
  - The moment of the switch (the server's clock right after the C(ALTER) committed) is recorded in the database
    setting C(hotdash.read_only_since); sessions that started after it are read-only and are kept, so a second
    run ends only what started before it.
  - Turning it off (when it was on) ends, the same way, the non-superuser sessions that started while it was on.
    They keep the read-only default for their whole life, so a pooler's server connections opened meanwhile would
    go on refusing the application's writes after writes were re-enabled.
  - Idempotent; C(changed) is true only when the setting changed or a session was (or in check mode would be)
    terminated.
  - Any session can still run C(SET default_transaction_read_only = off) for itself; this holds the application
    off, it is not a permission boundary. Changing a database setting needs the database owner or a superuser.
options:
  state:
    description:
      - C(on) makes new sessions read-only, C(off) makes them writable again.
    type: str
    required: true
    choices: ['on', 'off']
  target_db:
    description:
      - The database to change. Defaults to the database of the connection.
    type: str
  environment:
    description:
      - Environment of the database. A database labelled by its policy (M(hotdash.supabase.db_policy)) refuses a run
        that names another one; where the policy requires approval (production), switching needs a recent
        C(production_rollback) approval of this database, or O(trigger) with O(run_key) (an automatic rollback of the
        run's own release).
    type: str
    default: local
    choices: [local, staging, production]
  trigger:
    description:
      - "Set when an automatic rollback holds the database read-only, e.g. C({reason: verify failed}); with O(run_key)
        it stands in for an approval (see M(hotdash.supabase.migration_rollback))."
    type: dict
  terminate_sessions:
    description:
      - With O(state=on), end the other non-superuser client sessions of the database that started before
        read-only took effect; with O(state=off) (when the database was read-only), those that started while it
        was (since C(hotdash.read_only_since), or all of them when that is unknown). Each is reported in
        RV(terminated). The module's own session is never terminated.
      - C(false) only changes the default for new sessions; sessions a pooler holds open keep writing (O(state=on))
        or keep refusing writes (O(state=off)).
    type: bool
    default: true
  terminate_grace:
    description:
      - Seconds a session that is inside a transaction gets to finish it before it is terminated (idle sessions are
        ended at once). C(0) ends every session at once.
      - The module returns when every such session has ended, so at most this long after the switch.
    type: float
    default: 10
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.policy
  - hotdash.supabase.policy.AUTOMATIC
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - Returns the statements that would run and the sessions that would be terminated, and changes nothing.
  diff_mode:
    support: full
    details:
      - Shows the setting before and after.
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Stop accepting writes before the rollback (sessions in a transaction get 5 s to finish it)
  hotdash.supabase.db_read_only:
    db_url: "{{ supabase_db_url }}"
    state: "on"
    terminate_grace: 5
  register: __supabase_read_only
  no_log: true

- name: Re-enable writes
  hotdash.supabase.db_read_only:
    db_url: "{{ supabase_db_url }}"
    target_db: hotdash
    state: "off"
'''

RETURN = r'''
policy_check:
  description: The database policy's decision on the switch (gate C(production_rollback)).
  returned: when the setting changes or sessions end (or would, in check mode)
  type: dict
  sample: {"gate": "production_rollback", "environment": "production", "approval_id": 15}
database:
  description: The database that was changed.
  returned: always
  type: str
  sample: hotdash
state:
  description: The state asked for.
  returned: always
  type: str
  sample: "on"
previous_state:
  description: The setting for new sessions before this task.
  returned: always
  type: str
  sample: "off"
read_only_since:
  description: When read-only was turned on (UTC, the server's clock), or C(null) when the database is writable.
  returned: always
  type: str
  sample: "2025-10-19T02:14:07.123456Z"
queries:
  description: The statements that ran (or would run in check mode).
  returned: always
  type: list
  elements: str
  sample: ['ALTER DATABASE "hotdash" SET "default_transaction_read_only" = on']
terminated:
  description:
    - Sessions terminated (in check mode, that would be terminated), with who and what they ran, why (C(idle),
      C(finished its transaction), C(grace over)) and when (C(after), seconds after the switch).
    - A session that could not be terminated has C(terminated=false) and the server's C(error).
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "user": "authenticator", "application_name": "postgrest", "client_addr": "10.0.0.5",
            "state": "idle in transaction", "backend_start": "2025-10-19T01:00:00+00:00", "query": "UPDATE ...",
            "terminated": true, "reason": "grace over", "after": 10.02}]
kept:
  description: Sessions that would have been ended (see RV(terminated)) but were left running because their user is a superuser.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4250, "user": "supabase_admin", "application_name": "", "client_addr": null, "state": "idle",
            "backend_start": "2025-10-19T01:00:00+00:00", "query": "", "terminated": false, "reason": "superuser"}]
terminate_grace:
  description: The grace in seconds that applied.
  returned: always
  type: float
  sample: 10.0
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import connection_settings, new_module, run_module
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import environment_option
from ansible_collections.hotdash.supabase.plugins.module_utils.policy_guard import Guard, policy_argument_spec
from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import set_read_only


def body(module):
    params = module.params
    settings = connection_settings(module)
    target = params["target_db"] or settings.dbname
    # The policy of the database being switched decides, read from that database.
    guard = Guard(settings.for_database(target), "read_only", "db_read_only:%s" % params["state"],
                  params["environment"], params, trigger=params["trigger"])
    conn = connect(settings, application_name="hotdash.supabase db_read_only", autocommit=True)
    try:
        result = set_read_only(conn, target, params["state"], terminate_sessions=params["terminate_sessions"],
                               terminate_grace=params["terminate_grace"], check_mode=module.check_mode, guard=guard)
    finally:
        conn.close()
    if not module._diff:
        result.pop("diff", None)
    return result


def main():
    argument_spec = dict(
        state=dict(type="str", required=True, choices=["on", "off"]),
        target_db=dict(type="str"),
        terminate_sessions=dict(type="bool", default=True),
        terminate_grace=dict(type="float", default=10.0),
        environment=environment_option(required=False, default="local"),
        trigger=dict(type="dict"),
    )
    argument_spec.update(policy_argument_spec(automatic=True))
    module = new_module(argument_spec, supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
