# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options of the modules that build a shadow database; ``shadow.shadow_argument_spec()`` is their spec."""

    DOCUMENTATION = r'''
options:
  shadow:
    description:
      - Where the shadow database lives. C(local) starts a private PostgreSQL cluster on the controller for this run
        and removes it afterwards (needs the server programs of the target's major version or newer; the target's
        roles are created there, without login). C(server) creates a scratch database C(hotdash_shadow_<random>) on
        O(shadow_server_url) and drops it afterwards.
      - No scratch database is ever created on the target's server unless named here.
    type: str
    default: local
    choices: [local, server]
  shadow_server_url:
    description:
      - With O(shadow=server), a libpq URL of a role with CREATEDB on the server that holds the scratch database. It
        must have the target's roles and extensions (what it lacks is reported as restore errors).
      - Refused when it is the target's own host and port and the environment is production.
    type: str
  pg_bin_dir:
    description:
      - Directory of the PostgreSQL programs (initdb, pg_ctl, pg_dump, pg_restore); default the newest installed
        (C(/usr/lib/postgresql/<major>/bin)), then PATH.
    type: path
notes:
  - The target is only read - its schema (C(pg_dump --schema-only)), migration history, role names and effective
    C(search_path) - and nothing is written to it.
  - The shadow holds the target's schema, not its data, so a failure that depends on rows (a C(NOT NULL) on a column
    holding NULLs, a unique index over duplicates) is not seen there.
  - Supabase's platform schemas that migrations do not build on (realtime, graphql, vault, pgsodium, cron, ...)
    are not copied into the shadow.
'''

    # The shadow's own timeouts, for the modules whose lock_timeout/statement_timeout mean nothing else.
    TIMEOUTS = r'''
options:
  lock_timeout:
    description: Seconds C(pg_dump) waits for a lock on the target before giving up (it never queues longer).
    type: float
    default: 5
  statement_timeout:
    description: Seconds any one migration statement may run in the shadow; C(0) for no limit.
    type: float
    default: 300
'''
