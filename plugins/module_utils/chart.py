# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch window as a picture: error rate, connection usage and slowest-statement P95 with their limits.

matplotlib is used through its object API (``Figure`` + the Agg canvas), never ``pyplot``: no global figure
state, no display, safe when many hosts of one play render at the same time. Without matplotlib the monitor
still works and says that no chart was drawn.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import tempfile

try:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    HAS_MATPLOTLIB = True
except ImportError:  # pragma: no cover - exercised by the module's warning
    HAS_MATPLOTLIB = False

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


def _panel(ax, xs, ys, color, ylabel, limits, runs=()):
    ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.6, color=color)
    for value, label, line_color in limits:
        ax.axhline(value, color=line_color, linestyle="--", linewidth=1.1, label=label)
    for run in runs:
        ax.axvspan(run["start"], run["end"], color=_RED, alpha=0.12)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    finite = [y for y in ys if not math.isnan(y)]
    top = max(finite + [limit[0] for limit in limits] + [0.0])
    ax.set_ylim(0, top * 1.25 if top > 0 else 1.0)
    if limits:
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    if not finite:
        ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", va="center", color="grey")


def render_chart(samples, thresholds, path, title="Post-apply monitor", verdicts=None):
    """Write a PNG of the window to ``path`` (atomically); return the absolute path.

    ``verdicts`` (from monitor.judge) shades each run above a limit so a breach is visible at a glance.
    Raises InvalidInput when matplotlib is missing or the file cannot be written.
    """
    if not HAS_MATPLOTLIB:
        raise InvalidInput("matplotlib is not installed; pip install matplotlib to draw the monitor chart")
    verdicts = verdicts or {}
    figure = Figure(figsize=(8, 7.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 1, sharex=True)

    xs, ys = _series(samples, lambda s: None if not s.get("error_rate") or s["error_rate"].get("rate") is None
                     else s["error_rate"]["rate"] * 100.0)
    _panel(axes[0], xs, ys, "#2c3e50", "error rate %",
           [(thresholds.error_rate_warn * 100.0, "target %.1f %%" % (thresholds.error_rate_warn * 100.0), _ORANGE),
            (thresholds.error_rate_rollback * 100.0, "rollback %.1f %%" % (thresholds.error_rate_rollback * 100.0), _RED)],
           (verdicts.get("error_rate") or {}).get("runs", ()))
    xs, ys = _series(samples, lambda s: None if not s.get("connections") or s["connections"].get("usage") is None
                     else s["connections"]["usage"] * 100.0)
    _panel(axes[1], xs, ys, "#2980b9", "connections % of max",
           [(thresholds.connection_usage_max * 100.0, "limit %.0f %%" % (thresholds.connection_usage_max * 100.0), _RED)],
           (verdicts.get("connections") or {}).get("runs", ()))
    xs, ys = _series(samples, lambda s: s.get("slowest_p95_ms"))
    _panel(axes[2], xs, ys, "#8e44ad", "slowest P95 ms",
           [(thresholds.p95_budget_ms, "budget %.0f ms" % thresholds.p95_budget_ms, _RED)],
           (verdicts.get("p95") or {}).get("runs", ()))
    axes[2].set_xlabel("seconds since the window started")
    breached = any(v.get("breached") and v.get("counts_toward_breach") for v in verdicts.values())
    figure.suptitle("%s: %s" % (title, "BREACHED" if breached else "healthy"),
                    color=_RED if breached else "#27ae60", fontsize=12)
    figure.tight_layout()

    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-chart-", suffix=".png")
        with os.fdopen(fd, "wb") as handle:
            figure.savefig(handle, format="png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except (OSError, IOError) as exc:
        raise InvalidInput("cannot write the monitor chart %s: %s" % (path, exc.strerror or exc))
    return path
