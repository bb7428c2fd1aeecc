# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL test files (the runbook's ``supabase/rls_tests.sql``) and pgTAP files (``supabase/tests/database/*.test.sql``).

A file runs statement by statement in ONE transaction that is always rolled back: the file's own
``BEGIN``/``COMMIT``/``ROLLBACK`` are left out (so a test cannot commit), savepoints are kept. Plain
SQL files run ``READ ONLY``; pgTAP files need ``READ WRITE`` (``plan()`` creates temporary tables,
``CREATE EXTENSION pgtap`` may run) and are rolled back like a smoke write. Any SQL error fails the
file, naming the statement; TAP output (``ok``/``not ok``/``1..N``) is parsed when present.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

try:
    import psycopg2
except ImportError:  # pragma: no cover
    psycopg2 = None

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import missing_table_check
from ansible_collections.hotdash.supabase.plugins.module_utils.expectations import show
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line, missing_relation
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

_TX_CONTROL = re.compile(r"^(begin|start\s+transaction|commit|end|abort|rollback)"
                         r"(\s+(work|transaction))?(\s+(isolation\s+level\s+[a-z ]+|read\s+(only|write)|"
                         r"(not\s+)?deferrable|and\s+(no\s+)?chain))*\s*$", re.IGNORECASE)
_TAP_RESULT = re.compile(r"^(?P<not>not\s+)?ok\b\s*(?P<num>\d+)?\s*(?:-\s*)?(?P<desc>.*)$")
_TAP_PLAN = re.compile(r"^1\.\.(?P<n>\d+)")
_TAP_DIRECTIVE = re.compile(r"#\s*(TODO|SKIP)\b", re.IGNORECASE)
_PGTAP_HINT = re.compile(r"\b(no_plan|plan)\s*\(", re.IGNORECASE)


def strip_leading_comments(statement):
    text = statement
    while True:
        text = text.lstrip()
        if text.startswith("--"):
            text = text.split("\n", 1)[1] if "\n" in text else ""
        elif text.startswith("/*") and "*/" in text:
            text = text.split("*/", 1)[1]
        else:
            return text


def plan_statements(text, path="<text>"):
    """The statements to run: transaction control dropped, psql meta-commands refused with their position."""
    statements = []
    for index, statement in enumerate(split_statements(text), 1):
        body = strip_leading_comments(statement)
        if not body:
            continue
        if body.startswith("\\"):
            raise InvalidInput("%s statement %d: psql meta-command %s is not supported; write plain SQL"
                               % (path, index, body.split()[0]))
        if _TX_CONTROL.match(body.rstrip(";").strip()):
            continue
        statements.append(body)
    return statements


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


def run_test_file(session, path, read_only=None, name=None):
    """Run one SQL/pgTAP file as described above; returns a report check."""
    name = name or "sql test: %s" % os.path.basename(path)
    try:
        with open(path) as handle:
            text = handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read test file %s: %s" % (path, exc.strerror or exc))
    statements = plan_statements(text, path)
    pgtap = is_pgtap(text, path)
    if read_only is None:
        read_only = not pgtap
    started = time.monotonic()
    output = []
    index = 0
    conn = session.conn
    try:
        with session.transaction(read_only=read_only) as cur:
            for index, statement in enumerate(statements, 1):
                cur.execute(statement)
                if cur.description is not None:
                    for row in cur.fetchall():
                        output.append(" ".join("" if v is None else str(v) for v in row))
            output.extend(n.strip() for n in conn.notices if n.strip())
    except psycopg2.Error as exc:
        duration = (time.monotonic() - started) * 1000.0
        del conn.notices[:]
        relation = missing_relation(exc)
        if relation:
            return missing_table_check(name, [relation], session.on_missing_table, duration)
        first_line = " ".join(statements[index - 1].split())
        return make_check(name, "fail", "statement %d (%s) failed: %s" % (index, show(first_line, 70),
                                                                          error_line(exc)),
                          "run the file by hand with psql -f to see the context; any error fails the test",
                          duration_ms=duration, data={"statement": index, "read_only": read_only})
    del conn.notices[:]
    duration = (time.monotonic() - started) * 1000.0
    tap = parse_tap(output)
    data = {"statements": len(statements), "read_only": read_only, "pgtap": pgtap, "tap": tap}
    if not tap["tap"]:
        return make_check(name, "ok", "%d statement(s) ran without error; rolled back" % len(statements),
                          duration_ms=duration, data=data)
    summary = "%d/%d TAP tests passed" % (tap["passed"], tap["ran"])
    if tap["todo"]:
        summary += " (%d todo)" % tap["todo"]
    if tap["ok"]:
        return make_check(name, "ok", summary, duration_ms=duration, data=data)
    problems = []
    if tap["failed"]:
        problems.append("not ok: %s" % "; ".join(tap["failed"][:5]))
    if tap["planned"] is not None and tap["planned"] != tap["ran"]:
        problems.append("planned %d, ran %d" % (tap["planned"], tap["ran"]))
    return make_check(name, "fail", "%s; %s" % (summary, "; ".join(problems)),
                      "read the failing assertions in %s and the policies they test" % path,
                      duration_ms=duration, data=data)
