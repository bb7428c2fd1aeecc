# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Migration readiness checks of the preflight: drift, naming, order, rollback and the promotion gate.

- ``drift`` (P0): no remote-only versions, no duplicate local versions, no applied migration whose file changed.
- ``naming``: 14-digit ``YYYYMMDDHHMMSS`` versions; fails in production by default, warns elsewhere.
- ``order``: every pending version is newer than the newest applied one, unless out-of-order is allowed.
- ``rollback``: each pending migration has a rollback under the chosen strategy, named as the rollback role
  names it (``rollback.STRATEGIES``, or ``none``); production also needs a successful rollback exercise on
  staging covering the pending versions (``hotdash_audit.rollback_exercises`` in the staging database,
  written by the rollback role).
- ``promotion``: production only applies what staging already has, with identical statements (staging's
  ``supabase_migrations.schema_migrations``): the runbook's "only proceed if staging apply completed
  successfully", made checkable.

Reads only: the target and staging connections are opened read-only.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.hotdash.supabase.plugins.module_utils import audit
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.drift import misnamed_message, read_state
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.history import read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.migrations import (DOWN_SUFFIX, default_rollback_dir,
                                                                                  find_down_script, load_directory,
                                                                                  version_sort_key)
from ansible_collections.hotdash.supabase.plugins.module_utils.down_scripts import parse_reverts_header, read_script
from ansible_collections.hotdash.supabase.plugins.module_utils.rollback import RESET_ENVIRONMENTS, STRATEGIES
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check, severity_status

# The rollback role's strategies, plus "none" (no rollback chosen: the check fails while anything is pending).
ROLLBACK_STRATEGIES = STRATEGIES + ("none",)
_VALID_STRATEGIES = "down_scripts, logical_restore, supabase_pitr or staging_reset (staging/local only)"


# -- individual checks (pure: no database) ----------------------------------------------------------------------------

def drift_check(local, report):
    """P0 from a LocalDirectory and a DriftReport."""
    remote_only = [r.version for r in report.remote_only]
    changed = list(report.content_changed)
    duplicates = dict(local.duplicates)
    data = {"state_counts": dict(report.state_counts), "remote_only": remote_only, "content_changed": changed,
            "duplicates": duplicates}
    problems, remedies = [], []
    if remote_only:
        problems.append("%d version(s) applied on the database but missing locally: %s"
                        % (len(remote_only), brief(remote_only)))
        remedies.append("pull them (supabase db pull) or mark them reverted (hotdash.supabase.migration_repair) "
                        "as the manager decided (runbook P0 options A-C)")
    if duplicates:
        problems.append(local.duplicate_message([]) or "duplicate versions %s" % brief(duplicates))
        remedies.append("rename the duplicates as suggested")
    if changed:
        problems.append("%d applied migration(s) changed locally since they were applied: %s"
                        % (len(changed), brief(changed)))
        remedies.append("restore the applied file contents; put new changes in a new migration")
    if problems:
        return make_check("drift", "fail", "; ".join(problems), "; ".join(remedies), data=data)
    pending = len(report.pending)
    return make_check("drift", "ok", "local and remote agree: %d applied, %d pending" % (
        report.state_counts.get("applied", 0), pending), data=data)


def naming_check(local, environment, severity="auto"):
    """14-digit versions, and no ``.sql`` file the CLI ignores for its name (it would never be applied)."""
    naming = local.naming
    data = dict(naming, ignored=local.misnamed)
    if not naming["non_compliant"] and not local.misnamed:
        return make_check("naming", "ok", "%d/%d migration file names use 14-digit YYYYMMDDHHMMSS versions" % (
            naming["compliant"], naming["total"]), data=data)
    parts = []
    if naming["non_compliant"]:
        shown = brief("%s -> %s" % (n["file"], n["suggested"] or "?") for n in naming["non_compliant"])
        parts.append("%.0f%% compliant (%d/%d); rename: %s" % (
            naming["percent"], naming["compliant"], naming["total"], shown))
    if local.misnamed:
        parts.append(misnamed_message(local))
    return make_check("naming", severity_status(environment, severity), "; ".join(parts),
                      "rename the files to the suggested 14-digit versions before they are applied anywhere",
                      data=data)


def order_check(pending_versions, applied_versions, allow_out_of_order=False):
    applied = sorted(applied_versions, key=version_sort_key)
    newest = applied[-1] if applied else None
    late = [v for v in pending_versions if newest is not None and version_sort_key(v) <= version_sort_key(newest)]
    data = {"newest_applied": newest, "out_of_order": late, "allow_out_of_order": bool(allow_out_of_order)}
    if not late:
        return make_check("order", "ok", "%d pending version(s) all newer than the newest applied (%s)" % (
            len(pending_versions), newest or "none"), data=data)
    detail = "%d pending version(s) older than the newest applied %s: %s" % (len(late), newest, brief(late))
    if allow_out_of_order:
        return make_check("order", "warn", detail + " (out-of-order apply explicitly allowed)",
                          "make sure they do not depend on later migrations", data=data)
    return make_check("order", "fail", detail,
                      "give them new versions newer than %s, or allow out-of-order apply explicitly "
                      "(supabase db push --include-all)" % newest, data=data)


