# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``supabase inspect db <report> --output-format json`` through the real CLI, as data and report checks.

The CLI's JSON is ``{"rows": [...], "message": "inspect db locks"}`` on success and
``{"_tag": "Error", "error": {"code": ..., "message": ...}}`` on failure. A report that fails because something
it reads is missing (``outliers`` needs ``extensions.pg_stat_statements``) becomes a warning for that report;
a connection failure fails the whole call, since no report could be read.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
import shutil
import tempfile

from ansible_collections.hotdash.supabase.plugins.module_utils.cli import SupabaseCli, one_line
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, ConnectionFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import statement_text_for_artifact

# The reports the runbook's watch window cares about, plus the other read-only ones of CLI 2.122.1.
DEFAULT_REPORTS = ("locks", "blocking", "long-running-queries", "outliers", "db-stats")
REPORTS = DEFAULT_REPORTS + ("calls", "index-stats", "table-stats", "role-stats", "vacuum-stats", "bloat",
                             "replication-slots", "traffic-profile")
_MISSING_SQLSTATE = re.compile(r"SQLSTATE (42P01|42883|3F000|42501|55000)")
_TIMEOUT_SQLSTATE = "SQLSTATE 57014"
_TEXT_LIMIT = 200


def validate_reports(reports):
    """The list of reports, de-duplicated in order; InvalidInput naming unknown ones."""
    reports = list(reports or [])
    if not reports:
        raise InvalidInput("reports is empty; name at least one of %s" % ", ".join(REPORTS))
    unknown = [r for r in reports if r not in REPORTS]
    if unknown:
        raise InvalidInput("unknown inspect report(s) %s; use %s" % (", ".join(unknown), ", ".join(REPORTS)))
    seen = []
    for report in reports:
        if report not in seen:
            seen.append(report)
    return seen


def parse_report(data, stdout):
    """Rows of one report from the CLI's JSON document; CliError when it is not the expected shape."""
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        return data["rows"]
    if isinstance(data, list):
        return data
    raise CliError("supabase inspect db printed no JSON rows: %s" % one_line(stdout, 200))


def classify_failure(result):
    """("connection" | "missing" | "other", one-line reason) for a failed CLI run."""
    data = result.data if isinstance(result.data, dict) else {}
    error = data.get("error") if isinstance(data.get("error"), dict) else {}
    code = error.get("code") or ""
    message = one_line(error.get("message") or SupabaseCli.error_message(result))
    if code == "DbConnectError" or "failed to connect" in message:
        return "connection", message
    if _MISSING_SQLSTATE.search(message):
        return "missing", message
    if _TIMEOUT_SQLSTATE in message:
        return "timeout", message
    return "other", message


def with_statement_timeout(settings, seconds):
    """A copy of ``settings`` whose sessions cancel statements after ``seconds`` (libpq ``options``).

    ``inspect db db-stats`` sizes every table and so waits behind an ACCESS EXCLUSIVE lock (a migration holding
    one, for example); without a timeout it would hang the run.
    """
    settings = copy.copy(settings)
    settings.options = dict(settings.options)
    if seconds and seconds > 0:
        flag = "-c statement_timeout=%d" % int(seconds * 1000)
        existing = settings.options.get("options")
        settings.options["options"] = "%s %s" % (existing, flag) if existing else flag
    return settings


def shorten_rows(rows, secrets=()):
    """Bound statement texts (``query``/``stmt``) to one line so results stay readable: redacted, and hidden whole
    when they mention a password (``pg_stat_statements`` keeps ``ALTER ROLE ... PASSWORD`` verbatim)."""
    out = []
    for row in rows:
        if not isinstance(row, dict):
            out.append(row)
            continue
        row = dict(row)
        for key in ("query", "stmt"):
            if isinstance(row.get(key), str):
                row[key] = statement_text_for_artifact(row[key], secrets, _TEXT_LIMIT)
        out.append(row)
    return out


def run_inspect(cli, settings, reports, timeout=None, statement_timeout=30):
    """Run each report; return ``{reports: {name: rows}, warnings: [...]}``.

    A report cancelled by ``statement_timeout`` (seconds; it waited behind a lock) is a warning, like a missing source.

    Runs from a private temporary directory (never a shared path) so parallel hosts cannot collide.
    """
    reports = validate_reports(reports)
    if timeout:
        cli.timeout = timeout
    secrets = settings.secrets()
    settings = with_statement_timeout(settings, statement_timeout)
    results = {}
    warnings = []
    workdir = tempfile.mkdtemp(prefix="hotdash-inspect-")
    try:
        for report in reports:
            result = cli.run(["inspect", "db", report], settings=settings, cwd=workdir, json_output=True, check=False)
            if result.rc == 0:
                results[report] = shorten_rows(parse_report(result.data, result.stdout), secrets)
                continue
            kind, reason = classify_failure(result)
            reason = redact(reason, secrets)
            if kind == "connection":
                raise ConnectionFailed("supabase inspect db %s cannot connect to %s: %s"
                                       % (report, settings.describe(), reason), reports=results)
            if kind in ("missing", "timeout"):
                what = "not available here" if kind == "missing" else (
                    "cancelled after %s s, probably waiting behind a lock" % statement_timeout)
                warnings.append("%s: %s (%s)" % (report, what, reason))
                results[report] = None
                continue
            raise CliError("supabase inspect db %s failed (rc %d): %s" % (report, result.rc, reason), reports=results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {"reports": results, "warnings": warnings}


def inspect_checks(reports, warnings=()):
    """Report checks for check_report: blocked and long-running queries warn; the rest inform."""
    checks = []
    for name, rows in reports.items():
        note = [w for w in warnings if w.startswith(name + ":")]
        if rows is None:
            checks.append(make_check("inspect %s" % name, "skipped", "; ".join(note)))
            continue
        status, detail, remedy = "ok", "%d row(s)" % len(rows), ""
        if name == "blocking" and rows:
            status, detail = "warn", "%d blocked statement(s)" % len(rows)
            remedy = "find the blocking session (pg_stat_activity) before the next migration"
        elif name == "long-running-queries" and rows:
            status, detail = "warn", "%d statement(s) running longer than 5 minutes" % len(rows)
            remedy = "end or wait for the long-running statements; they hold locks a migration needs"
        elif name == "db-stats" and rows and isinstance(rows[0], dict):
            detail = "database %s, cache hit (index/table) %s/%s" % (
                rows[0].get("database_size"), rows[0].get("index_hit_rate"), rows[0].get("table_hit_rate"))
        checks.append(make_check("inspect %s" % name, status, detail, remedy))
    return checks
