# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Statements that cannot run inside a transaction block, found with PostgreSQL's own parser (pglast).

``CREATE INDEX CONCURRENTLY``, ``VACUUM``, a file's own ``BEGIN``/``COMMIT``, ``CREATE DATABASE``... and
``ALTER TYPE ... ADD VALUE`` whose new value the same file uses later. :func:`segments_for` turns the
findings into units of work for the native apply engine.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    from pglast import parse_sql as _pglast_parse
    HAS_PGLAST = True
except ImportError:  # pragma: no cover
    _pglast_parse = None
    HAS_PGLAST = False

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

# Only statements containing one of these words can be a finding; the others are not parsed at all.
_MAYBE_NON_TX = re.compile(r"\b(concurrently|vacuum|begin|commit|end|start|rollback|abort|value|database|"
                           r"tablespace|system|prepare)\b", re.IGNORECASE)


def _parse(statement):
    if not HAS_PGLAST:
        raise InvalidInput("pglast is required to classify migration statements: pip install pglast")
    try:
        return _pglast_parse(statement)
    except Exception:  # pylint: disable=broad-except
        return None  # the server will report the syntax error, with its own message


def _node_finding(node):
    """(kind, detail) for a statement that cannot run in a transaction block, else None."""
    name = type(node).__name__
    if name == "IndexStmt" and getattr(node, "concurrent", False):
        return "concurrently", "CREATE INDEX CONCURRENTLY"
    if name == "DropStmt" and getattr(node, "concurrent", False):
        return "concurrently", "DROP INDEX CONCURRENTLY"
    if name == "ReindexStmt" and any(getattr(p, "defname", "") == "concurrently" for p in (node.params or ())):
        return "concurrently", "REINDEX CONCURRENTLY"
    if name == "AlterTableStmt":
        for cmd in node.cmds or ():
            part = getattr(cmd, "def_", None)
            if type(part).__name__ == "PartitionCmd" and getattr(part, "concurrent", False):
                return "concurrently", "DETACH PARTITION CONCURRENTLY"
    if name == "VacuumStmt" and getattr(node, "is_vacuumcmd", False):
        return "vacuum", "VACUUM"
    if name == "TransactionStmt":
        kind = getattr(node.kind, "name", str(node.kind)).replace("TRANS_STMT_", "")
        if kind in ("BEGIN", "START", "COMMIT", "ROLLBACK", "PREPARE", "COMMIT_PREPARED", "ROLLBACK_PREPARED"):
            return "transaction_control", kind.replace("_", " ")
    if name in ("CreatedbStmt", "DropdbStmt"):
        return "database", "CREATE/DROP DATABASE"
    if name in ("CreateTableSpaceStmt", "DropTableSpaceStmt"):
        return "database", "CREATE/DROP TABLESPACE"
    if name == "AlterSystemStmt":
        return "database", "ALTER SYSTEM"
    return None


def find_non_transactional(statements):
    """Findings ``[{index, kind, detail}]`` (index 1-based) for statements that need their own transaction.

    ``ALTER TYPE … ADD VALUE 'v'`` is only reported when ``'v'`` is used by a later statement of the
    same file: PostgreSQL allows adding the value in a transaction but not using it before commit.
    """
    findings = []
    new_values = []
    for index, statement in enumerate(statements, 1):
        for value, at in new_values:
            if ("'%s'" % value.replace("'", "''")) in statement:
                findings.append(dict(index=at, kind="enum_value_used", used_at=index,
                                     detail="ALTER TYPE ... ADD VALUE '%s' used by statement %d" % (value, index)))
                new_values = [(v, a) for v, a in new_values if v != value]
                break
        if not _MAYBE_NON_TX.search(statement):
            continue
        parsed = _parse(statement)
        for raw in parsed or ():
            node = raw.stmt
            if type(node).__name__ == "AlterEnumStmt" and getattr(node, "newVal", None) and not getattr(node, "oldVal", None):
                new_values.append((node.newVal, index))
                continue
            found = _node_finding(node)
            if found:
                findings.append(dict(index=index, kind=found[0], detail=found[1]))
                break
    findings.sort(key=lambda f: f["index"])
    return findings


def segments_for(statements, findings):
    """Split a file into units of work: ``[{"transactional": bool, "indexes": [1-based]}]``.

    - no findings: one transaction with every statement;
    - its own BEGIN/COMMIT: every statement in autocommit, in order (the file controls its transactions);
    - otherwise each CONCURRENTLY/VACUUM/DATABASE statement runs alone in autocommit between transactions
      of the statements around it, and a transaction is committed right after an ``ADD VALUE`` whose value
      is used later.
    """
    indexes = list(range(1, len(statements) + 1))
    if not findings:
        return [dict(transactional=True, indexes=indexes)]
    kinds = set(f["kind"] for f in findings)
    if "transaction_control" in kinds:
        return [dict(transactional=False, indexes=indexes)]
    alone = set(f["index"] for f in findings if f["kind"] != "enum_value_used")
    commit_after = set(f["index"] for f in findings if f["kind"] == "enum_value_used")
    segments, current = [], []
    for index in indexes:
        if index in alone:
            if current:
                segments.append(dict(transactional=True, indexes=current))
                current = []
            segments.append(dict(transactional=False, indexes=[index]))
            continue
        current.append(index)
        if index in commit_after:
            segments.append(dict(transactional=True, indexes=current))
            current = []
    if current:
        segments.append(dict(transactional=True, indexes=current))
    return segments


def describe_findings(findings):
    return ", ".join("statement %d: %s" % (f["index"], f["detail"]) for f in findings)
