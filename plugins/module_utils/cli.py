# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Supabase CLI as a child process: find it, check its version, run it safely.

- The binary is resolved once: explicit path > ``SUPABASE_CLI`` environment variable > ``supabase`` on PATH.
- ``--db-url`` is built from :class:`ConnectionSettings` *without* the password; the CLI (pgx) reads
  ``PGPASSWORD`` from its environment, so the password never appears in argv (``ps``) or in output.
- Telemetry is off, stdin is closed (a prompt can never hang a run), every text in an error is redacted.
- ``--output-format json`` is asked for when wanted; CLIs that predate the flag are retried without it
  and their text output is returned as is (callers parse it, see :func:`parse_push_text`).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
from collections import namedtuple

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError
from ansible_collections.hotdash.supabase.plugins.module_utils.process import run_process

# The runbook's minimum; the collection installs PINNED_VERSION (make setup).
MINIMUM_CLI_VERSION = "2.48.3"
PINNED_VERSION = "2.122.1"
CLI_ENV = "SUPABASE_CLI"

_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")
_APPLYING_RE = re.compile(r"Applying migration ([0-9]+_[^\s]*?\.sql)")
_UNKNOWN_FLAG = "unknown flag: --output-format"

CliResult = namedtuple("CliResult", ["rc", "stdout", "stderr", "data"])


def cli_argument_spec():
    """``cli_path`` and ``minimum_cli_version``, documented by the ``hotdash.supabase.cli`` doc fragment."""
    return dict(cli_path=dict(type="path"), minimum_cli_version=dict(type="str", default=MINIMUM_CLI_VERSION))


def parse_version(text):
    """``"2.122.1"``, ``"v2.122.1"`` or ``"supabase 2.122.1\\n"`` -> ``(2, 122, 1)``; CliError when none."""
    match = _VERSION_RE.search(str(text or ""))
    if not match:
        raise CliError("cannot read a version from %r" % (redact(str(text or "").strip()[:80]),))
    return tuple(int(part or 0) for part in match.groups())


def version_at_least(have, want):
    """True when version ``have`` >= ``want`` (strings or tuples)."""
    have = parse_version(have) if not isinstance(have, tuple) else have
    want = parse_version(want) if not isinstance(want, tuple) else want
    return have >= want


def format_version(version):
    return ".".join(str(part) for part in version) if isinstance(version, tuple) else str(version)


def one_line(text, limit=400):
    """Collapse a multi-line message into one line, bounded in length."""
    parts = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    line = "; ".join(parts)
    return line if len(line) <= limit else line[:limit - 3] + "..."


