# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Maintenance windows: is the current UTC time inside one?

A window is ``"HH:MM-HH:MM"`` (UTC; may wrap midnight, e.g. ``"22:00-02:00"``) or a dict
``{start: "HH:MM", end: "HH:MM", days: [mon, tue, ...]}`` where ``days`` are the days the window
*starts* on. Production's default is the runbook's off-peak window, 02:00-04:00 UTC. Being outside
fails the check unless an override reason is recorded.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import as_utc, iso, parse_timestamp, utc_now

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WINDOWS = {"production": ["02:00-04:00"]}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SPEC = re.compile(r"^\s*(\S+)\s*-\s*(\S+)\s*$")


def _minutes(text, spec):
    match = _HHMM.match(str(text).strip())
    if not match:
        raise InvalidInput("maintenance window %r: %r is not a HH:MM time (UTC, 00:00-23:59)" % (spec, text))
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_window(spec):
    """``{start, end, days, label}`` with minutes since midnight; raise InvalidInput naming the bad window."""
    if isinstance(spec, dict):
        start, end, days = spec.get("start"), spec.get("end"), spec.get("days")
        if start is None or end is None:
            raise InvalidInput("maintenance window %r needs start and end (HH:MM UTC)" % (spec,))
    else:
        match = _SPEC.match(str(spec or ""))
        if not match:
            raise InvalidInput("maintenance window %r is not HH:MM-HH:MM (UTC), e.g. 02:00-04:00" % (spec,))
        start, end, days = match.group(1), match.group(2), None
    s, e = _minutes(start, spec), _minutes(end, spec)
    if s == e:
        raise InvalidInput("maintenance window %r is empty (start equals end)" % (spec,))
    if days:
        days = [str(d).strip().lower()[:3] for d in days]
        bad = [d for d in days if d not in DAYS]
        if bad:
            raise InvalidInput("maintenance window %r has unknown day(s) %s; use %s" % (spec, ", ".join(bad),
                                                                                        ", ".join(DAYS)))
    label = "%02d:%02d-%02d:%02d UTC" % (s // 60, s % 60, e // 60, e % 60)
    if days:
        label += " (%s)" % ",".join(days)
    return {"start": s, "end": e, "days": days or None, "label": label}


def _contains(window, now):
    minute = now.hour * 60 + now.minute
    today = DAYS[now.weekday()]
    yesterday = DAYS[(now.weekday() - 1) % 7]
    if window["start"] < window["end"]:
        return window["start"] <= minute < window["end"] and (not window["days"] or today in window["days"])
    # wraps midnight: the part after midnight belongs to the window that started yesterday
    if minute >= window["start"]:
        return not window["days"] or today in window["days"]
    if minute < window["end"]:
        return not window["days"] or yesterday in window["days"]
    return False


def next_start(windows, now):
    """The next moment a window opens (within 8 days), or None."""
    base = now.replace(second=0, microsecond=0)
    best = None
    for window in windows:
        for day in range(0, 8):
            candidate = (base + datetime.timedelta(days=day)).replace(hour=window["start"] // 60,
                                                                      minute=window["start"] % 60)
            if candidate <= now:
                continue
            if window["days"] and DAYS[candidate.weekday()] not in window["days"]:
                continue
            if best is None or candidate < best:
                best = candidate
            break
    return best


def evaluate(windows, now=None, override_reason=None):
    """``(status, detail, remedy, data)``: ok inside a window (or none configured), fail outside, waived
    outside with an override reason."""
    now = as_utc(now or utc_now())
    parsed = [parse_window(w) for w in windows or []]
    stamp = iso(now)
    data = {"now": stamp, "windows": [w["label"] for w in parsed], "inside": None}
    if not parsed:
        data["inside"] = True
        return "ok", "no maintenance window required (now %s)" % stamp, "", data
    inside = [w for w in parsed if _contains(w, now)]
    data["inside"] = bool(inside)
    if inside:
        return "ok", "now %s is inside the maintenance window %s" % (stamp, inside[0]["label"]), "", data
    upcoming = next_start(parsed, now)
    data["next_window_start"] = iso(upcoming) if upcoming else None
    detail = "now %s is outside the maintenance window(s) %s" % (stamp, ", ".join(w["label"] for w in parsed))
    if upcoming:
        detail += "; next opens %s" % data["next_window_start"]
    remedy = "run inside the window, or record why not: supabase_preflight_window_override_reason"
    if override_reason and str(override_reason).strip():
        data["override_reason"] = str(override_reason).strip()
        return "waived", "%s (overridden: %s)" % (detail, str(override_reason).strip()), remedy, data
    return "fail", detail, remedy, data


def window_check(windows, now=None, override_reason=None):
    status, detail, remedy, data = evaluate(windows, now, override_reason)
    return make_check("maintenance_window", status, detail, remedy, data=data)


def parse_now(text):
    """An explicit 'now' (ISO 8601) for tests and rehearsals; None means the real clock."""
    if not text:
        return None
    return parse_timestamp(text, name="now", allow_unix=True)
