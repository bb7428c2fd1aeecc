# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to call a JSON HTTP API: retries with backoff, secrets redacted, one-line errors.

429 and 5xx answers (and refused connections or timeouts) are retried with exponential backoff, honouring
``Retry-After``; other error statuses fail at once. Every message goes through :func:`connection.redact`
with the client's secrets, so a token never reaches a result or a log. ``sleep`` is injectable so tests
do not wait.
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

RETRY_STATUS = (429, 500, 502, 503, 504)


class ApiError(SupabaseError):
    """The API refused the request, answered something unusable, or could not be reached."""


def error_reason(body):
    """The API's own explanation from an error body (``detail``, ``message`` or ``error``), shortened."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        data = body
    if isinstance(data, dict):
        text = data.get("detail") or data.get("message") or data.get("error") or ""
    else:
        text = data
    text = " ".join(str(text).split())[:200]
    return (": " + text) if text else ""


class JsonApi(object):
    """A client for one base URL. ``headers`` carry the authentication; ``secrets`` are redacted from messages.

    ``describe_status(status, where, reason)`` may return a message for an error status (e.g. what to do on
    401); otherwise ``<service> answered <status> to <where><reason>``.
    """

    def __init__(self, service, base_url, headers=None, secrets=(), timeout=30, retries=3, backoff=1.0,
                 validate_certs=True, sleep=time.sleep, error=ApiError, describe_status=None):
        if not base_url or not re.match(r"^https?://", str(base_url)):
            raise InvalidInput("the %s URL must start with http:// or https:// (got %r)" % (service, base_url))
        self.service = service
        self.base_url = str(base_url).rstrip("/")
        self.headers = dict(headers or {})
        self.secrets = [s for s in secrets if s]
        self.timeout = int(timeout)
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.validate_certs = validate_certs
        self.error = error
        self.describe_status = describe_status
        self._sleep = sleep
        self.requests_made = 0

    def redact(self, text):
        return redact(text, self.secrets)

    def _delay(self, attempt, headers=None):
        value = headers.get("Retry-After") if headers is not None else None
        if value and str(value).strip().isdigit():
            return min(float(value), 60.0)
        return self.backoff * (2 ** attempt)

    def _fail(self, method, path, status, body):
        where = "%s %s" % (method, path)
        reason = error_reason(body)
        message = self.describe_status(status, where, reason) if self.describe_status else None
        raise self.error(self.redact(message or "%s answered %s to %s%s" % (self.service, status, where, reason)),
                         status=status)

    def request(self, method, path, body=None):
        """Send one request (with retries); return the decoded JSON body, or None for an empty body.

        ``path`` is relative to the base URL, or an absolute URL on the same host (pagination's ``next``).
        """
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        data = json.dumps(body).encode("utf-8") if body is not None else None
        headers = dict(self.headers, Accept="application/json")
        if data is not None:
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                response = open_url(url, data=data, headers=headers, method=method, timeout=self.timeout,
                                    validate_certs=self.validate_certs, follow_redirects="safe", use_proxy=True,
                                    http_agent="hotdash.supabase")
                text = response.read().decode("utf-8")
            except HTTPError as exc:
                try:
                    err_body = exc.read().decode("utf-8", "replace")
                except Exception:  # pylint: disable=broad-except
                    err_body = ""
                if exc.code in RETRY_STATUS and attempt < self.retries:
                    self._sleep(self._delay(attempt, exc.headers))
                    attempt += 1
                    continue
                self._fail(method, path, exc.code, err_body)
            except (URLError, socket.timeout, ConnectionError) as exc:
                if attempt < self.retries:
                    self._sleep(self._delay(attempt))
                    attempt += 1
                    continue
                raise self.error(self.redact("cannot reach the %s at %s after %d attempt(s): %s"
                                             % (self.service, self.base_url, attempt + 1, getattr(exc, "reason", exc))))
            if not text.strip():
                return None
            try:
                return json.loads(text)
            except ValueError:
                raise self.error(self.redact("%s returned non-JSON for %s %s" % (self.service, method, path)))
