# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch as a picture: the trigger's error rate, the runbook's Query 2, probe P95 and the pool, with limits.

Four panels over the seconds of the watch: (1) the error rate of each interval and the trailing rate the rollback
trigger evaluates, with the 0.5 % target and the 1 % trigger, each stretch above the trigger shaded (pending
light, firing dark); (2) errors per minute (the runbook's Query 2) as bars; (3) each probe's P95 per interval,
exact from its calls, with the 500 ms budget; (4) the pooler's usage and database connections over
``max_connections``, with the 80 % limit.

matplotlib is used through its object API (``Figure`` + the Agg canvas), never ``pyplot``: no global figure
state, no display, safe when many hosts of one play render at the same time. Without matplotlib the monitor
still works and says that no chart was drawn.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import math
import os

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    HAS_MATPLOTLIB = True
except ImportError:  # pragma: no cover - exercised by the module's warning
    HAS_MATPLOTLIB = False

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import write_file
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput

_RED = "#c0392b"
_ORANGE = "#e67e22"


def _series(samples, getter):
    xs, ys = [], []
    for sample in samples:
        value = getter(sample)
        xs.append(sample.get("until_s", 0.0))
        ys.append(float("nan") if value is None else value)
    return xs, ys


def _finish(ax, ylabel, ys_all, limits, empty_text="not measured"):
    for value, label, line_color in limits:
        ax.axhline(value, color=line_color, linestyle="--", linewidth=1.1, label=label)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    finite = [y for y in ys_all if not math.isnan(y)]
    top = max(finite + [limit[0] for limit in limits] + [0.0])
    ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    if not finite:
        ax.text(0.5, 0.5, empty_text, transform=ax.transAxes, ha="center", va="center", color="grey")


def _shade(ax, episodes):
    for episode in episodes or ():
        end = episode["end"] if episode["end"] is not None else episode["last"]
        if episode["fired"]:
            ax.axvspan(episode["start"], episode["fired_at"], color=_ORANGE, alpha=0.12)
            ax.axvspan(episode["fired_at"], max(end, episode["fired_at"]), color=_RED, alpha=0.2)
        else:
            ax.axvspan(episode["start"], end, color=_ORANGE, alpha=0.12)


def _minute_offsets(samples, rows):
    """x (seconds since the watch's origin) and height of each Query 2 row."""
    import datetime
    if not samples or not rows:
        return [], []
    origin = datetime.datetime.fromisoformat(samples[0]["since"]) - datetime.timedelta(seconds=samples[0]["since_s"])
    xs = [(datetime.datetime.fromisoformat(r["minute"]) - origin).total_seconds() for r in rows]
    return xs, [r["errors"] for r in rows]


def render_chart(samples, thresholds, path, title="Post-apply monitor", judgement=None, errors_per_minute=None):
    """Write a PNG of the watch to ``path`` (atomically); return the absolute path.

    ``judgement`` (monitor.judge) shades the stretches above the trigger and names the verdict;
    ``errors_per_minute`` are Query 2's rows (None: not measured). Raises InvalidInput when matplotlib is missing
    or the file cannot be written.
    """
    if not HAS_MATPLOTLIB:
        raise InvalidInput("matplotlib is not installed; pip install matplotlib to draw the monitor chart")
    judgement = judgement or {}
    figure = Figure(figsize=(8.5, 10), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(4, 1, sharex=True)

    ax = axes[0]
    xs, per_interval = _series(samples, lambda s: None if (s.get("error_rate") or {}).get("rate") is None
                               else s["error_rate"]["rate"] * 100.0)
    ax.plot(xs, per_interval, marker="o", markersize=2.5, linewidth=0.8, color="#95a5a6", label="per interval")
    xs, trailing = _series(samples, lambda s: None if (s.get("trigger") or {}).get("rate") is None
                           else s["trigger"]["rate"] * 100.0)
    ax.plot(xs, trailing, linewidth=1.8, color="#2c3e50",
            label="trailing %.0f s (trigger)" % getattr(thresholds, "rate_window", 60.0))
    _shade(ax, (judgement.get("error_rate") or {}).get("episodes"))
    _finish(ax, "error rate %", per_interval + trailing,
            [(thresholds.error_rate_warn * 100.0, "target %.1f %%" % (thresholds.error_rate_warn * 100.0), _ORANGE),
             (thresholds.error_rate_rollback * 100.0, "rollback %.1f %%" % (thresholds.error_rate_rollback * 100.0), _RED)])

    ax = axes[1]
    mx, heights = _minute_offsets(samples, errors_per_minute or [])
    if heights:
        ax.bar(mx, heights, width=55, align="edge", color="#c0392b", alpha=0.7, label="ERROR rows per minute")
    _finish(ax, "errors / minute\n(Query 2)", [float(h) for h in heights], [],
            "not measured" if errors_per_minute is None else "no errors")

    ax = axes[2]
    names = []
    for sample in samples:
        for name in (sample.get("probes") or {}):
            if name not in names:
                names.append(name)
    all_ys = []
    for name in names:
        xs, ys = _series(samples, lambda s, n=name: ((s.get("probes") or {}).get(n) or {}).get("p95_ms"))
        ax.plot(xs, ys, marker="o", markersize=2.5, linewidth=1.4, label=name)
        all_ys += ys
    _shade(ax, (judgement.get("p95") or {}).get("episodes"))
    _finish(ax, "probe P95 ms", all_ys, [(thresholds.p95_budget_ms, "budget %.0f ms" % thresholds.p95_budget_ms, _RED)])

    ax = axes[3]
    xs, pool = _series(samples, lambda s: None if (s.get("pool") or {}).get("usage") is None
                       else s["pool"]["usage"] * 100.0)
    if any(not math.isnan(v) for v in pool):
        ax.plot(xs, pool, marker="o", markersize=2.5, linewidth=1.6, color="#2980b9", label="pooler")
    xs, dbc = _series(samples, lambda s: None if (s.get("database_connections") or {}).get("usage") is None
                      else s["database_connections"]["usage"] * 100.0)
    ax.plot(xs, dbc, linewidth=1.0, color="#7f8c8d", label="database connections of max_connections")
    waited = [s["until_s"] for s in samples if (s.get("pool") or {}).get("clients_waiting")]
    for x in waited:
        ax.axvline(x, color=_RED, alpha=0.3, linewidth=2)
    limit = getattr(thresholds, "pool_usage_max", 0.8) * 100.0
    _finish(ax, "pool %", pool + dbc, [(limit, "limit %.0f %%" % limit, _RED)])
    axes[3].set_xlabel("seconds since the watch started")

    verdict = judgement.get("verdict", "succeeded")
    words = {"rollback": "ROLLBACK TRIGGERED", "succeeded_with_warnings": "succeeded with warnings"}.get(verdict, "healthy")
    colour = {"rollback": _RED, "succeeded_with_warnings": _ORANGE}.get(verdict, "#27ae60")
    figure.suptitle("%s: %s" % (title, words), color=colour, fontsize=12)
    figure.tight_layout()

    path = os.path.abspath(path)
    image = io.BytesIO()
    figure.savefig(image, format="png")
    try:
        write_file(path, image.getvalue())
    except (OSError, IOError) as exc:
        raise InvalidInput("cannot write the monitor chart %s: %s" % (path, exc.strerror or exc))
    return path
