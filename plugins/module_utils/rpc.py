# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""RPC checks (``rpc_check``): call the dashboard's functions as PostgREST would, time them against a budget.

Each function is called ``calls`` times in a read-only transaction that is rolled back, optionally as a role
with JWT claims and settings; the median time is compared with its budget (seconds in the options, ms in the
report) and the result with ``expect`` (``expectations.py``) and ``expect_columns``. An argument's ``sql:``
expression must read as one value (``sql_guard.guard_expression``): it cannot close the call's parentheses.

A function that raises, or returns what the dashboard does not expect, fails: a critical RPC failure, one of the
runbook's rollback triggers. A function over its budget only warns by default (``budget_status``): 500 ms is the
runbook's target, not a trigger. The check's ``data`` says which (``over_budget``, and ``failing``: the SQLSTATE
of the error or ``expect``/``columns``), so a baseline comparison can tell a new failure from the same one.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover - modules report missing_required_lib first
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import (
    SEVERITIES,
    refuse_unknown_keys,
    request_context,
    validate_choice,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.expectations import evaluate, parse_expectation, show
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import UNDEFINED_FUNCTION, error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import guard_expression
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import elapsed_ms


FUNCTION_KEYS = ("name", "function", "args", "budget", "calls", "role", "claims", "settings", "expect",
                 "expect_columns", "budget_status")


def _argument(value, name, index):
    """A function argument: a plain value goes as a driver parameter; ``{sql: "now()"}`` as an SQL expression."""
    if isinstance(value, dict):
        if set(value) - {"sql", "value", "type"}:
            raise InvalidInput("function %r: an argument dict takes sql, value and type, got %s"
                               % (name, ", ".join(sorted(value))))
        if "sql" in value:
            return sql.SQL(guard_expression(value["sql"], "function %r argument %d" % (name, index)))
        piece = sql.Placeholder()
        if value.get("type"):
            # A type name is an identifier path (public.mytype, timestamptz); refuse anything else.
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_ .\[\]]*$", value["type"]):
                raise InvalidInput("function %r: argument type %r is not a type name" % (name, value["type"]))
            piece = sql.SQL("{}::{}").format(piece, sql.SQL(value["type"]))
        return piece
    return sql.Placeholder()


def _budget(value, what):
    """A budget in seconds (None: no budget); InvalidInput for anything else than a number >= 0."""
    if value is None:
        return None
    try:
        budget = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s must be a number of seconds, got %r" % (what, value))
    if budget < 0:
        raise InvalidInput("%s must be 0 or more (seconds), got %s" % (what, value))
    return budget


def _calls(value, what):
    if isinstance(value, bool) or not isinstance(value, int) and not (isinstance(value, str) and value.isdigit()):
        raise InvalidInput("%s must be a whole number of calls, got %r" % (what, value))
    if int(value) < 1:
        raise InvalidInput("%s must be at least 1, got %s" % (what, value))
    return int(value)


def normalize_rpc(spec, default_budget=0.5, default_calls=3, default_budget_status="warn"):
    """Validate a function spec; ``budget`` (seconds, per spec or ``default_budget``) becomes ``budget_ms``."""
    default_budget = _budget(default_budget, "budget")
    default_calls = _calls(default_calls, "calls")
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or not spec.get("name"):
        raise InvalidInput("every function needs a name; got %r" % (spec,))
    name = str(spec["name"])
    if "budget_ms" in spec:
        raise InvalidInput("function %r: budget_ms was renamed budget and is in seconds (budget: 0.5 is 500 ms)" % name)
    refuse_unknown_keys(spec, FUNCTION_KEYS, "function %r" % name)
    function = str(spec.get("function") or name)
    parts = function.split(".")
    if len(parts) > 2 or not all(re.match(r"^[A-Za-z_][A-Za-z0-9_$]*$", p) for p in parts):
        raise InvalidInput("function %r must be 'name' or 'schema.name'" % function)
    args = spec.get("args") or []
    if not isinstance(args, list):
        raise InvalidInput("function %r: args must be a list" % name)
    params = []
    pieces = []
    for index, arg in enumerate(args, 1):
        pieces.append(_argument(arg, name, index))
        if not (isinstance(arg, dict) and "sql" in arg):
            params.append(arg.get("value") if isinstance(arg, dict) else arg)
    query = sql.SQL("SELECT * FROM {}({})").format(sql.Identifier(*parts), sql.SQL(", ").join(pieces))
    budget = _budget(spec["budget"], "function %r: budget" % name) if "budget" in spec else default_budget
    calls = _calls(spec["calls"], "function %r: calls" % name) if spec.get("calls") is not None else default_calls
    context = request_context(spec, "function %r" % name)
    out = {"name": name, "function": function, "query": query, "params": params,
           "budget_ms": None if budget is None else budget * 1000.0, "calls": calls,
           "role": context["role"], "settings": context["settings"], "claims": context["claims"],
           "expect": spec.get("expect"), "expect_columns": spec.get("expect_columns") or [],
           "budget_status": validate_choice(spec.get("budget_status") or default_budget_status, SEVERITIES,
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
            timings.append(elapsed_ms(started))
            columns = [d[0] for d in cur.description or []]
        ordered = sorted(timings)
        median = ordered[len(ordered) // 2]
        data = {"timings_ms": [round(t, 1) for t in timings], "median_ms": round(median, 1),
                "budget_ms": spec["budget_ms"], "rows": len(rows), "columns": columns}
        problems, failing = [], []
        missing = [c for c in spec["expect_columns"] if c not in columns]
        if missing:
            problems.append("missing column(s) %s (has %s)" % (", ".join(missing), ", ".join(columns)))
            failing.append("columns")
        observed = ""
        if spec["conditions"]:
            passed, observed = evaluate(spec["conditions"], columns, rows)
            if not passed:
                problems.append("%s (expected %s)" % (observed, spec["expect"]))
                failing.append("expect")
        timing = "%.1f ms median of %d call(s)" % (median, len(timings))
        if spec["budget_ms"] is not None:
            timing += ", budget %d ms" % spec["budget_ms"]
        if problems:
            return make_check(name, "fail", "; ".join(problems) + "; " + timing,
                              "check the function's definition and grants against what the dashboard expects",
                              data=dict(data, failing=failing))
        if spec["budget_ms"] is not None and median > spec["budget_ms"]:
            data["over_budget"] = True
            return make_check(name, spec["budget_status"], "over budget: " + timing,
                              "look at the function's plan (EXPLAIN ANALYZE) and indexes; the runbook target is "
                              "< 500 ms", data=data)
        sample = show(rows[0][0] if len(columns) == 1 and rows else (dict(zip(columns, rows[0])) if rows else None))
        return make_check(name, "ok", "%s; %s" % (timing, observed or "returned %d row(s): %s" % (len(rows), sample)),
                          data=data)

    def on_error(exc, duration_ms):
        data = {"failing": ["SQLSTATE %s" % (getattr(exc, "pgcode", None) or "unknown")]}
        if getattr(exc, "pgcode", None) == UNDEFINED_FUNCTION:
            return make_check(name, "fail", error_line(exc),
                              "apply the migration that creates %s, or fix its argument list" % spec["function"],
                              data=data, duration_ms=duration_ms)
        return make_check(name, "fail", "raised: %s" % error_line(exc),
                          "a dashboard RPC failing is a rollback trigger; read the function and its inputs",
                          data=data, duration_ms=duration_ms)

    return session.run(name, body, role=spec["role"], settings=spec["settings"], claims=spec["claims"],
                       on_error=on_error)
