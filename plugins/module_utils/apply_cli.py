# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CLI apply engine: the real ``supabase db push --yes``, and what it recorded read back from the history.

``--db-url`` carries no password (the CLI reads ``PGPASSWORD``). When only some pending files may be pushed
(``target_version``) or the migrations directory is not inside a project, the push runs in a temporary
project holding just those files.

A CLI that dies (killed, or ended because the run is gone) leaves its database session running what it had
already sent, and that session commits after the CLI is dead: it is ended (``apply_outcome``) before the
history is read back, so what is reported stays true.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.apply_outcome import end_orphaned_sessions
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact, redact_all
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ApplyError, ApplyStopped
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.process import exit_description
from ansible_collections.hotdash.supabase.plugins.module_utils.sql_guard import statement_secrets


def _staged_workdir(local, keep_versions):
    """A temporary project holding only the migrations the push may see (for target_version or a bare dir)."""
    root = tempfile.mkdtemp(prefix="hotdash-push-")
    target = os.path.join(root, "supabase", "migrations")
    os.makedirs(target)
    source_root = local.project_dir
    if source_root and os.path.isfile(os.path.join(source_root, "supabase", "config.toml")):
        shutil.copy2(os.path.join(source_root, "supabase", "config.toml"), os.path.join(root, "supabase"))
    for migration in local.migrations:
        if migration.version in keep_versions:
            shutil.copy2(migration.path, os.path.join(target, migration.filename))
    return root


def apply_with_cli(cli, conn, settings, local, planned, options, log, result, read_history_rows, stop=None):
    """Run ``supabase db push`` for ``planned`` and read back from the history what it recorded. ``stop``: the
    CLI is ended when it gives a reason (the run is gone), and ApplyStopped says what committed before."""
    version = result["cli_version"]
    if not planned:
        return
    before = set(row.version for row in read_history_rows(conn))
    planned_versions = set(p.version for p in planned)
    root = local.project_dir
    staged = None
    if options.target_version is not None or root is None:
        staged = _staged_workdir(local, before | planned_versions)
        root = staged
    args = ["db", "push", "--yes"] + (["--include-all"] if options.include_all else [])
    log.write("running supabase %s (CLI %s) in %s" % (" ".join(args), version, root))
    started = time.monotonic()
    try:
        outcome = cli.run(args, settings=settings, cwd=root, workdir=root, check=False, stop=stop)
    finally:
        if staged:
            shutil.rmtree(staged, ignore_errors=True)
    elapsed = int(round((time.monotonic() - started) * 1000))
    # The CLI repeats a failing statement ("At statement ..."): a password literal in it stays out of the log,
    # the result and the message.
    hidden = statement_secrets([s for p in planned for s in p.statements])
    for line in outcome.stderr.splitlines():
        if line.strip():
            log.write("  cli: %s" % redact(line.strip(), hidden))
    ended = []
    if outcome.rc != 0:
        conn.autocommit = True
        with conn.cursor() as cur:
            ended = end_orphaned_sessions(cur, [s for p in planned for s in p.statements], log)
    remote_after = read_history_rows(conn)
    by_version = dict((p.version, p) for p in planned)
    new_rows = [row for row in remote_after if row.version not in before]
    for row in new_rows:
        item = by_version.get(row.version)
        result["applied"].append(dict(version=row.version, name=row.name, file=item.filename if item else None,
                                      duration_ms=None, attempts=1))
    result["duration_ms"] = elapsed
    result["cli_output"] = redact_all(outcome.data, hidden)
    if outcome.rc != 0:
        failed = next((p for p in planned if p.version not in set(r.version for r in new_rows)), None)
        at = " at %s" % failed.filename if failed else ""
        after = (" (its session, pid %s, was ended so nothing it had sent commits later)" % brief(ended, 3)
                 if ended else "")
        details = dict(failed_version=failed.version if failed else None,
                       failed_file=failed.filename if failed else None, cli_version=version, partial=False)
        reason = stop() if stop is not None else None
        if reason:
            raise ApplyStopped("stopped during supabase db push%s: %s; the CLI was ended%s" % (at, reason, after),
                               stopped=reason, cause=reason, **details)
        cause = ("the Supabase CLI %s" % exit_description(outcome.rc) if outcome.rc < 0
                 else redact(cli.error_message(outcome), hidden))
        raise ApplyError("supabase db push failed%s: %s%s" % (at, cause, after), cause=cause, **details)
    missing = [p.filename for p in planned if p.version not in set(r.version for r in new_rows)]
    if missing:
        raise ApplyError("supabase db push exited 0 but did not record %s in the history; check the log %s"
                         % (brief(missing, 3), log.path))
