# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Expectations: a tiny language for what a check's result must look like, parsed without ``eval``.

``rows == 0``, ``value <= 0.005``, ``not null``, ``value is null``, ``segments >= 1 and revenue > 0``:
``rows`` is the number of rows, ``value`` the first column of the first row, any other name a column of
the first row. Used by the integrity checks, RLS scenarios and RPC checks.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import decimal
import json
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import clip

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
    return clip(text, limit)


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
