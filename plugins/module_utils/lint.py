# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lint of the pending migrations: real PostgreSQL parsing (pglast) and dangerous-operation rules (squawk).

- Every file must parse with pglast (libpg_query, PostgreSQL's own parser); a parse error names the file
  and line.
- squawk (``squawk --reporter json``) flags operations that lock or rewrite tables. The rules listed in
  :data:`DANGEROUS_RULES` (configurable) decide the check: ``warn`` on staging, ``fail`` on production,
  unless the file carries a reviewed waiver comment ``-- hotdash:lint-waive <rule> reason: <why>``.
  Other squawk rules (style: ``prefer-bigint-over-int`` ...) are reported as notes and never fail.
- :func:`tables_touched` lists the tables a file refers to, for the lock check.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import sys

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.process import last_line, run_process
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, severity_status

try:
    import pglast
    from pglast.visitors import Visitor
    HAS_PGLAST = True
except ImportError:  # pragma: no cover - reported through missing_required_lib
    pglast = None
    Visitor = object
    HAS_PGLAST = False

# squawk rules that mean "this can lock or rewrite a table, or lose data, under load".
DANGEROUS_RULES = (
    "adding-required-field",
    "adding-not-nullable-field",
    "adding-field-with-default",
    "adding-foreign-key-constraint",
    "adding-serial-primary-key-field",
    "ban-concurrent-index-creation-in-transaction",
    "ban-drop-column",
    "ban-drop-database",
    "ban-drop-table",
    "ban-truncate-cascade",
    "changing-column-type",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "renaming-column",
    "renaming-table",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
)
WAIVER_RE = re.compile(r"--\s*hotdash:lint-waive\s+(?P<rule>[a-z0-9-]+)\s+reason:\s*(?P<reason>\S.*?)\s*$",
                       re.IGNORECASE | re.MULTILINE)
_WAIVER_NO_REASON = re.compile(r"--\s*hotdash:lint-waive\b(?!.*\breason:\s*\S)", re.IGNORECASE)


class LintError(SupabaseError):
    """squawk could not run, or a lint input is unusable."""


class LintToolMissing(LintError):
    """The squawk binary is not installed."""


def read_sql(path):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        raise InvalidInput("cannot read %s: %s" % (path, exc.strerror))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("%s is not UTF-8 text (byte %d); save it as UTF-8" % (path, exc.start))


def _line_of(text, offset):
    """1-based line of a character offset."""
    if offset is None or offset < 0:
        return None
    return text.count("\n", 0, offset) + 1


def parse_errors(text, filename):
    """``[]`` when ``text`` parses as PostgreSQL; otherwise one ``{file, line, message}``."""
    if not HAS_PGLAST:
        raise LintError("pglast is required to parse migrations: pip install pglast")
    try:
        pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        message = exc.args[0] if exc.args else str(exc)
        offset = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        # pglast already converts libpg_query's byte offset into a character offset of ``text``.
        line = _line_of(text, offset)
        return [{"file": filename, "line": line, "message": str(message).split("\n", maxsplit=1)[0]}]
    return []


class _RangeVarCollector(Visitor):
    def __init__(self):
        super(_RangeVarCollector, self).__init__()
        self.names = []

    def visit_RangeVar(self, ancestors, node):  # noqa: N802 - pglast's visitor naming
        name = node.relname if not node.schemaname else "%s.%s" % (node.schemaname, node.relname)
        if name not in self.names:
            self.names.append(name)


def tables_touched(text):
    """Tables (``schema.table`` or ``table``) the SQL refers to; [] when it does not parse."""
    if not HAS_PGLAST:
        return []
    try:
        tree = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return []
    collector = _RangeVarCollector()
    collector(tree)
    return collector.names


def waivers_in(text):
    """``{rule: reason}`` from ``-- hotdash:lint-waive <rule> reason: <why>`` comments in ``text``."""
    return dict((m.group("rule").lower(), m.group("reason")) for m in WAIVER_RE.finditer(text))


def unreviewed_waivers(text):
    """Waiver comments without a reason: they do not count."""
    return [line.strip() for line in text.splitlines() if _WAIVER_NO_REASON.search(line)]


def find_squawk(path=None):
    """The squawk binary: explicit path, beside this Python (the squawk-cli wheel), or on PATH."""
    candidates = [path] if path else [os.path.join(os.path.dirname(sys.executable), "squawk"), shutil.which("squawk")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise LintToolMissing("squawk not found%s: pip install squawk-cli (it provides the squawk binary)"
                          % (" at %s" % path if path else ""))


def squawk_findings(paths, squawk=None, assume_in_transaction=True, pg_version=None, exclude_rules=(), timeout=120):
    """Run squawk once over ``paths``; return ``[{file, line, rule, level, message, help}]`` (lines 1-based)."""
    if not paths:
        return []
    binary = find_squawk(squawk)
    argv = [binary, "--reporter", "json"]
    if assume_in_transaction:
        argv.append("--assume-in-transaction")
    if pg_version:
        argv += ["--pg-version", str(pg_version)]
    if exclude_rules:
        argv += ["--exclude", ",".join(exclude_rules)]
    argv += list(paths)
    # squawk exits 1 when it found something; only output that is not JSON is a failure.
    proc = run_process(argv, "squawk (%d file(s))" % len(paths), timeout=timeout, cwd="/", error=LintError,
                       check=False, install_hint="pip install squawk-cli")
    try:
        items = json.loads(proc.stdout or "[]")
    except ValueError:
        raise LintError("squawk failed (exit %d): %s" % (proc.rc, last_line(proc.stderr or proc.stdout, 200)))
    out = []
    for item in items:
        out.append({"file": item.get("file"), "line": (item.get("line") or 0) + 1, "rule": item.get("rule_name"),
                    "level": item.get("level"), "message": item.get("message"), "help": item.get("help")})
    return out


def lint_files(files, environment="staging", severity="auto", dangerous_rules=DANGEROUS_RULES, exclude_rules=(),
               squawk=None, assume_in_transaction=True, pg_version=None):
    """Lint ``files`` (the pending migrations). Returns a dict:

    ``{files, parse_errors, findings, dangerous, waived, notes, tables, status}`` where ``status`` is
    ``ok``, ``warn`` or ``fail`` (severity per environment, see report.severity_status).
    """
    texts, parse_errs, tables = {}, [], []
    for path in files:
        if not os.path.isfile(path):
            raise InvalidInput("migration file not found: %s" % path)
        texts[path] = read_sql(path)
        parse_errs.extend(parse_errors(texts[path], os.path.basename(path)))
        for name in tables_touched(texts[path]):
            if name not in tables:
                tables.append(name)
    abspaths = dict((os.path.abspath(p), p) for p in files)
    findings = []
    for item in squawk_findings(list(abspaths), squawk=squawk, assume_in_transaction=assume_in_transaction,
                                pg_version=pg_version, exclude_rules=exclude_rules):
        if item["rule"] == "syntax-error":
            continue  # pglast (the real parser) is the authority on syntax
        original = abspaths.get(os.path.abspath(item["file"] or ""), item["file"])
        waivers = waivers_in(texts.get(original, ""))
        item["file"] = os.path.basename(original or "")
        item["dangerous"] = item["rule"] in dangerous_rules
        item["waived"] = item["rule"] in waivers
        if item["waived"]:
            item["waiver_reason"] = waivers[item["rule"]]
        findings.append(item)
    dangerous = [f for f in findings if f["dangerous"] and not f["waived"]]
    waived = [f for f in findings if f["dangerous"] and f["waived"]]
    notes = [f for f in findings if not f["dangerous"]]
    unreviewed = dict((os.path.basename(p), unreviewed_waivers(t)) for p, t in texts.items() if unreviewed_waivers(t))
    if parse_errs:
        status = "fail"
    elif dangerous:
        status = severity_status(environment, severity)
    else:
        status = "ok"
    return {"files": [os.path.basename(p) for p in files], "parse_errors": parse_errs, "findings": findings,
            "dangerous": dangerous, "waived": waived, "notes": notes, "tables": tables, "status": status,
            "unreviewed_waivers": unreviewed}


def lint_check(result, environment):
    """The ``lint`` check from a :func:`lint_files` result."""
    data = {"parse_errors": result["parse_errors"], "dangerous": result["dangerous"], "waived": result["waived"],
            "notes": len(result["notes"])}
    if not result["files"]:
        return make_check("lint", "ok", "no pending migration to lint", data=data)
    if result["parse_errors"]:
        first = result["parse_errors"][0]
        return make_check("lint", "fail", "%d file(s) do not parse as PostgreSQL; first: %s line %s: %s" % (
            len(result["parse_errors"]), first["file"], first["line"], first["message"]),
            "fix the SQL (it would fail on apply); run it against a local database to see the full error", data=data)
    if result["dangerous"]:
        shown = brief(("%s line %d: %s" % (f["file"], f["line"], f["rule"]) for f in result["dangerous"]), 4, sep="; ")
        detail = "%d dangerous operation(s) in %d file(s) (%s): %s" % (
            len(result["dangerous"]), len(set(f["file"] for f in result["dangerous"])), environment, shown)
        return make_check("lint", result["status"], detail,
                          "rewrite the statement the safe way (see squawk's help for the rule), or after review add "
                          "'-- hotdash:lint-waive <rule> reason: <why>' to the file", data=data)
    extra = " (%d waived by reviewed comment)" % len(result["waived"]) if result["waived"] else ""
    return make_check("lint", "ok", "%d file(s) parse; no unwaived dangerous operation%s; %d style note(s)" % (
        len(result["files"]), extra, len(result["notes"])), data=data)


def verify_files_check(paths, project_dir=None):
    """The ``verify_files`` check: the RLS tests and integrity queries the verify role will run exist and parse."""
    if not paths:
        return make_check("verify_files", "skipped", "no RLS test or integrity query file configured")
    missing, broken, ok = [], [], []
    for path in paths:
        full = path if os.path.isabs(path) or not project_dir else os.path.join(project_dir, path)
        if not os.path.isfile(full):
            missing.append(path)
            continue
        if full.endswith(".sql"):
            try:
                errs = parse_errors(read_sql(full), path)
            except InvalidInput as exc:
                errs = [{"file": path, "line": None, "message": str(exc)}]
            if errs:
                broken.append("%s line %s: %s" % (path, errs[0]["line"], errs[0]["message"]))
                continue
        elif not os.access(full, os.X_OK):
            broken.append("%s is not executable" % path)
            continue
        ok.append(path)
    data = {"ok": ok, "missing": missing, "broken": broken}
    if missing or broken:
        return make_check("verify_files", "fail", "; ".join(
            (["missing: %s" % ", ".join(missing)] if missing else []) + (["broken: %s" % "; ".join(broken)]
                                                                         if broken else [])),
            "write or fix the RLS tests / integrity queries before applying, or change supabase_verify_* paths",
            data=data)
    return make_check("verify_files", "ok", "%d file(s) present and parse: %s" % (len(ok), ", ".join(ok)), data=data)