def parse_json_output(stdout):
    """The JSON document the CLI printed with ``--output-format json`` (last JSON line), or None."""
    text = (stdout or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def parse_push_text(text):
    """What an older CLI's text output of ``db push`` says: migration files it started applying, up-to-date."""
    return {
        "migrations": _APPLYING_RE.findall(text or ""),
        "upToDate": "up to date" in (text or "").lower(),
    }


class SupabaseCli(object):
    """A resolved Supabase CLI binary."""

    def __init__(self, path=None, timeout=600):
        self.timeout = timeout
        self.path = self._resolve(path)
        self._version = None

    @staticmethod
    def _resolve(path):
        candidate = path or os.environ.get(CLI_ENV) or "supabase"
        source = "path" if path else ("$%s" % CLI_ENV if os.environ.get(CLI_ENV) else "PATH")
        if os.sep in candidate:
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return os.path.abspath(candidate)
            raise CliError("Supabase CLI not found: %s (from %s) is not an executable file; install the pinned CLI "
                           "(make setup) or set supabase_cli_path" % (candidate, source))
        found = shutil.which(candidate)
        if not found:
            raise CliError("Supabase CLI not found: %r is not on PATH; install the pinned CLI %s (make setup) or set "
                           "%s / supabase_cli_path" % (candidate, PINNED_VERSION, CLI_ENV))
        return found

    @staticmethod
    def base_env(settings=None):
        env = dict(os.environ)
        env.update(SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1", NO_COLOR="1")
        for key in ("PGPASSWORD", "PGSSLMODE", "PGCONNECT_TIMEOUT"):
            env.pop(key, None)
        if settings is not None:
            env = settings.child_env(env)
        return env

    def _exec(self, argv, env, cwd, secrets, stop=None):
        outcome = run_process(argv, "supabase %s" % " ".join(argv[1:3]), timeout=self.timeout, env=env, cwd=cwd,
                              secrets=secrets, error=CliError, check=False, stop=stop,
                              install_hint="install the pinned CLI (make setup) or set supabase_cli_path")
        return outcome.rc, outcome.stdout, outcome.stderr

    def version(self):
        """The CLI's version string, e.g. ``"2.122.1"`` (cached)."""
        if self._version is None:
            rc, stdout, stderr = self._exec([self.path, "--version"], self.base_env(), None, ())
            if rc != 0:
                raise CliError("Supabase CLI %s --version failed (rc %d): %s" % (self.path, rc, one_line(stderr or stdout)))
            self._version = format_version(parse_version(stdout or stderr))
        return self._version

    def require_version(self, minimum=MINIMUM_CLI_VERSION):
        """Raise CliError naming both versions when the CLI is older than ``minimum``; return the version."""
        have = self.version()
        if not version_at_least(have, minimum):
            raise CliError("Supabase CLI %s is %s, older than the required minimum %s; install the pinned %s "
                           "(make setup) or set supabase_cli_path" % (self.path, have, minimum, PINNED_VERSION),
                           cli_path=self.path, cli_version=have, minimum_cli_version=minimum)
        return have

    def run(self, args, settings=None, cwd=None, json_output=True, check=True, workdir=None, stop=None):
        """Run ``supabase <args>``; returns CliResult(rc, stdout, stderr, data) with every text redacted.

        With ``settings`` the command gets ``--db-url`` (no password in it) and ``PGPASSWORD``.
        With ``check`` a non-zero exit raises CliError with the CLI's own message on one line.
        ``stop``: see process.run_process (the CLI is ended when it returns a reason; rc is then negative).
        """
        secrets = settings.secrets() if settings is not None else []
        argv = [self.path] + [str(arg) for arg in args]
        if settings is not None:
            argv += ["--db-url", settings.url(with_password=False)]
        if workdir:
            argv += ["--workdir", str(workdir)]
        env = self.base_env(settings)
        if json_output:
            rc, stdout, stderr = self._exec(argv + ["--output-format", "json"], env, cwd, secrets, stop)
            if rc != 0 and _UNKNOWN_FLAG in (stderr + stdout):
                json_output = False  # a CLI older than the flag: fall back to its text output
        if not json_output:
            rc, stdout, stderr = self._exec(argv, env, cwd, secrets, stop)
        data = parse_json_output(stdout) if json_output else None
        result = CliResult(rc, stdout, stderr, data)
        if check and rc != 0:
            raise CliError("supabase %s failed (rc %d): %s" % (" ".join(str(a) for a in args[:2]), rc,
                                                               self.error_message(result)),
                           cli_rc=rc, cli_stderr=one_line(stderr, 2000))
        return result

    @staticmethod
    def error_message(result):
        """The CLI's own reason for a failure, on one line."""
        data = result.data
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            error = data["error"]
            code = error.get("code")
            message = one_line(error.get("message") or "")
            return "%s: %s" % (code, message) if code else message
        lines = [line for line in (result.stderr or "").splitlines() if line.strip()
                 and not line.startswith("Try rerunning the command")]
        errors = [i for i, line in enumerate(lines) if "error" in line.lower()]
        if errors:
            return one_line("\n".join(lines[errors[0]:errors[0] + 3]))
        return one_line("\n".join(lines[-3:]) or result.stdout or "no output")

    def info(self, minimum=MINIMUM_CLI_VERSION):
        """Facts for reports: path, version, minimum and whether it is met."""
        have = self.version()
        return dict(path=self.path, version=have, minimum_cli_version=minimum,
                    meets_minimum=version_at_least(have, minimum))
