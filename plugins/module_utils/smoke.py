# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke tests (``smoke_check``): reads, and writes that run in a transaction that is always rolled back.

A read counts a table's rows (optionally with a minimum); a write inserts and deletes a row by key (each must
affect exactly one row) or runs given statements, as ``service_role`` by default, and the tables are counted
before and after to show nothing changed. Given statements are each exactly one SELECT, INSERT, UPDATE,
DELETE or MERGE as PostgreSQL's parser reads them (``sql_guard``, profile WRITE), all checked before anything
runs: a statement list holding transaction control (``COMMIT``, ``SAVEPOINT``, ...) or a role switch is refused.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib first
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import (
    missing_table_check,
    refuse_unknown_keys,
    request_context,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import identifier
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import WRITE, guard_statements

READ_KEYS = ("name", "table", "min_rows", "role", "claims", "settings")
WRITE_KEYS = ("name", "table", "values", "key", "statements", "tables", "role", "claims", "settings", "allow")


def normalize_read(spec):
    if isinstance(spec, str):
        spec = {"table": spec}
    if not isinstance(spec, dict) or not spec.get("table"):
        raise InvalidInput("every smoke read needs a table; got %r" % (spec,))
    what = "smoke read %r" % str(spec.get("name") or spec["table"])
    refuse_unknown_keys(spec, READ_KEYS, what)
    min_rows = spec.get("min_rows", 0)
    out = {"name": spec.get("name") or "read: %s" % spec["table"], "table": spec["table"],
           "identifier": identifier(spec["table"]), "min_rows": int(min_rows or 0)}
    out.update(request_context(spec, what))
    return out


def run_read(session, spec):
    def body(cur):
        cur.execute(sql.SQL("SELECT count(*) FROM {}").format(spec["identifier"]))
        count = cur.fetchone()[0]
        if count < spec["min_rows"]:
            return make_check(spec["name"], "fail", "%d rows, expected at least %d" % (count, spec["min_rows"]),
                              "the table lost rows or the role cannot see them; compare with the backup",
                              data={"count": count})
        return make_check(spec["name"], "ok", "%d rows" % count, data={"count": count})

    return session.run(spec["name"], body, tables=[spec["table"]], role=spec["role"], settings=spec["settings"],
                       claims=spec["claims"])


def normalize_write(spec):
    if not isinstance(spec, dict) or not spec.get("name"):
        raise InvalidInput("every smoke write needs a name; got %r" % (spec,))
    name = str(spec["name"])
    what = "smoke write %r" % name
    refuse_unknown_keys(spec, WRITE_KEYS, what)
    out = {"name": "write: %s" % name}
    out.update(request_context(spec, what, default_role="service_role"))
    statements = spec.get("statements")
    if spec.get("table"):
        values = spec.get("values")
        if not isinstance(values, dict) or not values:
            raise InvalidInput("smoke write %r: values must be a non-empty dict of column: value" % name)
        key = spec.get("key") or sorted(values)
        key = [key] if isinstance(key, str) else list(key)
        unknown = [k for k in key if k not in values]
        if unknown:
            raise InvalidInput("smoke write %r: key column(s) %s are not in values" % (name, ", ".join(unknown)))
        table = identifier(spec["table"])
        columns = sorted(values)
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
        delete = sql.SQL("DELETE FROM {} WHERE {}").format(
            table, sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k in key))
        out["steps"] = [("insert", insert, [values[c] for c in columns], 1), ("delete", delete, [values[k] for k in key], 1)]
        out["tables"] = [spec["table"]]
    elif statements:
        statements = guard_statements(statements, what, WRITE, allow=spec.get("allow") or ())
        out["steps"] = [("statement %d" % s.index, s.text, None, None) for s in statements]
        out["tables"] = list(spec.get("tables") or [])
    else:
        raise InvalidInput("smoke write %r needs table + values (insert, then delete) or statements" % name)
    return out


def count_rows(session, tables):
    """Row counts of ``tables`` in one read-only transaction, or None when that fails."""
    if not tables:
        return {}
    try:
        with session.transaction() as cur:
            counts = {}
            for table in tables:
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(identifier(table)))
                counts[table] = cur.fetchone()[0]
            return counts
    except psycopg2.Error:
        return None


def run_write(session, spec, read_only_mode=False, check_mode=False):
    """Run a smoke write in a READ WRITE transaction that is always rolled back; recount the tables afterwards."""
    name = spec["name"]
    if read_only_mode:
        return make_check(name, "skipped", "read-only mode: smoke writes are not run here")
    if check_mode:
        return make_check(name, "skipped", "check mode: smoke writes are not run")
    missing = session.missing_tables(spec["tables"])
    if missing:
        return missing_table_check(name, missing, session.on_missing_table)
    before = count_rows(session, spec["tables"])
    done = []

    def body(cur):
        for label, statement, params, expected in spec["steps"]:
            cur.execute(statement, params)
            done.append("%s %d row(s)" % (label, cur.rowcount))
            if expected is not None and cur.rowcount != expected:
                return make_check(name, "fail", "%s affected %d row(s), expected %d" % (label, cur.rowcount, expected),
                                  "a trigger, rule or policy changed the write; read the table's definition")
        return make_check(name, "ok", "%s; rolled back" % ", ".join(done))

    check = session.run(name, body, read_only=False, role=spec["role"], settings=spec["settings"],
                        claims=spec["claims"])
    after = count_rows(session, spec["tables"])
    check["data"] = dict(check.get("data") or {}, counts_before=before, counts_after=after)
    if check["status"] == "ok" and before is not None and after != before:
        # The write was rolled back, so only other sessions can have changed the counts.
        check["status"] = "warn"
        check["detail"] += "; row counts changed meanwhile (%s -> %s), by other sessions" % (before, after)
    elif check["status"] == "ok" and before:
        check["detail"] += "; counts unchanged (%s)" % ", ".join("%s=%d" % kv for kv in sorted(before.items()))
    return check
