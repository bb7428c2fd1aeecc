# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan digest: what an approval is bound to.

An approval covers one exact change to one exact database. The digest is the SHA-256 of a canonical
JSON document holding:

- the target database's identity: the cluster's ``system_identifier`` (``pg_control_system()``, unique
  per ``initdb``, survives restarts and renames) and the database name;
- the gate and the environment the approval is for;
- the action (``migration_apply``, ``migration_rollback:down_scripts``, ``db_policy``...);
- the ordered steps: each version with the checksum of the statements it runs (for an apply, the
  statements the Supabase CLI records in ``schema_migrations.statements``).

Change one byte of a migration, reorder two versions, point the run at another database or reuse the
approval at another gate, and the digest differs: the approval no longer covers the plan. The digest is
computed by the module that makes the change, from what it is about to run, never taken from a variable.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

DIGEST_FORMAT = 1
DIGEST_PREFIX = "sha256:"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def canonical_json(value):
    """One byte sequence per value: sorted keys, no blanks, UTF-8 (what is hashed and signed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def sha256_hex(data):
    if not isinstance(data, bytes):
        data = str(data).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def statements_checksum(statements):
    """Checksum of a list of SQL statements, as they run (and as the CLI records them)."""
    return sha256_hex(canonical_json([str(s) for s in (statements or [])]))


def database_identity(cur):
    """``{"system_identifier": "<digits>", "database": "<name>"}`` of the connected database."""
    cur.execute("SELECT system_identifier::text, current_database() FROM pg_control_system()")
    system_identifier, database = cur.fetchone()
    return {"system_identifier": system_identifier, "database": database}


def describe_identity(identity):
    """``7301234567890123456/hotdash`` for messages and approval statements."""
    return "%s/%s" % (identity.get("system_identifier"), identity.get("database"))


def step(version, checksum):
    return {"version": str(version), "checksum": str(checksum)}


def migration_steps(migrations):
    """Steps of an apply: each local migration (LocalMigration) in order, with its statements' checksum."""
    return [step(m.version, statements_checksum(m.statements())) for m in migrations]


def plan_document(identity, gate, environment, action, steps, extra=None):
    """The document that is hashed; ``extra`` holds action-specific facts (a policy, a strategy's input)."""
    if not identity or not identity.get("system_identifier") or not identity.get("database"):
        raise InvalidInput("a plan needs the database identity (system identifier and database name)")
    document = {
        "format": DIGEST_FORMAT,
        "database": {"system_identifier": str(identity["system_identifier"]), "name": str(identity["database"])},
        "gate": str(gate),
        "environment": str(environment),
        "action": str(action),
        "steps": [step(s["version"], s["checksum"]) for s in (steps or [])],
    }
    if extra:
        document["extra"] = extra
    return document


def plan_digest(identity, gate, environment, action, steps, extra=None):
    """``sha256:<64 hex>`` of the plan document."""
    return DIGEST_PREFIX + sha256_hex(canonical_json(plan_document(identity, gate, environment, action, steps, extra)))


def plan_summary(identity, gate, environment, action, steps, digest):
    """What a person reads before approving (and what the module returns in check mode)."""
    return {
        "digest": digest,
        "database": describe_identity(identity),
        "gate": gate,
        "environment": environment,
        "action": action,
        "versions": [s["version"] for s in steps or []],
        "steps": [dict(s) for s in steps or []],
    }


def is_digest(value):
    return isinstance(value, str) and bool(_DIGEST_RE.match(value))


def short(digest):
    """``sha256:0123abcd4567`` (12 hex digits) for one-line messages."""
    return digest[:len(DIGEST_PREFIX) + 12] if is_digest(digest) else str(digest)
