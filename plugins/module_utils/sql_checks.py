# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Verify-phase SQL checks: the transaction discipline, expectations, integrity/orphan checks, RPC and smoke tests.

Every check runs in its own transaction that is always rolled back. Read checks start with
``SET TRANSACTION READ ONLY`` and a query must be exactly one statement (a ``; COMMIT; ...`` tail
could otherwise escape the read-only transaction); only a declared smoke write runs ``READ WRITE``, and it is
rolled back as well. A check produces a report check (``plugins/module_utils/report.py`` shape):
``{name, status, detail, remedy, duration_ms, data}``.

Expectations are a tiny language, parsed without ``eval``: ``rows == 0``, ``value <= 0.005``,
``not null``, ``value is null``, ``segments >= 1 and revenue > 0`` (``rows`` is the number of rows,
``value`` the first column of the first row, any other name a column of the first row).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import decimal
import json
import os
import re
import time

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib first
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

MISSING_TABLE_CHOICES = ("skip", "fail")
SEVERITIES = ("fail", "warn")
DEFAULT_STATEMENT_TIMEOUT_MS = 30000
UNDEFINED_TABLE = "42P01"
UNDEFINED_FUNCTION = "42883"
READ_ONLY_VIOLATION = "25006"

# ---------------------------------------------------------------------------------------------------------------
# Expectations
# ---------------------------------------------------------------------------------------------------------------

