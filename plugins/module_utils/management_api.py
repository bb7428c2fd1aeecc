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

import json
import re
import socket
import time

from ansible.module_utils.urls import open_url
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput, SupabaseError

DEFAULT_BASE_URL = "https://api.supabase.com"
# Project statuses the Management API documents (V1ProjectResponse.status).
PROJECT_STATUSES = ("ACTIVE_HEALTHY", "ACTIVE_UNHEALTHY", "COMING_UP", "GOING_DOWN", "INACTIVE", "INIT_FAILED",
                    "REMOVED", "RESTARTING", "UNKNOWN", "UPGRADING", "PAUSING", "RESTORING", "RESTORE_FAILED",
                    "PAUSE_FAILED", "RESIZING")
# Statuses after which waiting longer cannot help.
TERMINAL_FAILURES = ("INIT_FAILED", "REMOVED", "RESTORE_FAILED", "PAUSE_FAILED")
_REF_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,62}$")
_RETRY_STATUS = (429, 500, 502, 503, 504)


class ManagementApiError(SupabaseError):
    """The Management API refused the request, or could not be reached after the retries."""


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
        self._token = access_token
        self.base_url = base_url.rstrip("/")
        self.timeout = int(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.validate_certs = validate_certs
        self._sleep = sleep
        self._clock = clock
        self.requests_made = 0

    # -- transport -------------------------------------------------------------------------------------------------

    def _redact(self, text):
        return redact(text, [self._token])

    def _fail(self, method, path, status, body):
        reason = self._error_reason(body)
        where = "%s %s" % (method, path)
        if status == 401:
            msg = "Supabase Management API rejected the access token (401) on %s; create a new token at " \
                  "https://supabase.com/dashboard/account/tokens" % where
        elif status == 403:
            msg = "Supabase Management API denied %s (403): the token's account has no access to this project%s" \
                  % (where, reason)
        elif status == 404:
            msg = "Supabase Management API found nothing at %s (404): check project_ref%s" % (where, reason)
        else:
            msg = "Supabase Management API answered %s to %s%s" % (status, where, reason)
        raise ManagementApiError(self._redact(msg), status=status)

    def _error_reason(self, body):
        if not body:
            return ""
        try:
            data = json.loads(body)
            text = data.get("message") or data.get("error") or ""
        except (ValueError, AttributeError):
            text = body
        text = " ".join(str(text).split())[:200]
        return (": " + text) if text else ""

    def _retry_delay(self, attempt, headers=None):
        if headers is not None:
            value = headers.get("Retry-After")
            if value and str(value).strip().isdigit():
                return min(float(value), 60.0)
        return self.backoff * (2 ** attempt)

    def request(self, method, path, body=None):
        """Send one request (with retries); return the decoded JSON body, or None for an empty body."""
        url = self.base_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = {"Authorization": "Bearer " + self._token, "Accept": "application/json",
                   "User-Agent": "hotdash.supabase"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                response = open_url(url, data=data, headers=headers, method=method, timeout=self.timeout,
                                    validate_certs=self.validate_certs, follow_redirects="safe",
                                    use_proxy=True, http_agent="hotdash.supabase")
                text = response.read().decode("utf-8")
            except HTTPError as exc:
                try:
                    err_body = exc.read().decode("utf-8", "replace")
                except Exception:  # pylint: disable=broad-except
                    err_body = ""
                if exc.code in _RETRY_STATUS and attempt < self.retries:
                    self._sleep(self._retry_delay(attempt, exc.headers))
                    attempt += 1
                    continue
                self._fail(method, path, exc.code, err_body)
            except (URLError, socket.timeout, ConnectionError) as exc:
                if attempt < self.retries:
                    self._sleep(self._retry_delay(attempt))
                    attempt += 1
                    continue
                reason = getattr(exc, "reason", exc)
                raise ManagementApiError(self._redact("cannot reach the Supabase Management API at %s after %d "
                                                      "attempt(s): %s" % (self.base_url, attempt + 1, reason)))
            if not text.strip():
                return None
            try:
                return json.loads(text)
            except ValueError:
                raise ManagementApiError(self._redact("Supabase Management API returned non-JSON for %s %s"
                                                      % (method, path)))

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
