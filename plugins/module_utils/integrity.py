# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-integrity and orphan checks (``sql_check``): YAML definitions, annotated ``.sql`` files, orphan specs.

Each check is one query and an expectation (``expectations.py``); an orphan spec (``{table, column,
references}``) becomes a ``NOT EXISTS`` count and a sample of the orphaned keys, without writing SQL.
A query is exactly one read-only statement as PostgreSQL's parser reads it (``sql_guard``, profile QUERY);
``DO`` and ``CALL`` only when the check declares them (``allow: [call]``).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib first
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import SEVERITIES, refuse_unknown_keys, validate_choice
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.expectations import evaluate, parse_expectation, show
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import identifier
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import QUERY, count_statements, guard_statement
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import TRIGGER_KINDS

_HEADER = re.compile(r"^\s*--\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*?)\s*$", re.IGNORECASE)
_FILE_KEYS = ("check", "expect", "tables", "severity", "description", "remedy", "trigger")
CHECK_KEYS = ("name", "query", "orphans", "expect", "tables", "severity", "remedy", "description", "trigger", "allow")


def parse_check_file(path):
    """Checks from an annotated SQL file: ``-- check: <name>`` starts one, other ``-- key:`` lines annotate it.

    The file stays runnable with ``psql -f``; each check's query is the SQL up to the next ``-- check:``.
    Keys: ``expect`` (default ``rows == 0``: the query lists offending rows), ``tables``, ``severity``,
    ``description``, ``remedy``, ``trigger`` (the rollback trigger a new failure is, e.g. ``customer_errors``).
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
        source = check.pop("source")
        if count_statements(query) == 0:
            raise InvalidInput("check %r (%s) has no query under its header" % (check["name"], source))
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
    child = identifier(spec["table"])
    parent_id = identifier(parent)
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
    refuse_unknown_keys(check, CHECK_KEYS, "integrity check %r" % name)
    severity = validate_choice(check.get("severity") or "fail", SEVERITIES, "check %r severity" % name)
    tables = check.get("tables") or []
    tables = [tables] if isinstance(tables, str) else list(tables)
    out = {"name": name, "severity": severity, "tables": tables, "remedy": check.get("remedy") or "",
           "description": check.get("description") or "", "trigger": check.get("trigger") or None}
    if out["trigger"] and out["trigger"] not in TRIGGER_KINDS:
        raise InvalidInput("check %r: trigger must be one of %s, not %r"
                           % (name, ", ".join(sorted(TRIGGER_KINDS)), out["trigger"]))
    if check.get("orphans") is not None:
        if check.get("query"):
            raise InvalidInput("check %r: give either query or orphans, not both" % name)
        out["count_sql"], out["sample_sql"], spec_tables = orphan_query(check["orphans"], name)
        out["tables"] = tables + [t for t in spec_tables if t not in tables]
        out["expect"] = check.get("expect") or "value == 0"
        if not out["remedy"]:
            out["remedy"] = "fix or delete the orphaned rows (or add the missing parents) before relying on the data"
    else:
        out["query"] = guard_statement(check.get("query"), "integrity check %r" % name, QUERY,
                                       allow=check.get("allow") or ()).text
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
        made = make_check(name, status, detail, "" if passed else check["remedy"], data=data)
        if check["trigger"]:
            made["trigger_kind"] = check["trigger"]  # read by the baseline comparison (baseline.trigger_kind)
        return made

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
