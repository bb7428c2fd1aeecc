# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small client for the Supabase Management API (https://api.supabase.com).

Used by the backup freshness check (``list_backups``, read by ``backup.backup_freshness``) and by the rollback role's point-in-time
restore (``restore_pitr``, then ``wait_for_restore``: it begins, then it finishes). The access token is
sent as a bearer token and never appears in a message, result or log: every error text goes through
:func:`redact` with the token as a known secret. 429 and 5xx answers (and refused connections) are retried with
exponential backoff, honouring ``Retry-After``; 401/403/404 fail at once with one line that says
what to do.

The hosted API cannot be reached from CI; tests run this client against the local fake in
``tests/support/fake_management_api.py``, which speaks the documented shapes.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError
from ansible_collections.hotdash.supabase.plugins.module_utils.http_json import JsonApi

DEFAULT_BASE_URL = "https://api.supabase.com"
# Project statuses the Management API documents (V1ProjectResponse.status).
PROJECT_STATUSES = ("ACTIVE_HEALTHY", "ACTIVE_UNHEALTHY", "COMING_UP", "GOING_DOWN", "INACTIVE", "INIT_FAILED",
                    "REMOVED", "RESTARTING", "UNKNOWN", "UPGRADING", "PAUSING", "RESTORING", "RESTORE_FAILED",
                    "PAUSE_FAILED", "RESIZING")
# Statuses after which waiting longer cannot help.
TERMINAL_FAILURES = ("INIT_FAILED", "REMOVED", "RESTORE_FAILED", "PAUSE_FAILED")
_REF_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
SERVICE = "Supabase Management API"


class ManagementApiError(SupabaseError):
    """The Management API refused the request, or could not be reached after the retries."""


def _describe_status(status, where, reason):
    """What to do about the answers a user can fix (the JSON client words the others)."""
    if status == 401:
        return ("Supabase Management API rejected the access token (401) on %s; create a new token at "
                "https://supabase.com/dashboard/account/tokens" % where)
    if status == 403:
        return ("Supabase Management API denied %s (403): the token's account has no access to this project%s"
                % (where, reason))
    if status == 404:
        return "Supabase Management API found nothing at %s (404): check project_ref%s" % (where, reason)
    return None


def _check_ref(ref):
    if not ref or not _REF_RE.match(str(ref)):
        raise InvalidInput("project_ref %r is not a Supabase project reference (lowercase letters and digits, "
                           "as in https://<ref>.supabase.co)" % (ref,))
    return str(ref)


