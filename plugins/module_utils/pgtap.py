# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL test files (the runbook's ``supabase/rls_tests.sql``) and pgTAP files (``supabase/tests/database/*.test.sql``).

Every file is read with PostgreSQL's parser before anything runs (``sql_guard.guard_script``): the file's
own first ``BEGIN`` and last ``COMMIT``/``ROLLBACK`` are its wrapper and never sent; any other transaction
control, ``SET SESSION AUTHORIZATION``, COPY to a server file, a computed ``EXECUTE`` in a ``DO`` block and
the rest of the guard's refusals stop the module with one line naming the file, statement and line. The
statements then go to the server one at a time in ONE transaction that is always rolled back.

Plain SQL files run ``READ ONLY``. pgTAP files (``*.test.sql`` or calling ``plan()``) run ``READ WRITE``
outside production (pgTAP's ``plan()`` creates temporary tables; the file may create the extension), rolled
back like a smoke write. On production a pgTAP file runs read-only: its ``CREATE EXTENSION pgtap`` is not
run (a missing pgtap skips the file, saying why), the collection calls pgTAP's own ``plan()`` from the
extension's schema, then switches the transaction to read-only before the first statement of the file.
Any SQL error fails the file, naming the statement; TAP output (``ok``/``not ok``/``1..N``) is parsed.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import missing_table_check
from ansible_collections.hotdash.supabase.plugins.module_utils.environments import validate_environment
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.expectations import show
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line, missing_relation
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import guard_script, mask_statement_text

_TAP_RESULT = re.compile(r"^(?P<not>not\s+)?ok\b\s*(?P<num>\d+)?\s*(?:-\s*)?(?P<desc>.*)$")
_TAP_PLAN = re.compile(r"^1\.\.(?P<n>\d+)")
_TAP_DIRECTIVE = re.compile(r"#\s*(TODO|SKIP)\b", re.IGNORECASE)
_PGTAP_HINT = re.compile(r"\b(no_plan|plan)\s*\(", re.IGNORECASE)
_PGTAP_MISSING = ("pgtap is not installed in this database; production never creates extensions: install it with a "
                  "migration (create extension pgtap with schema extensions) or run the pgTAP files on staging")


class SqlTestFile(object):
    """A test file read and guarded: the statements to send, and how (read-only, pgTAP's plan on production)."""

    def __init__(self, path, statements, pgtap, production):
        self.path = path
        self.name = "sql test: %s" % os.path.basename(path)
        self.pgtap = pgtap
        self.production = production
        self.read_only = production or not pgtap
        self.plan = None
        self.not_run = []
        if pgtap and production:
            # Never create the extension on production; pgTAP's plan() is called by the collection (see run).
            self.not_run = [s for s in statements if _creates_pgtap(s)]
            self.plan = next((s for s in statements if _plan_call(s) is not None), None)
        self.statements = [s for s in statements if s not in self.not_run and s is not self.plan]


def _creates_pgtap(statement):
    body = statement.node.get("CreateExtensionStmt")
    return body is not None and body.get("extname") == "pgtap"


def _plan_call(statement):
    """``("plan", n)`` / ``("no_plan", None)`` for ``SELECT [schema.]plan(n)`` / ``SELECT * FROM no_plan()``; else None."""
    body = statement.node.get("SelectStmt")
    if body is None or set(body) - {"targetList", "fromClause", "limitOption", "op"}:
        return None
    calls = [t.get("ResTarget", {}).get("val", {}).get("FuncCall") for t in body.get("targetList") or []]
    for item in body.get("fromClause") or []:
        for function in item.get("RangeFunction", {}).get("functions", []):
            calls.extend(f.get("FuncCall") for f in function.get("List", {}).get("items", []) if f)
    calls = [c for c in calls if c]
    if len(calls) != 1:
        return None
    name = (calls[0].get("funcname") or [{}])[-1].get("String", {}).get("sval")
    args = calls[0].get("args") or []
    if name == "no_plan" and not args:
        return "no_plan", None
    if name == "plan" and len(args) == 1 and "ival" in args[0].get("A_Const", {}):
        return "plan", int(args[0]["A_Const"]["ival"].get("ival", 0))
    return None


def load_test_file(path, environment):
    """Read ``path`` and guard every statement before anything runs; returns a :class:`SqlTestFile`."""
    validate_environment(environment)
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read test file %s: %s" % (path, exc.strerror or exc))
    statements = guard_script(text, "test file %s" % path)
    return SqlTestFile(path, statements, is_pgtap(text, path), environment == "production")


def is_pgtap(text, path=""):
    return path.endswith(".test.sql") or bool(_PGTAP_HINT.search(text))


def parse_tap(lines):
    """Parse TAP lines: ``{planned, ran, passed, failed: [..], todo, diagnostics, ok}``."""
    planned = None
    ran = passed = todo = 0
    failed = []
    diagnostics = []
    for raw in lines:
        for line in str(raw).splitlines():
            stripped = line.strip()
            plan = _TAP_PLAN.match(stripped)
            result = _TAP_RESULT.match(stripped)
            if plan:
                planned = int(plan.group("n"))
            elif result:
                ran += 1
                directive = _TAP_DIRECTIVE.search(result.group("desc") or "")
                if result.group("not") and not directive:
                    failed.append(("%s %s" % (result.group("num") or ran, result.group("desc") or "")).strip())
                elif result.group("not"):
                    todo += 1
                else:
                    passed += 1
            elif stripped.startswith("#"):
                diagnostics.append(stripped.lstrip("#").strip())
    plan_ok = planned is None or planned == ran
    return {"planned": planned, "ran": ran, "passed": passed, "failed": failed, "todo": todo,
            "diagnostics": diagnostics, "ok": not failed and plan_ok, "tap": ran > 0 or planned is not None}


def expand_test_paths(paths):
    """Expand directories (every ``*.sql`` in name order, like pg_prove) and check that files exist."""
    out = []
    for path in paths or []:
        if os.path.isdir(path):
            found = sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".sql"))
            if not found:
                raise InvalidInput("test directory %s has no .sql files" % path)
            out.extend(found)
        elif os.path.isfile(path):
            out.append(path)
        else:
            raise InvalidInput("test file %s does not exist" % path)
    return out