def rollback_script_problem(path, pending_versions):
    """Why the runbook's single rollback script cannot revert ``pending_versions`` (None when it can).

    The rollback role runs it with the history rows of the versions its ``-- reverts:`` header names, and
    refuses a script whose header misses a version it is asked to revert; the preflight checks the same.
    """
    if not os.path.isfile(path):
        return "rollback script %s not found" % path
    try:
        listed = parse_reverts_header(read_script(path, "rollback script")[0])
    except InvalidInput as exc:
        return str(exc)
    if not listed:
        return "rollback script %s names no versions in a '-- reverts:' header" % path
    missing = [v for v in pending_versions if v not in listed]
    if missing:
        return "rollback script %s does not revert %s (its header names %s)" % (path, brief(missing), brief(listed))
    return None


def rollback_check(pending_versions, strategy, environment, rollback_dir=None, rollback_script=None,
                   backup_path=None, pitr_enabled=False, exercises=None, require_exercise=None):
    """Is each pending migration covered by a rollback, and (production) was it exercised on staging?

    ``strategy`` is one the rollback role runs (down_scripts, logical_restore, supabase_pitr, staging_reset), or
    ``none``. With ``down_scripts``, ``rollback_script`` (the runbook's ``scripts/rollback_migrations_<date>.sql``)
    replaces the per-version down scripts in ``rollback_dir``.
    """
    if strategy not in ROLLBACK_STRATEGIES:
        raise InvalidInput("rollback strategy %r is not one of %s" % (strategy, ", ".join(ROLLBACK_STRATEGIES)))
    if require_exercise is None:
        require_exercise = environment == "production"
    data = {"strategy": strategy, "pending": list(pending_versions)}
    if not pending_versions:
        return make_check("rollback", "ok", "nothing pending, nothing to roll back", data=data)
    problems, remedy = [], ""
    if strategy == "none":
        problems.append("no rollback strategy chosen")
        remedy = "choose supabase_preflight_rollback_strategy (default: supabase_rollback_strategy): %s" \
                 % _VALID_STRATEGIES
    elif strategy == "down_scripts" and rollback_script:
        data["rollback_script"] = rollback_script
        problem = rollback_script_problem(rollback_script, pending_versions)
        if problem:
            problems.append(problem)
            remedy = "write the rollback script (runbook: scripts/rollback_migrations_<date>.sql) with a header " \
                     "line '-- reverts: <version>, ...' naming every pending version"
    elif strategy == "down_scripts":
        scripts, missing = {}, []
        for version in pending_versions:
            path = find_down_script(None, version, rollback_dir=rollback_dir) if rollback_dir else None
            if path:
                scripts[version] = path
            else:
                missing.append(version)
        data["down_scripts"] = scripts
        if missing:
            problems.append("no down script in %s for %s" % (rollback_dir, brief(missing)))
            remedy = "write %s/<version>_<name>%s for each (kept out of supabase/migrations so the CLI never " \
                     "applies it)" % (rollback_dir, DOWN_SUFFIX)
    elif strategy == "logical_restore":
        data["backup_path"] = backup_path
        if not backup_path or not os.path.isfile(backup_path):
            problems.append("no fresh logical backup to restore (%s)" % (backup_path or "none taken"))
            remedy = "use the backup check with provider pg_dump so a verified dump is taken before the apply"
    elif strategy == "supabase_pitr":
        data["pitr_enabled"] = bool(pitr_enabled)
        if not pitr_enabled:
            problems.append("point-in-time recovery is not enabled on the Supabase project")
            remedy = "enable the PITR add-on, or choose another rollback strategy"
    elif strategy == "staging_reset" and environment not in RESET_ENVIRONMENTS:
        problems.append("staging_reset drops and re-creates the schema, which the rollback role allows only in %s, "
                        "not in %s" % (" or ".join(RESET_ENVIRONMENTS), environment))
        remedy = "choose down_scripts, logical_restore or supabase_pitr for %s" % environment
    exercise = None
    if require_exercise and not problems:
        exercise = audit.covered_by_exercise(exercises or [], pending_versions)
        if exercise is None:
            problems.append("no successful rollback exercise on staging covers %s" % brief(pending_versions))
            remedy = "run the rollback role on staging for these versions (it records the exercise), then re-run"
        else:
            data["exercise"] = {"id": exercise.get("id"), "strategy": exercise.get("strategy"),
                                "exercised_at": str(exercise.get("exercised_at")), "run_id": exercise.get("run_id")}
    if problems:
        return make_check("rollback", "fail", "; ".join(problems), remedy, data=data)
    detail = "%d pending migration(s) covered by strategy %s" % (len(pending_versions), strategy)
    if exercise:
        detail += "; exercised on staging at %s" % exercise.get("exercised_at")
    return make_check("rollback", "ok", detail, data=data)


