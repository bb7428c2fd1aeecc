# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One directory per run, and the ``index.md`` that links everything in it.

The runbook tees each apply into ``artifacts/data/<environment>_migration_apply_<timestamp>.log``; the
collection keeps that idea with one directory per run, ``artifacts/data/<label>_<UTC ts>/`` (the label is the
environment of an apply, or what the run does: ``status``, ``rollback``, ``drift``),
holding per-host reports (``<host>/<phase>.{json,md,junit.xml}``), logs, charts and ``approvals.jsonl``.
``index.md`` lists every file by host and phase with relative links, so a reviewer (or an AWX
artifact viewer) starts from one page.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import (
    DIRECTORY_MODE,
    make_directories,
    simple_name,
    write_file,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.timestamps import stamp

INDEX_NAME = "index.md"
RUN_LEVEL = "(run)"
# Report files are "<phase>.<format>"; the phase is what comes before the first dot.
_KNOWN_SUFFIXES = (".junit.xml", ".json", ".md", ".log", ".png", ".svg", ".jsonl", ".txt", ".sql", ".csv", ".xml")


def make_run_id(label, moment=None):
    """``production_20251019T094600Z``: the label first (sorts per environment or playbook), then UTC time."""
    simple_name(label, "label")
    return "%s_%s" % (label, stamp(moment))


def create_run_dir(base_dir, label, run_id=None, moment=None):
    """Create ``<base_dir>/<run_id>``; return ``(run_id, path, created)``.

    With ``run_id`` given the directory is reused (AWX workflows pass one id to several jobs). Without it
    a new id is made; two runs started in the same second get ``_2``, ``_3``... rather than sharing a directory.
    """
    if run_id is not None:
        simple_name(run_id, "run_id")
        path = os.path.join(base_dir, run_id)
        existed = os.path.isdir(path)
        _makedirs(path)
        return run_id, path, not existed
    base_id = make_run_id(label, moment)
    _makedirs(base_dir)
    for attempt in range(1, 1000):
        candidate = base_id if attempt == 1 else "%s_%d" % (base_id, attempt)
        path = os.path.join(base_dir, candidate)
        try:
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise InvalidInput("cannot create run directory %s: %s" % (path, exc.strerror))
        return candidate, path, True
    raise InvalidInput("cannot find a free run directory name under %s for %s" % (base_dir, base_id))


def planned_run_dir(base_dir, label, run_id=None, moment=None):
    """What :func:`create_run_dir` would create (check mode)."""
    run_id = simple_name(run_id, "run_id") if run_id is not None else make_run_id(label, moment)
    path = os.path.join(base_dir, run_id)
    return run_id, path, not os.path.isdir(path)


def _makedirs(path):
    try:
        make_directories(path)
    except OSError as exc:
        raise InvalidInput("cannot create run directory %s: %s" % (path, exc.strerror))


def phase_of(filename):
    """``preflight.junit.xml`` -> ``preflight``; ``apply.log`` -> ``apply``."""
    lower = filename.lower()
    for suffix in _KNOWN_SUFFIXES:
        if lower.endswith(suffix) and len(filename) > len(suffix):
            return filename[:-len(suffix)]
    return filename.split(".", 1)[0] or filename


def list_run_files(run_dir):
    """Every file under the run directory (relative, '/' separated), without index.md and temporary files."""
    if not os.path.isdir(run_dir):
        raise InvalidInput("run directory %s does not exist; create it with hotdash.supabase.run_directory" % run_dir)
    found = []
    for root, dirs, files in os.walk(run_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith(".") or (root == run_dir and name == INDEX_NAME):
                continue
            rel = os.path.relpath(os.path.join(root, name), run_dir)
            found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def group_files(paths):
    """``{host: {phase: [relative paths]}}``; files at the top of the run directory go under ``(run)``."""
    groups = {}
    for rel in paths:
        parts = rel.split("/")
        host = parts[0] if len(parts) > 1 else RUN_LEVEL
        phase = phase_of(parts[-1]) if len(parts) <= 2 else "/".join(parts[1:-1])
        groups.setdefault(host, {}).setdefault(phase, []).append(rel)
    return groups


def _link(rel):
    target = "/".join(part.replace(" ", "%20").replace(")", "%29").replace("(", "%28") for part in rel.split("/"))
    return "[%s](%s)" % (rel.split("/")[-1].replace("[", "\\[").replace("]", "\\]"), target)


def build_index(run_dir, title=None, meta=None):
    """The Markdown text of index.md (deterministic: same files, same text)."""
    paths = list_run_files(run_dir)
    groups = group_files(paths)
    run_id = os.path.basename(os.path.normpath(run_dir))
    out = ["# %s" % (title or "Run %s" % run_id), ""]
    for key, value in sorted((meta or {}).items()):
        out.append("- **%s**: %s" % (key, value))
    out.append("- **files**: %d" % len(paths))
    out.append("")
    hosts = sorted(h for h in groups if h != RUN_LEVEL)
    order = ([RUN_LEVEL] if RUN_LEVEL in groups else []) + hosts
    if not order:
        out.append("_No files in this run directory yet._")
    for host in order:
        out.append("## %s" % ("Run-level files" if host == RUN_LEVEL else "Host %s" % host))
        out.append("")
        out.append("| phase | files |")
        out.append("| --- | --- |")
        for phase in sorted(groups[host]):
            out.append("| %s | %s |" % (phase.replace("|", "\\|"), " · ".join(_link(p) for p in groups[host][phase])))
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def write_index(run_dir, title=None, meta=None, check_mode=False):
    """Write ``<run_dir>/index.md`` when its content changes; return ``(path, changed, files)``."""
    text = build_index(run_dir, title, meta)
    path = os.path.join(run_dir, INDEX_NAME)
    try:
        with open(path) as handle:
            current = handle.read()
    except (IOError, OSError):
        current = None
    changed = current != text
    if changed and not check_mode:
        write_file(path, text)
    return path, changed, list_run_files(run_dir)