_OPS = ("==", "!=", "<=", ">=", "<", ">")
_CONDITION = re.compile(
    r"^\s*(?P<lhs>[A-Za-z_][A-Za-z0-9_]*)\s*(?:(?P<op>==|!=|<=|>=|<|>|=)\s*(?P<rhs>.+?)|(?P<is>is\s+(?:not\s+)?null))\s*$",
    re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class Condition(object):
    """One ``<name> <op> <literal>`` comparison."""

    def __init__(self, lhs, op, rhs, text):
        self.lhs = lhs
        self.op = op
        self.rhs = rhs
        self.text = text

    def __repr__(self):
        return "Condition(%r)" % self.text


def _literal(text, expect):
    text = text.strip()
    lowered = text.lower()
    if lowered == "null":
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _NUMBER.match(text):
        return float(text) if any(ch in text for ch in ".eE") else int(text)
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ("'", '"'):
        return text[1:-1]
    raise InvalidInput("expectation %r: %r is not a number, string in quotes, true, false or null" % (expect, text))


def parse_expectation(expect):
    """``"rows == 0 and value is not null"`` -> [Condition]; InvalidInput on anything else."""
    if expect is None or not str(expect).strip():
        raise InvalidInput("empty expectation; write for example 'rows == 0' or 'value <= 0.005'")
    text = str(expect).strip()
    shorthand = {"not null": "value is not null", "null": "value is null", "true": "value == true",
                 "false": "value == false", "empty": "rows == 0", "not empty": "rows > 0"}
    conditions = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        part = shorthand.get(part.strip().lower(), part)
        match = _CONDITION.match(part)
        if not match:
            raise InvalidInput("cannot read expectation %r: use '<rows|value|column> <op> <literal>' with op one of %s, "
                               "or 'is [not] null', joined by 'and'" % (text, " ".join(_OPS)))
        if match.group("is"):
            op = "!=" if "not" in match.group("is").lower() else "=="
            conditions.append(Condition(match.group("lhs").lower(), op, None, part.strip()))
        else:
            op = "==" if match.group("op") == "=" else match.group("op")
            conditions.append(Condition(match.group("lhs").lower(), op, _literal(match.group("rhs"), text), part.strip()))
    return conditions


def _comparable(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _compare(have, op, want):
    have = _comparable(have)
    if want is None or have is None or isinstance(want, bool) or isinstance(have, bool):
        if op == "==":
            return have == want
        if op == "!=":
            return have != want
        return False
    if isinstance(want, (int, float)) and not isinstance(have, (int, float)):
        try:
            have = float(have)
        except (TypeError, ValueError):
            return False
    if isinstance(want, str) and not isinstance(have, str):
        have = str(have)
    return {"==": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
            ">": have > want, ">=": have >= want}[op]


def show(value, limit=60):
    """A value as a report shows it: short, one line."""
    if isinstance(value, decimal.Decimal):
        value = float(value)
    if isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, default=str)
    else:
        text = "null" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def evaluate(conditions, columns, rows, overrides=None):
    """Check ``conditions`` against a result; returns ``(passed, observed)`` with the observed values as text."""
    context = {"rows": len(rows), "value": rows[0][0] if rows and rows[0] else None}
    context.update(overrides or {})
    if rows:
        for index, column in enumerate(columns or []):
            context.setdefault(column.lower(), rows[0][index])
    passed = True
    observed = []
    for condition in conditions:
        if condition.lhs not in context:
            raise InvalidInput("expectation %r names %r, which the query does not return (columns: %s)"
                               % (condition.text, condition.lhs, ", ".join(columns or []) or "none"))
        have = context[condition.lhs]
        ok = _compare(have, condition.op, condition.rhs)
        passed = passed and ok
        observed.append("%s=%s" % (condition.lhs, show(have)))
    return passed, ", ".join(observed)


# ---------------------------------------------------------------------------------------------------------------
# Checks, errors and the transaction discipline
# ---------------------------------------------------------------------------------------------------------------

def pg_error_line(exc):
    """A PostgreSQL error on one line: primary message, SQLSTATE, and the hint if there is one."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
    text = re.sub(r"^ERROR:\s*", "", text)
    code = getattr(exc, "pgcode", None)
    hint = getattr(diag, "message_hint", None) if diag is not None else None
    line = "%s (SQLSTATE %s)" % (text, code) if code else text
    if hint:
        line += "; hint: %s" % " ".join(hint.split())
    return line


def missing_relation(exc):
    """The relation name in an 'undefined table' error, or None for other errors."""
    if getattr(exc, "pgcode", None) != UNDEFINED_TABLE:
        return None
    match = re.search(r'relation "([^"]+)" does not exist', pg_error_line(exc))
    return match.group(1) if match else "?"


def missing_table_check(name, tables, on_missing_table, duration_ms=None):
    """The check for a query that refers to tables that do not exist, per ``on_missing_table``."""
    listed = ", ".join(tables)
    if on_missing_table == "fail":
        return make_check(name, "fail", "table missing: %s" % listed,
                          "create the table with a migration, or set on_missing_table: skip while it is a known gap",
                          duration_ms=duration_ms)
    return make_check(name, "skipped", "table missing: %s" % listed, duration_ms=duration_ms)


def validate_choice(value, choices, option):
    if value not in choices:
        raise InvalidInput("%s must be one of %s, got %r" % (option, ", ".join(choices), value))
    return value


def single_statement(query, name):
    """The query if it is exactly one statement; a second statement (``; COMMIT; ...``) is refused."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput("check %r has no query" % (name,))
    statements = [s for s in split_statements(query) if _strip_comments(s)]
    if len(statements) != 1:
        raise InvalidInput("check %r must be exactly one SQL statement, found %d; split it into several checks"
                           % (name, len(statements)))
    return statements[0]


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return "\n".join(line.split("--", 1)[0] if line.lstrip().startswith("--") else line
                     for line in text.splitlines()).strip()


class CheckSession(object):
    """One connection for a batch of checks: read-only by default, every transaction rolled back."""

    def __init__(self, conn, statement_timeout_ms=DEFAULT_STATEMENT_TIMEOUT_MS, on_missing_table="skip"):
        self.conn = conn
        self.statement_timeout_ms = int(statement_timeout_ms or 0)
        self.on_missing_table = validate_choice(on_missing_table, MISSING_TABLE_CHOICES, "on_missing_table")
        # Transaction-level only (no session default): through Supabase's transaction pooler a session setting
        # would leak to other clients. A COMMIT smuggled into a query is refused by single_statement() instead.
        conn.autocommit = False

    @classmethod
    @contextlib.contextmanager
    def opened(cls, settings, application_name, statement_timeout_ms=DEFAULT_STATEMENT_TIMEOUT_MS,
               on_missing_table="skip"):
        """A session on a new connection to ``settings`` (a ConnectionSettings), closed when the block ends."""
        conn = connect(settings, application_name=application_name)
        try:
            yield cls(conn, statement_timeout_ms, on_missing_table)
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self, read_only=True, role=None, settings=None, claims=None):
        """A transaction that is always rolled back; ``role``/``settings``/``claims`` as a request would set them."""
        cur = self.conn.cursor()
        try:
            cur.execute("SET TRANSACTION READ ONLY" if read_only else "SET TRANSACTION READ WRITE")
            if self.statement_timeout_ms:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (str(self.statement_timeout_ms),))
            apply_request_context(cur, role=role, settings=settings, claims=claims)
            yield cur
        finally:
            try:
                cur.close()
            finally:
                self.conn.rollback()

    def missing_tables(self, tables):
        """Which of ``tables`` (``name`` or ``schema.name``, resolved like a query would) do not exist."""
        if not tables:
            return []
        with self.transaction() as cur:
            cur.execute("SELECT t FROM unnest(%s::text[]) AS t WHERE to_regclass(t) IS NULL", (list(tables),))
            return [row[0] for row in cur.fetchall()]

    def run(self, name, body, tables=(), read_only=True, role=None, settings=None, claims=None, on_error=None):
        """Run ``body(cur) -> check`` in a rolled-back transaction; map SQL errors and missing tables to checks."""
        started = time.monotonic()
        try:
            missing = self.missing_tables(tables)
            if missing:
                return missing_table_check(name, missing, self.on_missing_table, _ms(started))
            with self.transaction(read_only=read_only, role=role, settings=settings, claims=claims) as cur:
                check = body(cur)
        except psycopg2.Error as exc:
            relation = missing_relation(exc)
            if relation:
                return missing_table_check(name, [relation], self.on_missing_table, _ms(started))
            if on_error is not None:
                handled = on_error(exc, _ms(started))
                if handled is not None:
                    return handled
            remedy = ""
            if getattr(exc, "pgcode", None) == READ_ONLY_VIOLATION:
                remedy = "checks run read-only; a write belongs in a smoke write (always rolled back)"
            return make_check(name, "fail", pg_error_line(exc), remedy, duration_ms=_ms(started))
        check.setdefault("duration_ms", None)
        if check["duration_ms"] is None:
            check["duration_ms"] = int(round(_ms(started)))
        return check