def promotion_gate(pending, staging_rows, environment):
    """``pending``: LocalMigration list; ``staging_rows``: staging's HistoryRow list."""
    staged = dict((row.version, row) for row in staging_rows)
    missing, different = [], []
    for migration in pending:
        row = staged.get(migration.version)
        if row is None:
            missing.append(migration.version)
        elif list(row.statements or []) != list(migration.statements()):
            different.append(migration.version)
    data = {"environment": environment, "missing_on_staging": missing, "different_on_staging": different,
            "checked": [m.version for m in pending]}
    problems = []
    if missing:
        problems.append("%d pending version(s) not applied on staging: %s" % (len(missing), brief(missing)))
    if different:
        problems.append("%d version(s) applied on staging with different statements: %s" % (
            len(different), brief(different)))
    if problems:
        return make_check("promotion", "fail", "; ".join(problems),
                          "apply exactly these files to staging first and verify there (runbook: only proceed if "
                          "the staging apply completed with 0 errors)", data=data)
    return make_check("promotion", "ok", "all %d pending migration(s) already applied on staging with identical "
                      "statements" % len(pending), data=data)


# -- orchestration ----------------------------------------------------------------------------------------------------

def _read_only_connection(settings, purpose):
    conn = connect(settings, application_name="hotdash.supabase preflight (%s)" % purpose)
    conn.set_session(readonly=True, autocommit=True)
    return conn


def readiness(settings, project_dir, environment, staging_settings=None, rollback_strategy="down_scripts",
              rollback_dir=None, rollback_script=None, backup_path=None, pitr_enabled=False,
              allow_out_of_order=False, require_exercise=None, promotion_gate_enabled=None, naming_severity="auto"):
    """Run drift, naming, order, rollback and promotion; return ``(checks, facts)``."""
    local = load_directory(project_dir)  # a wrong path fails before any connection
    conn = _read_only_connection(settings, "target")
    try:
        remote, report = read_state(conn, local)[1:]
    finally:
        conn.close()
    pending = list(report.pending)
    pending_versions = [m.version for m in pending]
    applied_versions = [r.version for r in remote]
    if rollback_dir is None:
        rollback_dir = default_rollback_dir(project_dir)
    if promotion_gate_enabled is None:
        promotion_gate_enabled = environment == "production"
    if require_exercise is None:
        require_exercise = environment == "production"

    staging_rows, exercises, staging_error = None, [], None
    if (promotion_gate_enabled or require_exercise) and pending:
        if staging_settings is None:
            staging_error = "no staging connection (supabase_staging_db_url) to read the promotion evidence from"
        else:
            try:
                sconn = _read_only_connection(staging_settings, "staging")
            except Exception as exc:  # ConnectionFailed: recorded as a failed check, not raised
                staging_error = str(exc)
            else:
                try:
                    with sconn.cursor() as cur:
                        staging_rows = read_history(cur)
                        exercises = audit.rollback_exercises(cur, environment="staging")
                finally:
                    sconn.close()

    checks = [drift_check(local, report), naming_check(local, environment, naming_severity),
              order_check(pending_versions, applied_versions, allow_out_of_order)]
    if require_exercise and staging_error:
        checks.append(make_check("rollback", "fail", "cannot check the staging rollback exercise: %s" % staging_error,
                                 "set supabase_staging_db_url (the staging database) for production preflight"))
    else:
        checks.append(rollback_check(pending_versions, rollback_strategy, environment, rollback_dir=rollback_dir,
                                     rollback_script=rollback_script, backup_path=backup_path,
                                     pitr_enabled=pitr_enabled, exercises=exercises,
                                     require_exercise=require_exercise))
    if not promotion_gate_enabled:
        checks.append(make_check("promotion", "skipped", "promotion gate applies to production only"))
    elif not pending:
        checks.append(make_check("promotion", "ok", "nothing pending to promote"))
    elif staging_error:
        checks.append(make_check("promotion", "fail", "cannot read staging's migration history: %s" % staging_error,
                                 "set supabase_staging_db_url to the staging database for production preflight"))
    else:
        checks.append(promotion_gate(pending, staging_rows, environment))
    facts = {"pending": pending_versions,
             "pending_files": [m.path for m in pending],
             "applied_count": len(applied_versions),
             "newest_applied": sorted(applied_versions, key=version_sort_key)[-1] if applied_versions else None,
             "migrations_dir": local.path, "rollback_dir": rollback_dir}
    return checks, facts
