# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The alert rule behind the rollback trigger, with the semantics alerting systems use (pure, no database).

The runbook's trigger, "error rate > 1 % for > 5 minutes", is what a Prometheus rule writes as::

    expr: sum(increase(errors[1m])) / sum(increase(requests[1m])) > 0.01
    for: 5m

Two parts, both here:

1. **A trailing rate.** At every sample, the error rate is ``errors / total`` summed over the samples of the
   last ``rate_window`` seconds (:func:`trailing_rates`). One bad or clean interval moves the rate by its share
   of the window only, and an interval without traffic adds nothing to either count. A window without any
   traffic at all has no rate (``None``): no traffic is not 0 % errors.
2. **A hold time** (:func:`evaluate_hold`), evaluated at every sample like an alert rule: the condition becomes
   *pending* at the first evaluation above the limit; it *fires* (a breach) at the first evaluation more than
   ``sustain`` seconds after that while it stayed above; it resets at an evaluation at or below the limit. An
   evaluation without a value (no traffic) keeps the current state instead of resetting it. ``sustain = 0``
   fires at the first evaluation above the limit (Prometheus ``for: 0``).

How long detection takes (:func:`detection_delay`): after the error rate jumps from clean to ``r`` (above the
limit ``L``), the trailing rate is above ``L`` once more than a share ``L / r`` of the rate window lies inside the
bad period (at 2 % with a 1 % limit: half of it), which the next sample sees; then the hold time runs, and the
breach is seen at the first sample after it: at most ``rate_window * L / r + sustain + 2 * interval`` seconds,
never more than ``rate_window + sustain + 2 * interval`` (60 + 300 + 30 = 390 s at the defaults; 360 s at 2 %).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

INACTIVE = "inactive"
PENDING = "pending"
FIRING = "firing"


def trailing_rates(intervals, rate_window):
    """The rate over the trailing window at the end of every interval.

    ``intervals`` are ``(since_s, until_s, errors, total)`` in time order; ``errors``/``total`` are None when the
    interval was not measured. An interval belongs to the window of the evaluation at ``t`` when its midpoint
    lies in ``(t - rate_window, t]`` (robust against samples taken a few milliseconds late). Returns
    ``[{"at", "errors", "total", "rate"}]``, ``rate`` None when the window holds no traffic.
    """
    if rate_window <= 0:
        raise ValueError("rate_window must be > 0 seconds")
    out = []
    for index, (unused_since, until, unused_errors, unused_total) in enumerate(intervals):
        errors = total = 0
        for since_j, until_j, errors_j, total_j in intervals[:index + 1]:
            middle = (since_j + until_j) / 2.0
            if until - rate_window < middle <= until and total_j:
                errors += errors_j or 0
                total += total_j
        out.append({"at": until, "errors": errors, "total": total,
                    "rate": (float(errors) / total) if total else None})
    return out


def evaluate_hold(evaluations, limit, sustain):
    """Alert-rule states over ``evaluations`` (``(at_s, value)`` in time order; ``value`` None = no data).

    Returns ``{"breached", "fired_at", "states", "episodes"}``: ``states`` has one state per evaluation
    (inactive, pending, firing); ``episodes`` lists every stretch above the limit as
    ``{"start", "last", "end", "duration", "peak", "fired", "fired_at"}`` where ``start`` is the first evaluation
    above the limit, ``last`` the last one, ``end`` the evaluation that reset it (None while still above at the
    end) and ``duration`` ``last - start``.
    """
    states = []
    episodes = []
    current = None
    for at, value in evaluations:
        if value is None:
            states.append(INACTIVE if current is None else (FIRING if current["fired"] else PENDING))
            continue
        if value > limit:
            if current is None:
                current = {"start": at, "last": at, "end": None, "peak": value, "fired": False, "fired_at": None}
                episodes.append(current)
            current["last"] = at
            current["peak"] = max(current["peak"], value)
            if not current["fired"] and (at - current["start"] > sustain or sustain <= 0):
                current["fired"] = True
                current["fired_at"] = at
            states.append(FIRING if current["fired"] else PENDING)
        else:
            if current is not None:
                current["end"] = at
                current = None
            states.append(INACTIVE)
    for episode in episodes:
        episode["duration"] = episode["last"] - episode["start"]
    fired = [e["fired_at"] for e in episodes if e["fired"]]
    return {"breached": bool(fired), "fired_at": fired[0] if fired else None, "states": states,
            "episodes": episodes}


def evaluate_error_rate(intervals, limit, sustain, rate_window):
    """The runbook's trigger over ``intervals`` (see :func:`trailing_rates`): hold result plus the trailing rates."""
    rates = trailing_rates(intervals, rate_window)
    result = evaluate_hold([(r["at"], r["rate"]) for r in rates], limit, sustain)
    result["trailing"] = rates
    return result


def detection_delay(sustain, rate_window, interval, limit=None, rate=None):
    """Worst-case seconds from the error rate jumping to ``rate`` until the breach is seen (see the module doc).

    Without ``rate`` (or at a rate at or below the limit) the bound for any rate above the limit.
    """
    share = 1.0
    if limit is not None and rate is not None and rate > limit > 0:
        share = float(limit) / rate
    return rate_window * share + sustain + 2 * interval


def can_breach(window, sustain, rate_window):
    """True when a watch of ``window`` seconds is long enough for the trigger to fire at all."""
    return window > sustain + rate_window