def _pgtap_schema(session):
    """The schema pgtap is installed in, or None."""
    with session.transaction() as cur:
        cur.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pgtap'")
        row = cur.fetchone()
    return row[0] if row else None


def _collect(cur, output):
    if cur.description is not None:
        for row in cur.fetchall():
            output.append(" ".join("" if v is None else str(v) for v in row))


def run_test_file(session, test):
    """Run one guarded :class:`SqlTestFile` statement by statement in one rolled-back transaction; a report check."""
    name = test.name
    started = time.monotonic()
    schema = None
    if test.production and test.pgtap:
        schema = _pgtap_schema(session)
        if schema is None:
            return make_check(name, "skipped", _PGTAP_MISSING, data={"read_only": True, "pgtap": True})
    output = []
    current = None
    conn = session.conn
    try:
        # On production the transaction starts read-write only for pgTAP's own plan(): its temporary tables.
        with session.transaction(read_only=test.read_only and schema is None) as cur:
            if schema is not None:
                kind, count = _plan_call(test.plan) if test.plan is not None else ("no_plan", None)
                call = sql.SQL("SELECT {}.{}(%s)" if kind == "plan" else "SELECT {}.{}()").format(
                    sql.Identifier(schema), sql.Identifier(kind))
                cur.execute(call, (count,) if kind == "plan" else None)
                _collect(cur, output)
                cur.execute("SET LOCAL transaction_read_only = on")
            for current in test.statements:
                cur.execute(current.text)
                _collect(cur, output)
            output.extend(n.strip() for n in conn.notices if n.strip())
    except psycopg2.Error as exc:
        duration = (time.monotonic() - started) * 1000.0
        del conn.notices[:]
        relation = missing_relation(exc)
        if relation:
            return missing_table_check(name, [relation], session.on_missing_table, duration)
        where = "statement %d, line %d (%s)" % (current.index, current.line, show(
            mask_statement_text(" ".join(current.text.split())), 70)) if current is not None else "pgTAP's plan()"
        return make_check(name, "fail", "%s failed: %s" % (where, error_line(exc)),
                          "run the file by hand with psql -f to see the context; any error fails the test",
                          duration_ms=duration, data={"statement": current.index if current is not None else None,
                                                      "read_only": test.read_only})
    del conn.notices[:]
    duration = (time.monotonic() - started) * 1000.0
    tap = parse_tap(output)
    data = {"statements": len(test.statements), "read_only": test.read_only, "pgtap": test.pgtap, "tap": tap}
    if test.not_run:
        data["not_run"] = ["statement %d (%s): production never creates extensions" % (s.index, s.kind)
                           for s in test.not_run]
    if not tap["tap"]:
        return make_check(name, "ok", "%d statement(s) ran without error; rolled back" % len(test.statements),
                          duration_ms=duration, data=data)
    summary = "%d/%d TAP tests passed" % (tap["passed"], tap["ran"])
    if tap["todo"]:
        summary += " (%d todo)" % tap["todo"]
    if test.read_only and test.pgtap:
        summary += " (read-only)"
    if tap["ok"]:
        return make_check(name, "ok", summary, duration_ms=duration, data=data)
    problems = []
    if tap["failed"]:
        problems.append("not ok: %s" % "; ".join(tap["failed"][:5]))
    if tap["planned"] is not None and tap["planned"] != tap["ran"]:
        problems.append("planned %d, ran %d" % (tap["planned"], tap["ran"]))
    return make_check(name, "fail", "%s; %s" % (summary, "; ".join(problems)),
                      "read the failing assertions in %s and the policies they test" % test.path,
                      duration_ms=duration, data=data)
