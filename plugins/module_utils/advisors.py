# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Supabase's own database lints (``supabase db advisors``) as report checks.

The CLI (2.122.1) runs the splinter lints against any PostgreSQL with ``--db-url``:
``supabase db advisors --db-url URL --type all --level info --output-format json`` prints
``{"results": [{name, title, level: ERROR|WARN|INFO, categories, detail, remediation, metadata:
{schema, name, type}, cacheKey}], ...}``. We always ask for every level and apply our own
thresholds and allow-list, so the report shows what was waived and why.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import shutil
import tempfile

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.check_session import validate_choice

LEVELS = ("info", "warn", "error")
THRESHOLDS = ("info", "warn", "error", "none")
ADVISOR_TYPES = ("all", "security", "performance")
_RANK = {"info": 1, "warn": 2, "error": 3, "none": 99}


def level_of(finding):
    return str(finding.get("level") or "info").lower()


def finding_object(finding):
    meta = finding.get("metadata") or {}
    if meta.get("schema") and meta.get("name"):
        return "%s.%s" % (meta["schema"], meta["name"])
    return meta.get("name") or ""


def finding_key(finding):
    """What one finding is about: its object, else the CLI's cache key, else its detail."""
    return finding_object(finding) or str(finding.get("cacheKey") or finding.get("cache_key") or
                                          finding.get("detail") or "?")


def is_allowed(finding, allow):
    """Allow-list entries: ``lint`` (all its findings) or ``lint:schema.object``; fnmatch patterns in both parts."""
    lint = str(finding.get("name") or "")
    obj = finding_object(finding)
    for entry in allow or []:
        pattern_lint, _sep, pattern_obj = str(entry).partition(":")
        if not fnmatch.fnmatchcase(lint, pattern_lint.strip()):
            continue
        if not pattern_obj.strip() or fnmatch.fnmatchcase(obj, pattern_obj.strip()):
            return True
    return False


def findings_from_output(data):
    """The list of findings in the CLI's JSON output (``{"results": [...]}`` or a bare list)."""
    if isinstance(data, dict):
        data = data.get("results")
    if data is None:
        return []
    if not isinstance(data, list):
        raise CliError("supabase db advisors printed JSON without a results list; is the CLI too old?")
    return [f for f in data if isinstance(f, dict)]


def advisor_checks(findings, fail_level="error", warn_level="warn", allow=()):
    """One check per lint name: fail/warn/ok by the worst level not allow-listed; waived when all are allowed."""
    validate_choice(fail_level, THRESHOLDS, "fail_level")
    validate_choice(warn_level, THRESHOLDS, "warn_level")
    by_lint = {}
    for finding in findings:
        by_lint.setdefault(str(finding.get("name") or "unnamed"), []).append(finding)
    checks = []
    for lint in sorted(by_lint):
        items = by_lint[lint]
        open_items = [f for f in items if not is_allowed(f, allow)]
        waived = [f for f in items if is_allowed(f, allow)]
        worst = max([_RANK.get(level_of(f), 1) for f in open_items] or [0])
        if not open_items:
            status = "waived"
        elif worst >= _RANK[fail_level]:
            status = "fail"
        elif worst >= _RANK[warn_level]:
            status = "warn"
        else:
            status = "ok"
        objects = [finding_object(f) or "?" for f in open_items]
        parts = []
        if open_items:
            label = {3: "ERROR", 2: "WARN"}.get(worst, "INFO")
            listed = brief(objects, 8)
            parts.append("%d finding(s), worst %s: %s" % (len(open_items), label, listed))
        if waived:
            parts.append("allow-listed: %s" % ", ".join(finding_object(f) or "?" for f in waived))
        title = items[0].get("title") or lint
        remedy = ""
        if status in ("fail", "warn"):
            remedy = items[0].get("remediation") or ""
        data = {"findings": [{"level": level_of(f), "object": finding_object(f), "detail": f.get("detail"),
                              "allowed": is_allowed(f, allow)} for f in items]}
        if status in ("fail", "warn"):
            # What makes the check fail (or warn), finding by finding: a release that adds one more is told apart
            # from the findings that were there before it (baseline comparison).
            threshold = _RANK[fail_level] if status == "fail" else _RANK[warn_level]
            data["failing"] = sorted(set(finding_key(f) for f in open_items if _RANK.get(level_of(f), 1) >= threshold))
        checks.append(make_check("advisor: %s" % lint, status, "%s; %s" % (title, "; ".join(parts)), remedy,
                                 data=data))
    if not checks:
        checks.append(make_check("advisor: all lints", "ok", "no findings"))
    return checks


def run_advisors(cli, settings, advisor_type="all"):
    """Run ``supabase db advisors`` against ``settings`` (password via PGPASSWORD); return the findings."""
    validate_choice(advisor_type, ADVISOR_TYPES, "advisor_type")
    if not cli:
        raise InvalidInput("no Supabase CLI given")
    workdir = tempfile.mkdtemp(prefix="hotdash-advisors-")
    try:
        # A private empty working directory: no project config.toml is picked up, and forks never share one.
        result = cli.run(["db", "advisors", "--type", advisor_type, "--level", "info", "--fail-on", "none"],
                         settings=settings, cwd=workdir, json_output=True, check=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if result.data is None:
        raise CliError("supabase db advisors printed no JSON (rc %d); run it by hand with --output-format json"
                       % result.rc)
    return findings_from_output(result.data)
