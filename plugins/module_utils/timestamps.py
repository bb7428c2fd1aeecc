# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time in UTC: the clock, the three ways the collection writes a moment, and one timestamp parser.

- :func:`stamp` ``20251019T094600Z`` is sortable and safe in file and directory names;
- :func:`iso` ``2025-10-19T09:46:00Z`` is what reports, approvals and results show;
- :func:`iso_precise` ``2025-10-19T09:46:00.123456Z`` orders log lines and settings within a second.

:func:`parse_timestamp` reads ISO 8601 (``T`` or a blank between date and time, optional seconds and
fraction, ``Z`` or an offset; no zone means UTC) and, where a caller allows it, Unix seconds.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
import time

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

UTC = datetime.timezone.utc
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*"
                  r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$")
_UNIX = re.compile(r"^\d{9,11}(\.\d+)?$")


def utc_now():
    return datetime.datetime.now(UTC)


def elapsed_ms(started):
    """Milliseconds since ``started``, a ``time.monotonic()`` value."""
    return (time.monotonic() - started) * 1000.0


def as_utc(moment):
    """An aware UTC datetime; a naive one is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stamp(moment=None):
    """``20251019T094600Z``: sortable, safe in file names."""
    return as_utc(moment or utc_now()).strftime("%Y%m%dT%H%M%SZ")


def iso(moment):
    """``2025-10-19T09:46:00Z``."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_precise(moment=None):
    """``2025-10-19T09:46:00.123456Z``."""
    return as_utc(moment or utc_now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_unix(seconds):
    return datetime.datetime.fromtimestamp(float(seconds), UTC)


def parse_timestamp(value, name="timestamp", allow_unix=False):
    """An aware UTC datetime from ISO 8601 text (or a datetime); InvalidInput naming ``name`` otherwise.

    With ``allow_unix`` plain Unix seconds (``1760842800``) are accepted too.
    """
    if isinstance(value, datetime.datetime):
        return as_utc(value)
    text = str(value if value is not None else "").strip()
    if not text:
        raise InvalidInput("%s is empty; give an ISO 8601 timestamp such as 2025-10-19T02:05:00Z" % name)
    if allow_unix and _UNIX.match(text):
        return from_unix(text)
    match = _ISO.match(text)
    if not match:
        raise InvalidInput("%s %r is not an ISO 8601 timestamp; use e.g. 2025-10-19T02:05:00Z" % (name, text[:80]))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = datetime.timedelta(0)
    if zone and zone not in ("Z", "z"):
        digits = zone[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        if zone[0] == "-":
            offset = -offset
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), int((fraction or "0")[:6].ljust(6, "0")),
                                   tzinfo=datetime.timezone(offset))
    except ValueError:
        raise InvalidInput("%s %r is not a valid date and time; use e.g. 2025-10-19T02:05:00Z" % (name, text[:80]))
    return moment.astimezone(UTC)


def parse_unix(value, name="timestamp"):
    """Unix seconds (float) from ISO 8601 text or Unix seconds."""
    return parse_timestamp(value, name=name, allow_unix=True).timestamp()
