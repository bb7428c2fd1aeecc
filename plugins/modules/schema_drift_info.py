#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: schema_drift_info
short_description: Object-level schema drift - what the target holds that the migrations do not build, and back
version_added: 0.1.0
description:
  - The runbook's P0 question at the level of objects, without Docker (C(supabase db diff) needs it). The history
    table only says which versions ran; a policy changed in the dashboard or a function edited by hand leaves it
    untouched.
  - Builds the local migrations into an empty shadow database (by default the files the target's history records as
    applied, O(migrations)), dumps the target and the shadow with C(pg_dump --schema-only) and compares them object
    by object (table, column set, constraint, index, function, view, trigger, policy, row security, grants,
    comments), on their SQL with owners left out.
  - Each difference is C(remote_only) (made outside the migrations), C(local_only) (built by the migrations, missing
    on the target) or C(differs) (both, defined differently), with a short diff. A migration that does not build
    from scratch is reported and the others still run.
  - The shadow first gets what the platform provides and migrations do not create, copied from the target - its
    roles, extensions, the schemas not compared (C(auth), C(storage), C(extensions), ...) and the C(public)
    schema's own grants and default privileges. Nothing is written to the target.
  - Returns one check, C(schema_drift) - C(ok) when the migrations build the target's objects exactly, otherwise
    C(fail) in production and C(warn) elsewhere (O(severity)).
options:
  project_dir:
    description: Project directory containing C(supabase/migrations) (or the migrations directory itself).
    type: path
    required: true
  environment:
    description: Environment of the target; production makes drift C(fail) (O(severity=auto)).
    type: str
    required: true
    choices: [local, staging, production]
  migrations:
    description:
      - Which local files build the shadow. C(applied) - those the target's history records (so the pending release
        is not reported as drift). C(all) - every file (pending ones then show as C(local_only)).
    type: str
    default: applied
    choices: [applied, all]
  schemas:
    description: Schemas to compare; default every schema that is not platform-managed (C(public) and the project's own).
    type: list
    elements: str
  severity:
    description: Status of drift; C(auto) is C(fail) in production, C(warn) elsewhere.
    type: str
    default: auto
    choices: [auto, warn, fail]
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
  - hotdash.supabase.shadow
  - hotdash.supabase.shadow.TIMEOUTS
  - hotdash.supabase.attributes
  - hotdash.supabase.attributes.INFO_MODULE
requirements:
  - psycopg2
  - PostgreSQL client programs (pg_dump, pg_restore) of the target's major version or newer
  - With O(shadow=local), PostgreSQL server programs (initdb, pg_ctl) on the controller
notes:
  - Owners are not compared (the shadow's objects belong to the role that built it). Grants are, so build with a
    role named like the target's migration role (C(postgres) on Supabase; the local shadow's superuser is
    C(postgres)) for default privileges to apply the same way.
seealso:
  - module: hotdash.supabase.migration_info
  - module: hotdash.supabase.migration_shadow_check
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Which objects were made or changed outside the migrations?
  hotdash.supabase.schema_drift_info:
    db_url: "{{ supabase_db_url }}"
    project_dir: "{{ supabase_project_dir }}"
    environment: "{{ supabase_environment }}"
  register: __supabase_status_schema_drift

- name: Show the objects that differ
  ansible.builtin.debug:
    msg: "{{ item.state }}: {{ item.object }}"
  loop: "{{ __supabase_status_schema_drift.objects }}"
  loop_control:
    label: "{{ item.object }}"
'''

RETURN = r'''
checks:
  description: The C(schema_drift) check.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "schema_drift", "status": "warn", "detail": "schema drift: 1 only on the target: TABLE public.facts;
            2 defined differently: FUNCTION public.order_count(), POLICY public.orders orders_owner"}]
passed:
  description: True when no check failed.
  returned: always
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: always
  type: dict
  sample: {"warn": 1}
in_sync:
  description: True when the migrations build exactly the target's objects in the compared schemas.
  returned: success
  type: bool
  sample: false
objects:
  description: Every object that is not the same on both sides - C(object) (label), C(type), C(schema), C(name), C(state), C(diff) (for C(differs)).
  returned: success
  type: list
  elements: dict
  sample: [{"object": "POLICY public.orders orders_owner", "type": "POLICY", "schema": "public",
            "name": "orders orders_owner", "state": "differs",
            "diff": ["--- remote", "+++ local", "@@ -1 +1 @@",
                     "-CREATE POLICY orders_owner ON public.orders FOR SELECT TO authenticated USING (true)",
                     "+CREATE POLICY orders_owner ON public.orders FOR SELECT TO authenticated USING ((owner = auth.uid()))"]}]
object_counts:
  description: Objects per state, and C(same) for those that match.
  returned: success
  type: dict
  sample: {"remote_only": 1, "local_only": 0, "differs": 2, "same": 41}
schemas:
  description: The schemas compared.
  returned: success
  type: list
  elements: str
  sample: ["public"]
built:
  description: The migration files applied to the shadow.
  returned: success
  type: list
  elements: str
  sample: ["20251011000000_agents.sql"]
build_failures:
  description: Migration files that failed to build in the shadow - C(file), C(statement), C(statement_text), C(error).
  returned: success
  type: list
  elements: dict
  sample: []
shadow:
  description: Where the shadow lived - C(location), C(server), C(database), C(server_version).
  returned: success
  type: dict
  sample: {"location": "local", "server": "local cluster 127.0.0.1:41745", "database": "hotdash_shadow_760911dcab",
           "server_version": "15.18"}
restore_errors:
  description: Objects of the target that could not be copied into the shadow (a missing extension or role).
  returned: success
  type: list
  elements: dict
  sample: []
'''

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    check_result,
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.schema_drift import drift_check, schema_drift
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import (
    SHADOW_URL_OPTIONS,
    shadow_module_argument_spec,
    shadow_options,
)


def body(module):
    params = module.params
    report = schema_drift(connection_settings(module), params["project_dir"], shadow_options(params),
                          statement_timeout=params["statement_timeout"], schemas=params["schemas"],
                          migrations=params["migrations"])
    return check_result(module, [drift_check(report, params["environment"], params["severity"])], "schema drift",
                        in_sync=report["in_sync"], objects=report["objects"], object_counts=report["counts"],
                        schemas=report["schemas"], built=report["built"], build_failures=report["build_failures"],
                        shadow=report["shadow"], restore_errors=report["restore_errors"])


def main():
    module = new_module(shadow_module_argument_spec(
        migrations=dict(type="str", default="applied", choices=["applied", "all"]),
        schemas=dict(type="list", elements="str"),
    ), supports_check_mode=True, url_options=SHADOW_URL_OPTIONS)
    run_module(module, body, error_check="schema_drift")


if __name__ == "__main__":
    main()
