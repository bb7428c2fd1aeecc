# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks and check reports: one shape for preflight, verify, monitor and rollback results.

A check is a dict ``{name, status, detail, remedy, duration_ms, data}`` with ``status`` one of
``ok``, ``warn``, ``fail``, ``waived`` or ``skipped``, built by :func:`make_check`. Waivers turn a named
failing check into ``waived`` with its recorded reason (:func:`apply_waivers`); a module returns its checks
through :func:`module_result`. A report is written as JSON (machines), Markdown (people) and JUnit XML
(AWX and CI render it), and summarised on one screen.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import (
    ARTIFACT_MODE,
    make_directories,
    open_append,
    simple_name,
    write_file,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import utc_now

STATUSES = ("ok", "warn", "fail", "waived", "skipped")
FORMATS = ("json", "markdown", "junit")
_ICON = {"ok": "PASS", "warn": "WARN", "fail": "FAIL", "waived": "WAIVED", "skipped": "SKIP"}
# Options shared by the modules that return checks; documented once in the hotdash.supabase.checks doc fragment.
# statement_timeout is in seconds, like every timeout of the collection.
_CHECK_OPTIONS = {
    "fail_on_failed": dict(type="bool", default=False),
    "statement_timeout": dict(type="float", default=30.0),
    "on_missing_table": dict(type="str", default="skip", choices=["skip", "fail"]),
    "waivers": dict(type="dict", default={}),
    "error_status": dict(type="str", choices=["fail", "warn"]),
}


# -- building checks ------------------------------------------------------------------------------------------------

def make_check(name, status, detail="", remedy="", data=None, duration_ms=None):
    """One check; the remedy is kept only where there is something to do (``fail``, ``warn``, ``waived``)."""
    if status not in STATUSES:
        raise ValueError("unknown check status %r" % status)
    check = {"name": name, "status": status, "detail": detail,
             "remedy": remedy if status in ("fail", "warn", "waived") else "",
             "duration_ms": None if duration_ms is None else int(duration_ms)}
    if data is not None:
        check["data"] = data
    return check


def severity_status(environment, severity="auto"):
    """The status a finding gets: ``fail`` in production, ``warn`` elsewhere, unless forced."""
    if severity in ("warn", "fail"):
        return severity
    return "fail" if environment == "production" else "warn"


def validate_waivers(waivers):
    """``{check_name: reason}``; every waiver needs a written reason (it is recorded in the report)."""
    waivers = dict(waivers or {})
    for name, reason in waivers.items():
        if not str(reason or "").strip():
            raise InvalidInput("waiver for check %r has no reason; write why it is acceptable "
                               "(supabase_preflight_waivers: {%s: '<reason, ticket>'})" % (name, name))
    return waivers


def apply_waivers(checks, waivers):
    """Turn ``fail``/``warn`` checks named in ``waivers`` into ``waived`` with the recorded reason."""
    waivers = validate_waivers(waivers)
    out = []
    for check in checks:
        reason = waivers.get(check["name"])
        if reason and check["status"] in ("fail", "warn"):
            check = dict(check, status="waived", waived_from=check["status"], waiver_reason=str(reason).strip(),
                         detail="%s (waived: %s)" % (check.get("detail") or "", str(reason).strip()))
        out.append(check)
    return out


def checks_passed(checks):
    """True when no check failed (waived, warned and skipped ones do not count)."""
    return not any(c["status"] == "fail" for c in checks)


def count_statuses(checks):
    """``{status: number of checks}`` for the statuses that occur."""
    counts = {}
    for check in checks:
        counts[check["status"]] = counts.get(check["status"], 0) + 1
    return counts


def module_result(checks, fail_on_failed=False, what="checks", waivers=None, **extra):
    """The result every check module returns: ``checks`` (waivers applied), ``passed``, ``counts``.

    With ``fail_on_failed`` a failed check raises CheckFailed, the result attached: ``<what> failed:
    <check>: <detail> | ...``, or only the details when ``what`` is None (checks whose details are sentences).
    """
    if waivers:
        checks = apply_waivers(checks, waivers)
    result = dict(extra, checks=checks, passed=checks_passed(checks), counts=count_statuses(checks))
    result.setdefault("changed", False)
    if fail_on_failed and not result["passed"]:
        failed = [c for c in checks if c["status"] == "fail"]
        if what is None:
            message = "; ".join(" ".join(c["detail"].split()) for c in failed)
        else:
            message = "%s failed: %s" % (what, " | ".join(" ".join(("%s: %s" % (c["name"], c["detail"])).split())
                                                          for c in failed))
        raise CheckFailed(message, **result)
    return result


def check_argument_spec(*names, **defaults):
    """Argument spec of the shared check options ``names`` (``fail_on_failed``, ``statement_timeout``,
    ``on_missing_table``, ``waivers``, ``error_status``), as the ``hotdash.supabase.checks`` doc fragment documents
    them.

    ``defaults`` overrides an option's default (``fail_on_failed=True``); the module documents that override.
    """
    unknown = [n for n in list(names) + list(defaults) if n not in _CHECK_OPTIONS]
    if unknown:
        raise ValueError("no shared check option %s" % ", ".join(unknown))
    spec = dict((name, copy.deepcopy(_CHECK_OPTIONS[name])) for name in names)
    for name, value in defaults.items():
        spec[name]["default"] = value
    return spec


# -- reports --------------------------------------------------------------------------------------------------------

def normalize_check(check):
    """Validate one check and fill optional keys; raise InvalidInput naming the bad entry."""
    if not isinstance(check, dict) or not check.get("name"):
        raise InvalidInput("every check needs a name; got %r" % (check,))
    status = check.get("status")
    if status not in STATUSES:
        raise InvalidInput("check %r has status %r; use one of %s" % (check["name"], status, ", ".join(STATUSES)))
    out = dict(check)
    # Details come from Jinja templates and module results: numbers, lists or None are shown as text.
    for key in ("detail", "remedy"):
        value = out.get(key)
        out[key] = "" if value is None else value if isinstance(value, str) else str(value)
    out.setdefault("duration_ms", None)
    return out


def summarize(checks):
    counts = dict((status, 0) for status in STATUSES)
    for check in checks:
        counts[check["status"]] += 1
    return {"total": len(checks), "counts": counts, "passed": counts["fail"] == 0,
            "failed_checks": [c["name"] for c in checks if c["status"] == "fail"]}


def one_screen(title, checks, width=110):
    """A short text summary for the play output: one line per check, failures with their remedy."""
    lines = ["%s: %s" % (title, "PASSED" if summarize(checks)["passed"] else "FAILED")]
    for check in checks:
        detail = (check.get("detail") or "").replace("\n", " ")
        line = "[%s] %s: %s" % (_ICON[check["status"]], check["name"], detail)
        lines.append(line if len(line) <= width else line[:width - 3] + "...")
        if check["status"] == "fail" and check.get("remedy"):
            lines.append("       -> %s" % check["remedy"])
    return lines


def to_markdown(title, checks, meta=None):
    summary = summarize(checks)
    out = ["# %s" % title, ""]
    for key, value in sorted((meta or {}).items()):
        out.append("- **%s**: %s" % (key, value))
    out.append("- **result**: %s (%s)" % ("PASSED" if summary["passed"] else "FAILED",
                                          ", ".join("%d %s" % (n, s) for s, n in summary["counts"].items() if n)))
    out += ["", "| check | status | detail | remedy | ms |", "| --- | --- | --- | --- | --- |"]
    for check in checks:
        cells = [check["name"], _ICON[check["status"]], check.get("detail") or "", check.get("remedy") or "",
                 "" if check.get("duration_ms") is None else "%d" % check["duration_ms"]]
        out.append("| %s |" % " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells))
    return "\n".join(out) + "\n"


def to_junit(suite, checks, timestamp=None):
    summary = summarize(checks)
    total_s = sum((c.get("duration_ms") or 0) for c in checks) / 1000.0
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<testsuites name=%s tests="%d" failures="%d" skipped="%d" time="%.3f">'
             % (quoteattr(suite), summary["total"], summary["counts"]["fail"],
                summary["counts"]["skipped"] + summary["counts"]["waived"], total_s),
             '  <testsuite name=%s tests="%d" failures="%d" skipped="%d" time="%.3f" timestamp=%s>'
             % (quoteattr(suite), summary["total"], summary["counts"]["fail"],
                summary["counts"]["skipped"] + summary["counts"]["waived"], total_s,
                quoteattr((timestamp or utc_now()).strftime("%Y-%m-%dT%H:%M:%S")))]
    for check in checks:
        seconds = (check.get("duration_ms") or 0) / 1000.0
        parts.append('    <testcase classname=%s name=%s time="%.3f">'
                     % (quoteattr(suite), quoteattr(check["name"]), seconds))
        detail = check.get("detail") or ""
        if check["status"] == "fail":
            parts.append('      <failure message=%s>%s</failure>'
                         % (quoteattr(detail[:500]), escape("%s\nremedy: %s" % (detail, check.get("remedy") or ""))))
        elif check["status"] in ("skipped", "waived"):
            parts.append('      <skipped message=%s/>' % quoteattr("%s: %s" % (check["status"], detail)[:500]))
        elif check["status"] == "warn":
            parts.append('      <system-out>%s</system-out>' % escape("warning: " + detail))
        parts.append('    </testcase>')
    parts += ['  </testsuite>', '</testsuites>']
    return "\n".join(parts) + "\n"


def append_once(path, present, text, check_mode=False, what="file", mode=ARTIFACT_MODE):
    """Append ``text(current)`` to ``path`` unless ``present(current)`` says it is there already.

    Forks of many hosts append to the same run-level files (approvals.jsonl, the feedback entry): an
    exclusive lock makes the check-and-append atomic. A new file is created with ``mode`` (artifacts.py).
    Returns True when it appended (in check mode: would).
    """
    if check_mode:
        try:
            with open(path) as handle:
                return not present(handle.read())
        except (IOError, OSError):
            return True
    try:
        handle = open_append(path, mode=mode, readable=True)
    except OSError as exc:
        raise InvalidInput("cannot write %s %s: %s" % (what, path, exc.strerror))
    with handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        current = handle.read()
        if present(current):
            return False
        handle.seek(0, os.SEEK_END)
        handle.write(text(current))
        handle.flush()
    return True


def write_report(report_dir, basename, title, checks, meta=None, formats=FORMATS, secrets=()):
    """Write the report files; return ``{summary, files: {format: path}, lines}``.

    Every text written is passed through :func:`redact` so a DSN inside a detail never lands in an artifact.
    """
    simple_name(basename, "name")
    checks = [normalize_check(c) for c in checks]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InvalidInput("unknown report format(s) %s; use %s" % (", ".join(unknown), ", ".join(FORMATS)))
    try:
        make_directories(report_dir)
    except OSError as exc:
        raise InvalidInput("cannot create report directory %s: %s" % (report_dir, exc.strerror))
    files = {}
    summary = summarize(checks)
    if "json" in formats:
        files["json"] = os.path.join(report_dir, basename + ".json")
        doc = {"title": title, "meta": meta or {}, "summary": summary, "checks": checks,
               "written_at": utc_now().isoformat()}
        write_file(files["json"], redact(json.dumps(doc, indent=2, sort_keys=True, default=str), secrets))
    if "markdown" in formats:
        files["markdown"] = os.path.join(report_dir, basename + ".md")
        write_file(files["markdown"], redact(to_markdown(title, checks, meta), secrets))
    if "junit" in formats:
        files["junit"] = os.path.join(report_dir, basename + ".junit.xml")
        write_file(files["junit"], redact(to_junit(basename, checks), secrets))
    return {"summary": summary, "files": files, "lines": [redact(x, secrets) for x in one_screen(title, checks)]}