def _ms(started):
    return (time.monotonic() - started) * 1000.0


def apply_request_context(cur, role=None, settings=None, claims=None):
    """Set GUCs (``app.current_project``), Supabase's ``request.jwt.claims`` and ``SET LOCAL ROLE``, in that order."""
    for key, value in sorted((settings or {}).items()):
        cur.execute("SELECT set_config(%s, %s, true)", (str(key), "" if value is None else _guc_text(value)))
    if claims is not None or role in ("anon", "authenticated", "service_role"):
        merged = dict(claims or {})
        if role and "role" not in merged:
            merged["role"] = role
        cur.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(merged, sort_keys=True),))
    if role:
        cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


def _guc_text(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def relation_identifier(name, default_schema=None):
    """``"agents"``/``"public.agents"`` -> psycopg2 Identifier (schema-qualified when given)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("table name must be a non-empty string, got %r" % (name,))
    parts = [p.strip().strip('"') for p in name.strip().split(".")]
    if len(parts) > 2 or not all(parts):
        raise InvalidInput("table name %r must be 'table' or 'schema.table'" % (name,))
    if len(parts) == 1 and default_schema:
        parts.insert(0, default_schema)
    return sql.Identifier(*parts)


# ---------------------------------------------------------------------------------------------------------------
# Integrity checks: YAML definitions, annotated .sql files, orphan specs
# ---------------------------------------------------------------------------------------------------------------

_HEADER = re.compile(r"^\s*--\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$", re.IGNORECASE)
_FILE_KEYS = ("check", "expect", "tables", "severity", "description", "remedy")


def parse_check_file(path):
    """Checks from an annotated SQL file: ``-- check: <name>`` starts one, other ``-- key:`` lines annotate it.

    The file stays runnable with ``psql -f``; each check's query is the SQL up to the next ``-- check:``.
    Keys: ``expect`` (default ``rows == 0``: the query lists offending rows), ``tables``, ``severity``,
    ``description``, ``remedy``.
    """
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read check file %s: %s" % (path, exc.strerror or exc))
    checks = []
    current = None
    for number, line in enumerate(lines, 1):
        match = _HEADER.match(line)
        key = match.group("key").lower() if match else None
        if key == "check":
            current = {"name": match.group("value"), "query_lines": [], "source": "%s:%d" % (path, number)}
            if not current["name"]:
                raise InvalidInput("%s:%d: '-- check:' needs a name" % (path, number))
            checks.append(current)
        elif current is not None and key in _FILE_KEYS and not current["query_lines"]:
            value = match.group("value")
            current[key] = [t.strip() for t in value.split(",") if t.strip()] if key == "tables" else value
        elif current is not None:
            current["query_lines"].append(line)
    if not checks:
        raise InvalidInput("check file %s has no '-- check: <name>' header; annotate each query (see docs/verify.md)"
                           % path)
    out = []
    for check in checks:
        query = "\n".join(check.pop("query_lines")).strip()
        if not _strip_comments(query):
            raise InvalidInput("check %r (%s) has no query under its header" % (check["name"], check["source"]))
        check["query"] = query
        check.setdefault("expect", "rows == 0")
        out.append(check)
    return out


def _split_reference(text, what):
    parts = [p.strip() for p in str(text).split(".")]
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidInput("%s %r must be 'table.column' or 'schema.table.column'" % (what, text))
    return ".".join(parts[:-1]), [parts[-1]]


def orphan_query(spec, name):
    """Count and sample query for an orphan spec ``{table, column(s), references}`` -> (count_sql, sample_sql, tables)."""
    if not isinstance(spec, dict) or not spec.get("table") or not spec.get("references"):
        raise InvalidInput("check %r: orphans needs table, column and references (e.g. references: agents.id)" % name)
    columns = spec.get("columns") or spec.get("column")
    columns = [columns] if isinstance(columns, str) else list(columns or [])
    references = spec["references"]
    if isinstance(references, dict):
        parent = references.get("table")
        parent_columns = references.get("columns") or references.get("column")
        parent_columns = [parent_columns] if isinstance(parent_columns, str) else list(parent_columns or [])
    else:
        parent, parent_columns = _split_reference(references, "check %r: references" % name)
    if not columns or not parent or len(parent_columns) != len(columns):
        raise InvalidInput("check %r: orphans needs as many referenced columns as columns (%s vs %s)"
                           % (name, ", ".join(columns) or "none", ", ".join(parent_columns) or "none"))
    child = relation_identifier(spec["table"])
    parent_id = relation_identifier(parent)
    match = sql.SQL(" AND ").join(
        sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc)) for pc, cc in zip(parent_columns, columns))
    not_null = sql.SQL(" AND ").join(sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(cc)) for cc in columns)
    # NOT EXISTS, not the runbook's NOT IN: NOT IN finds nothing as soon as the parent column holds a NULL.
    where = sql.SQL("WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})").format(not_null, parent_id, match)
    count_sql = sql.SQL("SELECT count(*) AS orphans FROM {} c ").format(child) + where
    keys = sql.SQL(" || ',' || ").join(sql.SQL("c.{}::text").format(sql.Identifier(cc)) for cc in columns)
    sample_sql = sql.SQL("SELECT DISTINCT {} FROM {} c ").format(keys, child) + where + sql.SQL(" LIMIT 5")
    return count_sql, sample_sql, [spec["table"], parent]


def normalize_integrity_check(check):
    """Validate one integrity check definition (YAML or parsed file); returns a normalized dict."""
    if not isinstance(check, dict) or not check.get("name"):
        raise InvalidInput("every integrity check needs a name; got %r" % (check,))
    name = str(check["name"])
    severity = validate_choice(check.get("severity") or "fail", SEVERITIES, "check %r severity" % name)
    tables = check.get("tables") or []
    tables = [tables] if isinstance(tables, str) else list(tables)
    out = {"name": name, "severity": severity, "tables": tables, "remedy": check.get("remedy") or "",
           "description": check.get("description") or ""}
    if check.get("orphans") is not None:
        if check.get("query"):
            raise InvalidInput("check %r: give either query or orphans, not both" % name)
        out["count_sql"], out["sample_sql"], spec_tables = orphan_query(check["orphans"], name)
        out["tables"] = tables + [t for t in spec_tables if t not in tables]
        out["expect"] = check.get("expect") or "value == 0"
        if not out["remedy"]:
            out["remedy"] = "fix or delete the orphaned rows (or add the missing parents) before relying on the data"
    else:
        out["query"] = single_statement(check.get("query"), name)
        out["expect"] = check.get("expect") or "rows == 0"
    out["conditions"] = parse_expectation(out["expect"])
    return out


def run_integrity_check(session, check):
    """Run one normalized integrity check; returns a report check."""
    name = check["name"]

    def body(cur):
        if "count_sql" in check:
            cur.execute(check["count_sql"])
        else:
            cur.execute(check["query"])
        if cur.description is None:
            raise InvalidInput("check %r returns no rows to compare (is it a SELECT?)" % name)
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
        passed, observed = evaluate(check["conditions"], columns, rows)
        data = {"expect": check["expect"], "observed": observed}
        detail = "%s (expected %s)" % (observed, check["expect"])
        if "sample_sql" in check and not passed:
            cur.execute(check["sample_sql"])
            sample = [row[0] for row in cur.fetchall()]
            data["sample"] = sample
            detail += "; e.g. %s" % ", ".join(sample)
        elif not passed and rows and "query" in check and len(columns) > 1:
            data["first_row"] = dict((c, show(v)) for c, v in zip(columns, rows[0]))
        status = "ok" if passed else check["severity"]
        return make_check(name, status, detail, "" if passed else check["remedy"], data=data)

    return session.run(name, body, tables=check["tables"])


def load_integrity_checks(checks=(), check_files=()):
    """YAML-defined checks plus those of annotated files, normalized; duplicate names are refused."""
    definitions = list(checks or [])
    for path in check_files or []:
        definitions.extend(parse_check_file(path))
    normalized = [normalize_integrity_check(c) for c in definitions]
    _refuse_duplicates([c["name"] for c in normalized], "integrity check")
    return normalized


def _refuse_duplicates(names, what):
    seen = set()
    for name in names:
        if name in seen:
            raise InvalidInput("two %ss are named %r; give each a unique name" % (what, name))
        seen.add(name)


# ---------------------------------------------------------------------------------------------------------------
# RPC functions
# ---------------------------------------------------------------------------------------------------------------

def _argument(value, name):
    """A function argument: a plain value goes as a driver parameter; ``{sql: "now()"}`` as an SQL expression."""
    if isinstance(value, dict):
        if set(value) - {"sql", "value", "type"}:
            raise InvalidInput("function %r: an argument dict takes sql, value and type, got %s"
                               % (name, ", ".join(sorted(value))))
        if "sql" in value:
            return sql.SQL("({})").format(sql.SQL(single_statement(value["sql"], name)))
        piece = sql.Placeholder()
        if value.get("type"):
            # A type name is an identifier path (public.mytype, timestamptz); refuse anything else.
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_ .\[\]]*$", value["type"]):
                raise InvalidInput("function %r: argument type %r is not a type name" % (name, value["type"]))
            piece = sql.SQL("{}::{}").format(piece, sql.SQL(value["type"]))
        return piece
    return sql.Placeholder()


def normalize_rpc(spec, default_budget_ms=500, default_calls=3):
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not spec.get("name"):
        raise InvalidInput("every function needs a name; got %r" % (spec,))
    name = str(spec["name"])
    function = str(spec.get("function") or name)
    parts = function.split(".")
    if len(parts) > 2 or not all(re.match(r"^[A-Za-z_][A-Za-z0-9_$]*$", p) for p in parts):
        raise InvalidInput("function %r must be 'name' or 'schema.name'" % function)
    args = spec.get("args") or []
    if not isinstance(args, list):
        raise InvalidInput("function %r: args must be a list" % name)
    params = []
    pieces = []
    for arg in args:
        pieces.append(_argument(arg, name))
        if not (isinstance(arg, dict) and "sql" in arg):
            params.append(arg.get("value") if isinstance(arg, dict) else arg)
    query = sql.SQL("SELECT * FROM {}({})").format(sql.Identifier(*parts), sql.SQL(", ").join(pieces))
    budget = spec.get("budget_ms", default_budget_ms)
    calls = int(spec.get("calls") or default_calls)
    if calls < 1:
        raise InvalidInput("function %r: calls must be at least 1" % name)
    out = {"name": name, "function": function, "query": query, "params": params,
           "budget_ms": None if budget is None else float(budget), "calls": calls,
           "role": spec.get("role"), "settings": spec.get("settings") or {}, "claims": spec.get("claims"),
           "expect": spec.get("expect"), "expect_columns": spec.get("expect_columns") or [],
           "budget_status": validate_choice(spec.get("budget_status") or "fail", SEVERITIES,
                                            "function %r budget_status" % name)}
    out["conditions"] = parse_expectation(out["expect"]) if out["expect"] else []
    return out


def run_rpc(session, spec):
    """Call a function ``calls`` times read-only; compare the median time with its budget and the result with expect."""
    name = "rpc: %s" % spec["name"]

    def body(cur):
        timings = []
        rows, columns = [], []
        for _i in range(spec["calls"]):
            started = time.monotonic()
            cur.execute(spec["query"], spec["params"])
            rows = cur.fetchall()
            timings.append(_ms(started))
            columns = [d[0] for d in cur.description or []]
        ordered = sorted(timings)
        median = ordered[len(ordered) // 2]
        data = {"timings_ms": [round(t, 1) for t in timings], "median_ms": round(median, 1),
                "budget_ms": spec["budget_ms"], "rows": len(rows), "columns": columns}
        problems = []
        missing = [c for c in spec["expect_columns"] if c not in columns]
        if missing:
            problems.append("missing column(s) %s (has %s)" % (", ".join(missing), ", ".join(columns)))
        observed = ""
        if spec["conditions"]:
            passed, observed = evaluate(spec["conditions"], columns, rows)
            if not passed:
                problems.append("%s (expected %s)" % (observed, spec["expect"]))
        timing = "%.1f ms median of %d call(s)" % (median, len(timings))
        if spec["budget_ms"] is not None:
            timing += ", budget %d ms" % spec["budget_ms"]
        if problems:
            return make_check(name, "fail", "; ".join(problems) + "; " + timing,
                              "check the function's definition and grants against what the dashboard expects",
                              data=data)
        if spec["budget_ms"] is not None and median > spec["budget_ms"]:
            return make_check(name, spec["budget_status"], "over budget: " + timing,
                              "look at the function's plan (EXPLAIN ANALYZE) and indexes; the runbook target is "
                              "< 500 ms", data=data)
        sample = show(rows[0][0] if len(columns) == 1 and rows else (dict(zip(columns, rows[0])) if rows else None))
        return make_check(name, "ok", "%s; %s" % (timing, observed or "returned %d row(s): %s" % (len(rows), sample)),
                          data=data)

    def on_error(exc, duration_ms):
        if getattr(exc, "pgcode", None) == UNDEFINED_FUNCTION:
            return make_check(name, "fail", pg_error_line(exc),
                              "apply the migration that creates %s, or fix its argument list" % spec["function"],
                              duration_ms=duration_ms)
        return make_check(name, "fail", "raised: %s" % pg_error_line(exc),
                          "a dashboard RPC failing is a rollback trigger; read the function and its inputs",
                          duration_ms=duration_ms)

    return session.run(name, body, role=spec["role"], settings=spec["settings"], claims=spec["claims"],
                       on_error=on_error)


# ---------------------------------------------------------------------------------------------------------------
# Smoke tests: reads, and writes that are always rolled back
# ---------------------------------------------------------------------------------------------------------------

def normalize_read(spec):
    if isinstance(spec, str):
        spec = {"table": spec}
    if not isinstance(spec, dict) or not spec.get("table"):
        raise InvalidInput("every smoke read needs a table; got %r" % (spec,))
    min_rows = spec.get("min_rows", 0)
    return {"name": spec.get("name") or "read: %s" % spec["table"], "table": spec["table"],
            "identifier": relation_identifier(spec["table"]), "min_rows": int(min_rows or 0),
            "role": spec.get("role"), "settings": spec.get("settings") or {}, "claims": spec.get("claims")}


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
    out = {"name": "write: %s" % name, "role": spec.get("role", "service_role"),
           "settings": spec.get("settings") or {}, "claims": spec.get("claims")}
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
        table = relation_identifier(spec["table"])
        columns = sorted(values)
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table, sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(", ").join([sql.Placeholder()] * len(columns)))
        delete = sql.SQL("DELETE FROM {} WHERE {}").format(
            table, sql.SQL(" AND ").join(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder()) for k in key))
        out["steps"] = [("insert", insert, [values[c] for c in columns], 1), ("delete", delete, [values[k] for k in key], 1)]
        out["tables"] = [spec["table"]]
    elif statements:
        statements = [statements] if isinstance(statements, str) else list(statements)
        out["steps"] = [("statement %d" % (i + 1), single_statement(s, name), None, None) for i, s in enumerate(statements)]
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
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(relation_identifier(table)))
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


def existing_path(path, what):
    if not os.path.exists(path):
        raise InvalidInput("%s %s does not exist" % (what, path))
    return path
