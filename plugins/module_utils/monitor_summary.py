# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The watch as Markdown (``monitor_summary.md``): verdict, trigger, criteria, probes, pool, Query 2, statements."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import ms_text, percent_text, window_peaks
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor_sampling import P95_Z, clean_query_text
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import latency_summary
from ansible_collections.hotdash.supabase.plugins.module_utils.triggers import verdict_label


def _cell(text):
    return str(text).replace("|", "\\|").replace("`", "'")


def summary_markdown(title, outcome, options, chart_file=None):
    """The watch in Markdown: verdict, trigger, criteria, probes, pool, errors per minute, statements, tables."""
    samples = outcome["samples"]
    verdict = outcome["judgement"]
    t = options.thresholds
    out = ["# %s" % title, ""]
    out.append("- **verdict**: %s" % verdict_label(verdict["verdict"]))
    span = samples[-1]["until_s"] - samples[0]["since_s"] if samples else 0
    out.append("- **watch**: %d sample(s) over %.0f s, every %.0f s" % (len(samples), span, options.interval))
    out.append("- **rollback trigger**: error rate over the trailing %.0f s above %s for longer than %.0f s, evaluated at "
               "every sample; a sample without traffic keeps the state; detected within %.0f s of the errors starting"
               % (t.rate_window, percent_text(t.error_rate_rollback), t.sustain, options.detection_delay()))
    if samples and samples[-1].get("trigger"):
        last = samples[-1]["trigger"]
        out.append("- **trigger state at the end**: %s (trailing rate %s)" % (last["state"], percent_text(last["rate"])))
    for reason in verdict["reasons"]:
        out.append("- **reason**: %s" % reason)
    for warning in verdict["run_warnings"]:
        out.append("- **warning**: %s" % warning["reason"])
    for note in outcome["warnings"]:
        out.append("- **note**: %s" % note)
    if chart_file:
        out += ["", "![monitor chart](%s)" % os.path.basename(chart_file)]
    out += ["", "## Success criteria", "", "| criterion | target | measured | met | detail |", "| --- | --- | --- | --- | --- |"]
    for item in verdict["criteria"]:
        value = item["measured"]
        shown = ms_text(value) if "P95" in item["name"] else percent_text(value)
        met = {True: "yes", False: "**no**", None: "not measured"}[item["met"]]
        out.append("| %s | %s | %s | %s | %s |" % (_cell(item["name"]), item["target"], shown, met, _cell(item["detail"])))
    out += ["", "## Probes (every call timed; exact nearest-rank percentiles)", ""]
    if options.probes:
        out += ["| probe | call | calls | failed | timeouts | skipped | P50 | P95 | P99 | max | budget |",
                "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for probe in options.probes:
            s = verdict["probes"].get(probe["name"]) or latency_summary([])
            out.append("| %s | `%s` | %d | %d | %d | %d | %s | %s | %s | %s | %.0f ms |" % (
                _cell(probe["name"]), _cell(clean_query_text(probe["call"])), s.get("calls", 0), s.get("errors", 0),
                s.get("timeouts", 0), s.get("skipped", 0), ms_text(s["p50_ms"]), ms_text(s["p95_ms"]), ms_text(s["p99_ms"]),
                ms_text(s["max_ms"]), probe.get("budget_ms") or t.p95_budget_ms))
        out += ["", "Probes run read-only as %s, %.2g call(s) per second each, timeout %.1f s per call."
                % (options.probe_options.role or "the connecting user", options.probe_options.rate,
                   options.probe_options.timeout)]
    else:
        out.append("No probes configured: the P95 target was not measured.")
    peaks = window_peaks(samples)
    out += ["", "## Pool", ""]
    pools = [s["pool"] for s in samples if s.get("pool")]
    if pools:
        fullest = max(pools, key=lambda p: (p.get("usage") or 0, p.get("clients_waiting") or 0))
        out.append("- **%s**: peak usage %s of %s %s; clients active %s, waiting up to %s; servers active %s, idle %s; "
                   "longest wait %s%s" % (
                       fullest["source"], percent_text(peaks["pool_usage"]), fullest.get("usage_of"),
                       fullest.get("pool_size") if fullest.get("usage_of") == "pool_size" else fullest.get("max_clients"),
                       fullest.get("clients_active"), peaks["clients_waiting"] if peaks["clients_waiting"] is not None
                       else "n/a (not exported)", fullest.get("servers_active", "n/a"), fullest.get("servers_idle", "n/a"),
                       ms_text(fullest.get("max_wait_ms")), " (bucket bound)" if fullest.get("max_wait_is_bound") else ""))
    else:
        out.append("- **pooler**: not configured (set pooler to read PgBouncer or Supavisor)")
    out.append("- **database connections**: peak %s of max_connections (client backends in pg_stat_activity)"
               % percent_text(peaks["database_connections"]))
    out += ["", "## Errors per minute (runbook Query 2)", ""]
    if outcome.get("errors_per_minute"):
        out += ["| minute | errors |", "| --- | --- |"]
        out += ["| %s | %d |" % (r["minute"], r["errors"]) for r in outcome["errors_per_minute"]]
    elif outcome.get("errors_per_minute") is None:
        out.append("Not measured (see the notes).")
    else:
        out.append("No errors.")
    statements = outcome.get("statements") or {}
    for key, heading in (("by_mean", "mean"), ("by_total", "total")):
        out += ["", "## Top statements during the watch by %s time (pg_stat_statements)" % heading, ""]
        rows = statements.get(key) or []
        if rows:
            out += ["| mean ms | total ms | calls | P95 estimate ms* | statement |", "| --- | --- | --- | --- | --- |"]
            out += ["| %.1f | %.1f | %d | %.1f | `%s` |" % (
                r["mean_ms"], r["total_ms"], r["calls"], r["p95_estimate_ms"], _cell(r["query"])) for r in rows]
        else:
            out.append("None with at least %d call(s) during the watch." % options.statements_min_calls)
    out += ["", "\\* mean + %.3f x stddev: an estimate that assumes normally distributed times, no bound in either "
            "direction and never judged; the P95 judged above is the probes'." % P95_Z]
    out += ["", "## Largest tables", ""]
    if outcome["tables"]:
        out += ["| table | size |", "| --- | --- |"]
        out += ["| %s.%s | %s |" % (r["schema"], r["table"], r["size"]) for r in outcome["tables"]]
    else:
        out.append("None found.")
    out += ["", "## Migration history (newest first)", ""]
    out += ["- %s %s" % (r["version"], r["name"] or "") for r in outcome["history_tail"]] or ["No history table."]
    return "\n".join(out) + "\n"
