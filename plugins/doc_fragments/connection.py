# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options shared by every module of hotdash.supabase."""

    DOCUMENTATION = r'''
options:
  db_url:
    description:
      - A libpq connection URL, for example C(postgresql://postgres@db.example.com:5432/postgres?sslmode=require).
      - Its password is treated as a secret and never returned or logged; prefer passing it from Ansible Vault
        or an environment variable.
      - Mutually exclusive with O(login_host) and O(login_password).
    type: str
    aliases: [dsn]
  login_host:
    description:
      - Host of the database server, used when O(db_url) is not given.
    type: str
    aliases: [host]
  login_port:
    description:
      - Port of the database server.
      - Port C(6543) is Supabase's transaction-mode pooler; modules that need a session lock refuse it.
    type: int
    default: 5432
    aliases: [port]
  login_user:
    description:
      - Role to log in as.
    type: str
    default: postgres
    aliases: [user]
  login_password:
    description:
      - Password of O(login_user). Never returned or logged.
    type: str
    aliases: [password]
  login_db:
    description:
      - Database to connect to.
    type: str
    default: postgres
    aliases: [db, database]
  ssl_mode:
    description:
      - libpq C(sslmode). With O(db_url), a value other than the default overrides the URL's C(sslmode).
      - Local PostgreSQL without TLS needs C(disable).
    type: str
    default: prefer
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  connect_timeout:
    description:
      - Seconds to wait for the connection before failing.
    type: int
    default: 10
requirements:
  - psycopg2 (or psycopg2-binary) on the host that runs the module
notes:
  - Modules run where the task runs; inventories of this collection use C(ansible_connection=local), one host
    per database, so many databases are handled in parallel by Ansible's forks.
'''
