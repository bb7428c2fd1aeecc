# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's checks on a shadow database: the dry run, ``supabase db lint`` and ``supabase db advisors``.

The runbook asks for "All migration files valid SQL (run ``supabase db lint``)". A parser sees syntax; the
CLI's ``db lint`` (plpgsql_check) sees what only a database can: a PL/pgSQL function that selects a column
that does not exist. It lints a live database, so it runs on the shadow (shadow.py): the target's schema
with the pending migrations applied, never the target itself.

Both tools run twice, before and after the migrations are applied to the shadow, so a report separates what
the pending migrations introduce (a new finding: ``fail`` on production, ``warn`` elsewhere) from what the
target already had (``warn``). Checks returned, in the shape of every check module:

* ``dry_run``: every pending migration applied to the shadow, or the file and statement that would fail;
* ``db_lint``: ``supabase db lint --level warning`` findings (errors and warnings) by function;
* ``shadow_advisors``: advisor findings the migrations add (a table without RLS in ``public``, a mutable
  search_path ...), graded like db_advisors (ERROR fails on production).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import functools
import shutil
import tempfile

from ansible_collections.hotdash.supabase.plugins.module_utils.advisors import (
    advisor_checks,
    finding_object,
    run_advisors,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.cli import one_line
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError, CliError
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, severity_status
from ansible_collections.hotdash.supabase.plugins.module_utils.shadow import failure_message, validate_pending

LINT_LEVELS = ("warning", "error")
_STATUS_RANK = {"ok": 0, "skipped": 0, "waived": 0, "warn": 1, "fail": 2}
_SHOWN = 5


# --------------------------------------------------------------------------------------------------
# supabase db lint
# --------------------------------------------------------------------------------------------------

def lint_issues(data):
    """Flatten the CLI's ``db lint`` JSON (``{"results": [{function, issues}]}`` or the bare list) into issues."""
    if isinstance(data, dict):
        data = data.get("results")
    if data is None:
        return []
    if not isinstance(data, list):
        raise CliError("supabase db lint printed JSON without a results list; is the CLI too old?")
    issues = []
    for item in data:
        if not isinstance(item, dict):
            continue
        for issue in item.get("issues") or []:
            statement = issue.get("statement") or {}
            query = issue.get("query") or {}
            issues.append({"function": item.get("function") or "?", "level": str(issue.get("level") or "error"),
                           "message": issue.get("message") or "", "sqlstate": issue.get("sqlState"),
                           "line": statement.get("lineNumber"), "query": query.get("text")})
    return issues


def require_plpgsql_check(settings):
    """CliError naming the package when the server cannot create plpgsql_check (db lint needs it)."""
    conn = connect(settings, application_name="hotdash.supabase db lint", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'plpgsql_check'")
            available = cur.fetchone() is not None
    finally:
        conn.close()
    if not available:
        raise CliError("supabase db lint needs the plpgsql_check extension on the server it lints (%s): install "
                       "postgresql-<major>-plpgsql-check there (make setup does for a local shadow)"
                       % settings.describe())


def run_db_lint(cli, settings, level="warning"):
    """``supabase db lint --db-url ... --level <level> --fail-on none``: the issues it reports."""
    if level not in LINT_LEVELS:
        raise CliError("db lint level must be one of %s, not %r" % (", ".join(LINT_LEVELS), level))
    require_plpgsql_check(settings)
    workdir = tempfile.mkdtemp(prefix="hotdash-db-lint-")
    try:
        # An empty working directory: no project config.toml is read, and forks never share one.
        result = cli.run(["db", "lint", "--level", level, "--fail-on", "none"], settings=settings, cwd=workdir,
                         json_output=True, check=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result.data is None:
        raise CliError("supabase db lint printed no JSON (rc %d): %s" % (result.rc, one_line(result.stderr, 300)))
    return lint_issues(result.data)


def lint_key(issue):
    return (issue["function"], issue["level"], issue["message"], issue["sqlstate"])


def advisor_key(finding):
    return (finding.get("name"), finding_object(finding), finding.get("detail"))


def introduced(before, after, key):
    """What ``after`` has that ``before`` had not (by ``key``), in ``after``'s order."""
    seen = set(key(item) for item in before or [])
    return [item for item in after if key(item) not in seen]


def _describe_issue(issue):
    where = " (line %s)" % issue["line"] if issue.get("line") else ""
    state = " (SQLSTATE %s)" % issue["sqlstate"] if issue.get("sqlstate") and issue["sqlstate"] != "00000" else ""
    return "%s: %s %s%s%s" % (issue["function"], issue["level"], issue["message"], state, where)


def _listed(items, describe):
    shown = "; ".join(describe(item) for item in items[:_SHOWN])
    return shown + (" (+%d more)" % (len(items) - _SHOWN) if len(items) > _SHOWN else "")


def lint_check(new, existing, environment, severity="auto"):
    """``db_lint``: errors the migrations introduce fail on production; other findings warn."""
    data = {"introduced": new, "existing": existing}
    errors = [issue for issue in new if issue["level"] == "error"]
    if errors:
        return make_check("db_lint", severity_status(environment, severity),
                          "supabase db lint: the pending migrations leave %d PL/pgSQL error(s): %s"
                          % (len(errors), _listed(errors, _describe_issue)),
                          "fix the function(s) in the migration (or a new one) and run the preflight again; the "
                          "query and line are in the check's data", data=data)
    if new or existing:
        parts = []
        if new:
            parts.append("%d new warning(s): %s" % (len(new), _listed(new, _describe_issue)))
        if existing:
            parts.append("%d finding(s) the target already has: %s" % (len(existing), _listed(existing, _describe_issue)))
        return make_check("db_lint", "warn", "supabase db lint: " + "; ".join(parts),
                          "review the functions named; the migrations introduce no PL/pgSQL error", data=data)
    return make_check("db_lint", "ok", "supabase db lint: no PL/pgSQL error or warning after the pending migrations",
                      data=data)


def advisors_check(new, existing_count, environment, allow=()):
    """``shadow_advisors``: the findings the migrations add, graded like db_advisors, as one check."""
    fail_level = "error" if environment == "production" else "none"
    graded = advisor_checks(new, fail_level=fail_level, warn_level="warn", allow=allow) if new else []
    worst = max([_STATUS_RANK.get(check["status"], 0) for check in graded] or [0])
    status = {2: "fail", 1: "warn"}.get(worst, "ok")
    data = {"introduced": new, "existing_count": existing_count}
    if not new:
        return make_check("shadow_advisors", "ok", "Supabase advisors: the pending migrations add no finding (the "
                          "target already has %d)" % existing_count, data=data)
    details = "; ".join("%s: %s" % (check["name"][len("advisor: "):], check["detail"]) for check in graded)
    remedies = "; ".join(check["remedy"] for check in graded if check.get("remedy"))
    return make_check("shadow_advisors", status, "Supabase advisors on the migrated shadow: %s" % details,
                      remedies or "review the findings, or allow-list them with a reason", data=data)


# --------------------------------------------------------------------------------------------------
# The dry run as a check, and all three together
# --------------------------------------------------------------------------------------------------

def dry_run_check(result, environment, target_label, severity="auto"):
    """``dry_run``: did every pending migration apply to the shadow; else which file and statement failed."""
    keys = ("plan", "shadow", "applied", "failed", "not_reached", "restore_errors", "refused")
    data = dict((key, result.get(key)) for key in keys)
    incomplete = ""
    if result.get("restore_errors"):
        errors = result["restore_errors"]
        incomplete = ("; the shadow lacks %d object(s) the target has (first: %s: %s)"
                      % (len(errors), errors[0]["object"], errors[0]["error"]))
    if result.get("refused"):
        return make_check("dry_run", "skipped", "migration_apply would refuse: %s" % result["refused"], data=data)
    if not result.get("plan"):
        return make_check("dry_run", "ok", "no pending migration to try on a shadow", data=data)
    if result.get("failed"):
        return make_check("dry_run", severity_status(environment, severity),
                          failure_message(result["failed"], target_label) + incomplete,
                          "fix the migration (or what it depends on) before the window; the check's data holds "
                          "the statement and the files not reached", data=data)
    detail = ("all %d pending migration(s) applied on a shadow copy of %s (%s, PostgreSQL %s)"
              % (len(result["applied"]), target_label, result["shadow"]["location"],
                 result["shadow"]["server_version"]))
    if incomplete:
        return make_check("dry_run", "warn", detail + incomplete,
                          "the objects not copied may hide a failure: give the shadow the extensions and roles "
                          "they need (shadow_server_url, or the local server's packages)", data=data)
    return make_check("dry_run", "ok", detail, data=data)


def _tool_findings(run, *args):
    """A CLI tool's findings, or ``{"error": one line}`` when it cannot run (no CLI, no plpgsql_check)."""
    try:
        return run(*args)
    except CliError as exc:
        return {"error": str(exc)}


def _tool_error_check(name, what, error, environment, severity):
    """A tool that could not run proves nothing: ``fail`` on production, ``warn`` elsewhere."""
    return make_check(name, severity_status(environment, severity), "%s could not run on the shadow: %s" % (what, error),
                      "install what the message names (make setup installs the pinned CLI and plpgsql_check), or "
                      "turn the check off for this environment")


def shadow_checks(settings, project_dir, apply_options, shadow_options, cli=None, lint=True, advisors=True,
                  lint_level="warning", advisor_allow=(), severity="auto"):
    """Run the dry run and, around it, db lint and db advisors on the shadow: ``(checks, dry_run_result)``.

    ``cli`` is a SupabaseCli, or a callable returning one (resolved once, when a tool first runs: a missing CLI
    then becomes the tools' checks, not an error that hides the dry run).
    """
    environment = shadow_options.environment
    resolved = {}

    def tool_cli():
        if "cli" not in resolved:
            resolved["cli"] = cli() if callable(cli) else cli
        return resolved["cli"]

    def findings(shadow):
        jobs = {}
        if lint:
            jobs["lint"] = lambda: run_db_lint(tool_cli(), shadow.settings, lint_level)
        if advisors:
            jobs["advisors"] = lambda: run_advisors(tool_cli(), shadow.settings)
        missing = _tool_findings(tool_cli)  # resolved once, before the tools run side by side
        if isinstance(missing, dict):
            return dict((name, missing) for name in jobs)
        return side_by_side(dict((name, functools.partial(_tool_findings, job)) for name, job in jobs.items()))

    hook = findings if (lint or advisors) else None
    result = validate_pending(settings, project_dir, apply_options, shadow_options, before=hook, after=hook)
    checks = [dry_run_check(result, environment, settings.describe(), severity)]
    before, after = result.pop("before") or {}, result.pop("after") or {}
    if result["refused"]:
        reason = "migration_apply would refuse to plan"
    elif not result["plan"]:
        reason = "no pending migration"
    elif result["failed"]:
        reason = "the dry run failed at %s" % result["failed"]["file"]
    else:
        reason = None
    if lint:
        error = _first_error(before.get("lint"), after.get("lint"))
        if reason:
            checks.append(make_check("db_lint", _status_without_run(result), "supabase db lint: %s" % reason))
        elif error:
            checks.append(_tool_error_check("db_lint", "supabase db lint", error, environment, severity))
        else:
            new = introduced(before["lint"], after["lint"], lint_key)
            new_keys = set(lint_key(issue) for issue in new)
            checks.append(lint_check(new, [i for i in after["lint"] if lint_key(i) not in new_keys], environment,
                                     severity))
    if advisors:
        error = _first_error(before.get("advisors"), after.get("advisors"))
        if reason:
            checks.append(make_check("shadow_advisors", _status_without_run(result),
                                     "Supabase advisors on the shadow: %s" % reason))
        elif error:
            checks.append(_tool_error_check("shadow_advisors", "supabase db advisors", error, environment, severity))
        else:
            checks.append(advisors_check(introduced(before["advisors"], after["advisors"], advisor_key),
                                         len(before["advisors"]), environment, advisor_allow))
    return checks, result


def side_by_side(jobs):
    """Run ``{name: callable}`` at once (each a child process that mostly waits): ``{name: result}``.

    db lint and db advisors each start the CLI and wait for it; side by side the shadow costs the longer of the two.
    """
    if len(jobs) < 2:
        return dict((name, job()) for name, job in jobs.items())
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = dict((name, pool.submit(job)) for name, job in jobs.items())
        return dict((name, future.result()) for name, future in futures.items())


def _first_error(*findings):
    for item in findings:
        if isinstance(item, dict) and item.get("error"):
            return item["error"]
    return None


def _status_without_run(result):
    """Nothing pending is fine (ok); a refused plan or a failed dry run left the check undone (skipped)."""
    return "ok" if not result["plan"] and not result["refused"] else "skipped"


# --------------------------------------------------------------------------------------------------
# migration_apply's dry run (check mode with dry_run)
# --------------------------------------------------------------------------------------------------

def apply_dry_run(result, settings, project_dir, apply_options, shadow_options):
    """migration_apply's check-mode result with the plan tried on a shadow (``dry_run``, and a ``dry_run`` check).

    When a statement fails there, raises ApplyError naming the file, the statement and the error (with
    ``failed_file``, ``failed_version``, ``failed_statement``, ``failed_error``, ``not_reached``), as the real apply
    would have failed - but before the window, with nothing changed on the target.
    """
    if not result.get("plan"):
        return result
    tried = validate_pending(settings, project_dir, apply_options, shadow_options)
    tried.pop("before", None)
    tried.pop("after", None)
    check = dry_run_check(tried, shadow_options.environment, settings.describe(), "fail")
    failure = tried.get("failed")
    if failure:
        raise ApplyError(check["detail"], plan=result["plan"], applied=[], changed=False, partial=False,
                         failed_file=failure["file"], failed_version=failure["version"],
                         failed_statement=failure["statement"], failed_error=failure["error"],
                         not_reached=tried["not_reached"], dry_run=tried)
    out = dict(result, dry_run=tried)
    out["checks"] = list(result.get("checks") or []) + [check]
    return out