class ManagementApi(object):
    """Client bound to one access token.

    ``sleep`` and ``clock`` are injectable so retries and waits are testable without waiting.
    """

    def __init__(self, access_token, base_url=DEFAULT_BASE_URL, timeout=30, retries=3, backoff=1.0,
                 validate_certs=True, sleep=time.sleep, clock=time.monotonic):
        if not access_token:
            raise InvalidInput("a Supabase access token is required (option access_token or env SUPABASE_ACCESS_TOKEN); "
                               "create one at https://supabase.com/dashboard/account/tokens")
        if not base_url or not re.match(r"^https?://", base_url):
            raise InvalidInput("api_url must start with http:// or https:// (got %r)" % (base_url,))
        self.base_url = base_url.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self.http = JsonApi(SERVICE, self.base_url, headers={"Authorization": "Bearer " + access_token},
                            secrets=[access_token], timeout=timeout, retries=retries, backoff=backoff,
                            validate_certs=validate_certs, sleep=sleep, error=ManagementApiError,
                            describe_status=_describe_status)

    @property
    def requests_made(self):
        return self.http.requests_made

    def request(self, method, path, body=None):
        """Send one request (with retries); return the decoded JSON body, or None for an empty body."""
        return self.http.request(method, path, body)

    # -- endpoints -------------------------------------------------------------------------------------------------

    def list_backups(self, ref):
        """``GET /v1/projects/{ref}/database/backups``: ``{region, walg_enabled, pitr_enabled, backups: [...],
        physical_backup_data: {earliest_physical_backup_date_unix, latest_physical_backup_date_unix}}``."""
        data = self.request("GET", "/v1/projects/%s/database/backups" % _check_ref(ref))
        if not isinstance(data, dict):
            raise ManagementApiError("Supabase Management API returned an unexpected backups answer for %s" % ref)
        data.setdefault("backups", [])
        data.setdefault("pitr_enabled", False)
        data.setdefault("walg_enabled", False)
        data.setdefault("physical_backup_data", {})
        return data

    def project(self, ref):
        """``GET /v1/projects/{ref}``: the project, including ``status`` (e.g. ``ACTIVE_HEALTHY``, ``RESTORING``)."""
        data = self.request("GET", "/v1/projects/%s" % _check_ref(ref))
        if not isinstance(data, dict) or "status" not in data:
            raise ManagementApiError("Supabase Management API returned a project without status for %s" % ref)
        return data

    def restore_pitr(self, ref, recovery_time_target_unix):
        """``POST /v1/projects/{ref}/database/backups/restore-pitr``: start a point-in-time restore."""
        try:
            target = int(recovery_time_target_unix)
        except (TypeError, ValueError):
            raise InvalidInput("recovery_time_target_unix must be a Unix timestamp in seconds (got %r)"
                               % (recovery_time_target_unix,))
        if target <= 0:
            raise InvalidInput("recovery_time_target_unix must be positive (got %d)" % target)
        return self.request("POST", "/v1/projects/%s/database/backups/restore-pitr" % _check_ref(ref),
                            {"recovery_time_target_unix": target})

    def wait_for_restore(self, ref, timeout=1800, begin_timeout=300, interval=15, began=None):
        """After ``restore_pitr``: wait for the restore to begin, then to finish; return the project dict.

        The project is still ``ACTIVE_HEALTHY`` for a while after the request (the platform queues it), so
        ``ACTIVE_HEALTHY`` counts as finished only after another status (``RESTORING``, ``COMING_UP``, ...) was
        seen, or when ``began()`` (optional) returns true: other proof that the restore ran between two polls
        (the rollback engine checks that the database restarted after the request). Raises ManagementApiError
        when it does not begin within ``begin_timeout`` seconds, on a terminal failure such as
        ``RESTORE_FAILED``, or when it has not finished after ``timeout`` seconds. The returned project has
        ``statuses_seen``, ``began_after`` and ``finished_after`` (seconds since the wait started) and ``polls``.
        """
        started = self._clock()
        deadline, begin_deadline = started + float(timeout), started + float(begin_timeout)
        seen, polls, began_after = [], 0, None
        while True:
            project = self.project(ref)
            polls += 1
            status = project.get("status")
            now = self._clock()
            if not seen or seen[-1] != status:
                seen.append(status)
            trail = " -> ".join(seen)
            if status in TERMINAL_FAILURES:
                raise ManagementApiError("the restore of project %s failed: it is %s (seen: %s); the database is not "
                                         "restored, see the project's Backups page" % (ref, status, trail),
                                         status=status, statuses_seen=seen)
            if began_after is None and (status != "ACTIVE_HEALTHY" or (began is not None and began())):
                began_after = round(now - started, 3)
            if status == "ACTIVE_HEALTHY" and began_after is not None:
                project.update(statuses_seen=seen, began_after=began_after, finished_after=round(now - started, 3),
                               polls=polls)
                return project
            if began_after is None and now + interval > begin_deadline:
                raise ManagementApiError("the restore of project %s did not begin within %ss: the project stayed %s "
                                         "(seen: %s); check the project's Backups page before asking again, a second "
                                         "request would restore twice" % (ref, begin_timeout, status, trail),
                                         status=status, statuses_seen=seen)
            if now + interval > deadline:
                raise ManagementApiError("the restore of project %s has not finished after %ss: still %s (seen: %s)"
                                         % (ref, timeout, status, trail), status=status, statuses_seen=seen)
            self._sleep(interval)
