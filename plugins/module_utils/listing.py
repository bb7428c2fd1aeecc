# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lists and texts shortened for one-line messages and reports.

``brief(["a", "b", "c", "d"], 2)`` is ``a, b (+2 more)``; ``clip(text, 20)`` keeps a text to 20 characters,
ending in ``...`` when it was cut. Every message that names a few of many items uses these, so a reader sees
the same shape everywhere.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def brief(items, limit=5, sep=", "):
    """The first ``limit`` items joined by ``sep``, then ``(+N more)`` when there are more."""
    items = [str(item) for item in items]
    shown = sep.join(items[:limit])
    if len(items) > limit:
        shown += " (+%d more)" % (len(items) - limit)
    return shown


def clip(text, limit):
    """``text`` on one line (white space folded), at most ``limit`` characters, ``...`` where it was cut."""
    text = " ".join(str(text if text is not None else "").split())
    return text if len(text) <= limit else text[:max(limit - 3, 0)] + "..."
