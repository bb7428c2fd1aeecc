# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Row level security: coverage of the configured schemas, and scenarios run as a given role with given settings.

Coverage: every table of the schemas has RLS enabled unless allow-listed; tables with RLS enabled
but no policy (only roles that bypass RLS can use them) are reported. Scenarios: a query run the
way PostgREST runs a request (``request.jwt.claims``, ``SET LOCAL ROLE anon``) plus plain GUCs such
as the runbook's ``app.current_project``, in a read-only transaction that is rolled back, with an
expectation on the rows seen.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch

try:
    from psycopg2 import sql
except ImportError:  # pragma: no cover
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import (
    SEVERITIES,
    refuse_unknown_keys,
    request_context,
    validate_choice,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.expectations import evaluate, parse_expectation
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import error_line
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import identifier
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import QUERY, WRITE, guard_statement

_SCENARIO_REMEDY = "a policy shows this role rows it must not see (or hides rows it must see); review the table's policies"
_TABLES_SQL = """
SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%s)
 ORDER BY 1, 2
"""


def table_security(cur, schemas):
    """``[{schema, table, rls, forced, policies}]`` for the ordinary and partitioned tables of ``schemas``."""
    cur.execute(_TABLES_SQL, (list(schemas),))
    return [{"schema": r[0], "table": r[1], "rls": bool(r[2]), "forced": bool(r[3]), "policies": int(r[4])}
            for r in cur.fetchall()]


def allowed(entry, patterns):
    """True when ``schema.table`` (or bare ``table``) matches one of the allow-list patterns (fnmatch)."""
    qualified = "%s.%s" % (entry["schema"], entry["table"])
    for pattern in patterns or []:
        target = qualified if "." in pattern else entry["table"]
        if fnmatch.fnmatchcase(target, pattern):
            return True
    return False


def _split_allowed(entries, patterns):
    """``(not allowed, allowed)`` names ``schema.table`` of ``entries`` against the allow-list ``patterns``."""
    names = [("%s.%s" % (t["schema"], t["table"]), allowed(t, patterns)) for t in entries]
    return [n for n, ok in names if not ok], [n for n, ok in names if ok]


def _allow_list_check(name, bad, fine, status, problem, remedy, ok_detail, allowed_note, data):
    """A coverage check: ``status`` naming the tables not allow-listed, else ok noting the allow-listed ones.

    ``data.failing`` lists those tables, so a baseline comparison sees a table the release added beside one
    that was already uncovered."""
    if bad:
        return make_check(name, status, problem % ", ".join(bad), remedy, data=dict(data, failing=list(bad)))
    note = "; %s: %s" % (allowed_note, ", ".join(fine)) if fine else ""
    return make_check(name, "ok", ok_detail + note, data=data)


def coverage_checks(tables, schemas, allow_without_rls=(), allow_without_policy=(), without_policy_status="warn"):
    """Two checks per schema: RLS enabled on every table, and every RLS table has a policy."""
    validate_choice(without_policy_status, SEVERITIES, "without_policy_status")
    checks = []
    for schema in schemas:
        mine = [t for t in tables if t["schema"] == schema]
        off_bad, off_ok = _split_allowed([t for t in mine if not t["rls"]], allow_without_rls)
        data = {"tables": len(mine), "rls_disabled": off_bad, "allowed_without_rls": off_ok}
        if not mine:
            checks.append(make_check("rls enabled: %s" % schema, "ok", "no tables in schema %s" % schema, data=data))
        else:
            checks.append(_allow_list_check(
                "rls enabled: %s" % schema, off_bad, off_ok, "fail", "RLS disabled on %s",
                "ALTER TABLE ... ENABLE ROW LEVEL SECURITY and add policies, or allow-list the table "
                "(supabase_verify_rls_allow_without_rls) if it is meant to be public",
                "%d table(s), RLS enabled on all" % len(mine), "allowed without RLS", data))
        bad, fine = _split_allowed([t for t in mine if t["rls"] and t["policies"] == 0], allow_without_policy)
        checks.append(_allow_list_check(
            "rls policies: %s" % schema, bad, fine, without_policy_status,
            "RLS enabled but no policy on %s (only roles that bypass RLS can use them)",
            "add a policy, or allow-list the table (supabase_verify_rls_allow_without_policy) if only "
            "service_role may use it", "every RLS table has a policy", "service-role-only by design",
            {"without_policy": bad, "allowed_without_policy": fine}))
    return checks


SCENARIO_KEYS = ("name", "role", "claims", "settings", "query", "table", "expect", "expect_error", "tables",
                 "severity", "remedy", "allow")


def normalize_scenario(scenario):
    """Validate a scenario ``{name, role, claims, settings, query|table, expect|expect_error, tables}``."""
    if not isinstance(scenario, dict) or not scenario.get("name"):
        raise InvalidInput("every RLS scenario needs a name; got %r" % (scenario,))
    name = str(scenario["name"])
    what = "RLS scenario %r" % name
    refuse_unknown_keys(scenario, SCENARIO_KEYS, what)
    if bool(scenario.get("query")) == bool(scenario.get("table")):
        raise InvalidInput("RLS scenario %r needs exactly one of query or table" % name)
    context = request_context(scenario, what)
    tables = scenario.get("tables") or []
    tables = [tables] if isinstance(tables, str) else list(tables)
    out = {"name": "rls scenario: %s" % name, "role": context["role"], "settings": context["settings"],
           "claims": context["claims"], "tables": tables, "expect_error": scenario.get("expect_error"),
           "severity": validate_choice(scenario.get("severity") or "fail", SEVERITIES, "scenario %r severity" % name),
           "remedy": scenario.get("remedy") or _SCENARIO_REMEDY}
    if scenario.get("table"):
        out["query"] = sql.SQL("SELECT count(*) AS rows FROM {}").format(identifier(scenario["table"]))
        out["counts_rows"] = True
        if scenario["table"] not in tables:
            out["tables"].append(scenario["table"])
    else:
        # A scenario that expects an error may be a write (anon cannot insert): it still runs in the read-only
        # transaction, so it can only be refused, never performed.
        profile = WRITE if out["expect_error"] is not None else QUERY
        out["query"] = guard_statement(scenario["query"], what, profile, allow=scenario.get("allow") or ()).text
        out["counts_rows"] = False
    if out["expect_error"] is None:
        out["expect"] = scenario.get("expect")
        if not out["expect"]:
            raise InvalidInput("RLS scenario %r needs expect (e.g. 'rows == 0') or expect_error" % name)
        out["conditions"] = parse_expectation(out["expect"])
    elif scenario.get("expect"):
        raise InvalidInput("RLS scenario %r: give expect or expect_error, not both" % name)
    return out


def _who(scenario):
    parts = ["as %s" % (scenario["role"] or "the login role")]
    parts += ["%s=%s" % kv for kv in sorted(scenario["settings"].items())]
    return ", ".join(parts)


def run_scenario(session, scenario):
    """Run one normalized scenario in a rolled-back read-only transaction; returns a report check."""
    name = scenario["name"]

    def body(cur):
        cur.execute(scenario["query"])
        if scenario["expect_error"] is not None:
            return make_check(name, scenario["severity"], "%s: no error, expected %r" % (_who(scenario),
                                                                                         scenario["expect_error"]),
                              scenario["remedy"])
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall() if cur.description else []
        if scenario["counts_rows"]:
            # ``table:`` counts the rows the role sees, so ``rows`` (and ``value``) mean that count.
            seen = rows[0][0]
            passed, observed = evaluate(scenario["conditions"], ["rows"], [(seen,)], overrides={"rows": seen})
        else:
            passed, observed = evaluate(scenario["conditions"], columns, rows)
        detail = "%s: %s (expected %s)" % (_who(scenario), observed, scenario["expect"])
        return make_check(name, "ok" if passed else scenario["severity"], detail,
                          "" if passed else scenario["remedy"], data={"observed": observed})

    def on_error(exc, duration_ms):
        expected = scenario["expect_error"]
        line = error_line(exc)
        if expected is not None and (str(expected).lower() in line.lower() or expected == getattr(exc, "pgcode", None)):
            return make_check(name, "ok", "%s: refused as expected: %s" % (_who(scenario), line),
                              duration_ms=duration_ms)
        return make_check(name, "fail", "%s: %s" % (_who(scenario), line),
                          "the scenario's query failed; check the role's grants and the query", duration_ms=duration_ms)

    return session.run(name, body, tables=scenario["tables"], role=scenario["role"], settings=scenario["settings"],
                       claims=scenario["claims"], on_error=on_error)
