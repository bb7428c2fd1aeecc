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
  - The setting applies to sessions that start afterwards. When turning it on, the module also records the moment
    in the database setting C(hotdash.read_only_since), so O(terminate_sessions) can end exactly the sessions
    that started before it (they may still write) and keep those that started later (they are read-only).
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
  terminate_sessions:
    description:
      - With O(state=on), terminate the other client sessions of the database that started before read-only took
        effect, and report each one in RV(terminated). The module's own session is never terminated.
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.connection
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
- name: Stop accepting writes before the rollback
  hotdash.supabase.db_read_only:
    db_url: "{{ supabase_db_url }}"
    state: "on"
    terminate_sessions: true
  register: __supabase_read_only
  no_log: true

- name: Re-enable writes
  hotdash.supabase.db_read_only:
    db_url: "{{ supabase_db_url }}"
    target_db: hotdash
    state: "off"
'''

RETURN = r'''
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
  description: When read-only was turned on (UTC), or C(null) when the database is writable.
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
  description: Sessions terminated (in check mode, that would be terminated), with who and what they ran.
  returned: always
  type: list
  elements: dict
  sample: [{"pid": 4242, "user": "authenticator", "application_name": "postgrest", "client_addr": "10.0.0.5",
            "state": "idle in transaction", "backend_start": "2025-10-19T01:00:00+00:00", "query": "UPDATE ...",
            "terminated": true}]
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.read_only import set_read_only


def body(module):
    params = module.params
    settings = connection_settings(module)
    conn = connect(settings, application_name="hotdash.supabase db_read_only", autocommit=True)
    try:
        result = set_read_only(conn, params["target_db"] or settings.dbname, params["state"],
                               terminate_sessions=params["terminate_sessions"], check_mode=module.check_mode)
    finally:
        conn.close()
    if not module._diff:
        result.pop("diff", None)
    return result


def main():
    module = new_module(dict(
        state=dict(type="str", required=True, choices=["on", "off"]),
        target_db=dict(type="str"),
        terminate_sessions=dict(type="bool", default=False),
    ), supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
