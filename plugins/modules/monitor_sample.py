#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: monitor_sample
short_description: Watch a database after a migration apply and say whether the rollback trigger fired
version_added: 0.1.0
description:
  - The runbook's "Post-Apply Monitoring" as one task. Samples the database every O(interval) seconds for
    O(window) seconds (O(window=0) takes one sample) and appends each sample as one JSON line to
    C(<output_dir>/<basename>.jsonl) as it is taken (C(tail -f) works; the file is started afresh by each call).
  - "A sample holds: the application error rate over the time since the previous sample (O(error_rate_query);
    by default the runbook's C(observability_logs) rows with C(level = 'ERROR') over all rows), connection usage
    (C(pg_stat_activity) client backends against C(max_connections)), and C(pg_stat_statements): the top
    O(top_n) statements by mean time with a P95 estimate each, the statements slower than O(p95_budget_ms),
    and the slowest P95 of the calls made since the previous sample."
  - The rollback trigger is sustained, not a spike. A metric breaches only when consecutive samples stay above
    its limit for longer than O(sustain) seconds (runbook - error rate above 1 % for more than 5 minutes); a brief
    crossing is reported as a warning. Only the metrics in O(breach_on) set RV(breached).
  - P95 is estimated as C(mean + 1.645 * stddev) (normal distribution), since C(pg_stat_statements) keeps no
    percentiles; execution times are usually right-skewed, so read it as a lower bound of the real P95.
  - C(pg_stat_statements) is found in whatever schema it is installed (C(extensions) on Supabase). A missing
    extension or a missing logs table is a warning with the reason, not a failure.
  - Then draws a PNG chart (error rate, connection usage, slowest P95 over the window, with the limits) and
    writes a Markdown summary next to the samples.
  - Only reads the database (read-only session); never changes it.
options:
  output_dir:
    description:
      - Directory for C(<basename>.jsonl), C(<basename>.png) and C(<basename>_summary.md); created when missing.
      - Give every host its own directory, for example C({{ supabase_report_dir }}/{{ inventory_hostname }}).
    type: path
    required: true
  basename:
    description: Base name of the files written.
    type: str
    default: monitor
  title:
    description: Heading of the summary and the chart.
    type: str
    default: Post-apply monitor
  window:
    description: Seconds to watch; C(0) takes exactly one sample.
    type: float
    default: 300
  interval:
    description:
      - Seconds between samples. The first sample's error rate covers the O(interval) seconds before it.
    type: float
    default: 15
  sustain:
    description:
      - Seconds a metric must stay above its limit, without interruption, before it counts as a breach.
    type: float
    default: 300
  error_rate_warn:
    description: Error rate (a fraction, C(0.005) = 0.5 %) above which the window is reported as a warning.
    type: float
    default: 0.005
  error_rate_rollback:
    description: Error rate (a fraction) that triggers a rollback when exceeded for longer than O(sustain).
    type: float
    default: 0.01
  p95_budget_ms:
    description: Statement P95 budget in milliseconds (runbook - RPC functions below 500 ms).
    type: float
    default: 500
  connection_usage_max:
    description: Highest healthy share of C(max_connections) in use (a fraction; runbook - below 80 %).
    type: float
    default: 0.8
  breach_on:
    description:
      - Metrics whose sustained excess sets RV(breached). The others are still measured and reported.
    type: list
    elements: str
    choices: [error_rate, p95, connections]
    default: [error_rate]
  error_rate_query:
    description:
      - Query returning one row of two numbers, C(errors) and C(total), for the rows logged between the
        parameters C(%(since\)s) and C(%(until\)s) (timestamps). Write a literal C(%) as C(%%).
      - Defaults to the runbook's C(observability_logs) query.
      - A missing table, column or schema, or no privilege to read it, is a warning; any other error fails.
    type: str
  top_n:
    description: How many statements (by mean time) and tables (by size) are listed.
    type: int
    default: 10
  statements_min_calls:
    description: Statements called fewer times than this (since the statistics were reset) are ignored.
    type: int
    default: 10
  table_schemas:
    description: Schemas whose tables are listed by size.
    type: list
    elements: str
    default: [public]
  history_tail:
    description: How many of the newest migration history rows are returned.
    type: int
    default: 10
  sample_timeout:
    description: Seconds one sampling query may run (C(statement_timeout) of the monitor's session).
    type: float
    default: 10
  chart:
    description: Draw the PNG chart (needs matplotlib; without it a warning is returned instead).
    type: bool
    default: true
  fail_on_breach:
    description: Fail the task when RV(breached) is true (the files are still written).
    type: bool
    default: false
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.attributes
attributes:
  check_mode:
    support: full
    details:
      - The database is only read, so the window runs in check mode too and writes its files.
  diff_mode:
    support: none
requirements:
  - psycopg2
  - matplotlib (for the chart)
seealso:
  - module: hotdash.supabase.db_inspect
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Watch production for five minutes after the apply
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    window: 300
    interval: 15
    sustain: 300
  register: __supabase_monitor_window

- name: One sample of a staging database, breaching on P95 too
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    window: 0
    interval: 60
    breach_on: [error_rate, p95]

- name: Count errors from a custom log table
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    error_rate_query: >-
      SELECT count(*) FILTER (WHERE status >= 500), count(*) FROM app.requests
      WHERE at > %(since)s AND at <= %(until)s
'''

RETURN = r'''
breached:
  description: True when a metric in O(breach_on) stayed above its limit for longer than O(sustain).
  returned: success
  type: bool
  sample: false
reasons:
  description: One line per breach, with the duration and peak.
  returned: success
  type: list
  elements: str
  sample: ["error rate above 1.00% for 312 s (longer than 300 s): peak 4.20%"]
checks:
  description: Report checks (error rate, slowest statement P95, connection usage) for M(hotdash.supabase.check_report).
  returned: success
  type: list
  elements: dict
  sample: [{"name": "error rate", "status": "ok", "detail": "peak 0.10% (limit 1.00%, sustain 300 s)", "remedy": ""}]
peaks:
  description: Highest error rate (fraction), P95 (ms) and connection usage (fraction) of the window; null if unmeasured.
  returned: success
  type: dict
  sample: {"error_rate": 0.001, "p95": 120.5, "connections": 0.07}
samples:
  description: The samples, as written to the JSON-lines file.
  returned: success
  type: list
  elements: dict
  sample: [{"seq": 0, "since_s": 0.0, "until_s": 15.0, "error_rate": {"errors": 1, "total": 900, "rate": 0.0011},
            "connections": {"total": 7, "active": 1, "idle": 5, "database_total": 4, "max_connections": 100,
                            "usage": 0.07}, "slowest_p95_ms": 120.5, "statements": [], "slow_statements": [],
            "warnings": []}]
slow_statements:
  description: Statements whose P95 estimate exceeded O(p95_budget_ms) in any sample, slowest first.
  returned: success
  type: list
  elements: dict
  sample: [{"queryid": "-411", "query": "SELECT get_revenue_metrics($1, $2)", "calls": 40, "mean_ms": 410.0,
            "stddev_ms": 90.0, "p95_ms": 558.1}]
tables:
  description: The largest tables of O(table_schemas).
  returned: success
  type: list
  elements: dict
  sample: [{"schema": "public", "table": "facts", "bytes": 81920, "size": "80 kB"}]
history_tail:
  description: The newest rows of C(supabase_migrations.schema_migrations).
  returned: success
  type: list
  elements: dict
  sample: [{"version": "20251019090000", "name": "segment_churn_and_tile_queries"}]
degraded:
  description: What could not be measured and why (missing extension or logs table, no chart); also shown as warnings.
  returned: success
  type: list
  elements: str
  sample: ["p95: pg_stat_statements is not installed in this database (CREATE EXTENSION pg_stat_statements)"]
files:
  description: Paths of the samples file, the chart (null when not drawn) and the Markdown summary.
  returned: success
  type: dict
  sample: {"samples": "/srv/artifacts/data/run/db1/monitor.jsonl", "chart": "/srv/artifacts/data/run/db1/monitor.png",
           "summary": "/srv/artifacts/data/run/db1/monitor_summary.md"}
thresholds:
  description: The thresholds the window was judged against.
  returned: success
  type: dict
  sample: {"error_rate_warn": 0.005, "error_rate_rollback": 0.01, "sustain": 300.0, "p95_budget_ms": 500.0,
           "connection_usage_max": 0.8}
'''

import os

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.chart import render_chart
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import (
    MonitorOptions,
    Thresholds,
    judge,
    run_window,
    slow_statements,
    summary_markdown,
    window_peaks,
)


def body(module):
    params = module.params
    options = MonitorOptions(
        window=params["window"], interval=params["interval"],
        thresholds=Thresholds(error_rate_warn=params["error_rate_warn"], error_rate_rollback=params["error_rate_rollback"],
                              sustain=params["sustain"], p95_budget_ms=params["p95_budget_ms"],
                              connection_usage_max=params["connection_usage_max"]),
        error_rate_query=params["error_rate_query"], top_n=params["top_n"],
        statements_min_calls=params["statements_min_calls"], breach_on=params["breach_on"],
        table_schemas=params["table_schemas"], history_tail=params["history_tail"],
        sample_timeout=params["sample_timeout"])
    if not params["basename"] or os.sep in params["basename"] or params["basename"].startswith("."):
        raise InvalidInput("basename must be a plain file name without %r or a leading dot; got %r" % (os.sep, params["basename"]))
    base = os.path.join(params["output_dir"], params["basename"])
    outcome = run_window(connection_settings(module), options, base + ".jsonl")
    outcome["judgement"] = judge(outcome["samples"], options)
    files = {"samples": os.path.abspath(base + ".jsonl"), "chart": None, "summary": os.path.abspath(base + "_summary.md")}
    warnings = list(outcome["warnings"])
    if params["chart"]:
        try:
            files["chart"] = render_chart(outcome["samples"], options.thresholds, base + ".png", title=params["title"],
                                          verdicts=outcome["judgement"]["verdicts"])
        except InvalidInput as exc:
            warnings.append("chart: %s" % exc)
    outcome["warnings"] = warnings
    text = summary_markdown(params["title"], outcome, options, chart_file=files["chart"])
    try:
        with open(files["summary"], "w") as handle:
            handle.write(redact(text, list(module.no_log_values)))
    except (OSError, IOError) as exc:
        raise InvalidInput("cannot write the monitor summary %s: %s" % (files["summary"], exc.strerror or exc))
    for warning in warnings:
        module.warn(warning)
    verdict = outcome["judgement"]
    result = dict(changed=False, breached=verdict["breached"], reasons=verdict["reasons"], checks=verdict["checks"],
                  peaks=window_peaks(outcome["samples"]), samples=outcome["samples"],
                  slow_statements=slow_statements(outcome["samples"]), tables=outcome["tables"],
                  history_tail=outcome["history_tail"], degraded=warnings, files=files,
                  thresholds=options.thresholds.as_dict())
    if params["fail_on_breach"] and result["breached"]:
        raise CheckFailed("monitor window breached: %s" % "; ".join(result["reasons"]), **result)
    return result


def main():
    module = new_module(dict(
        output_dir=dict(type="path", required=True),
        basename=dict(type="str", default="monitor"),
        title=dict(type="str", default="Post-apply monitor"),
        window=dict(type="float", default=300),
        interval=dict(type="float", default=15),
        sustain=dict(type="float", default=300),
        error_rate_warn=dict(type="float", default=0.005),
        error_rate_rollback=dict(type="float", default=0.01),
        p95_budget_ms=dict(type="float", default=500),
        connection_usage_max=dict(type="float", default=0.8),
        breach_on=dict(type="list", elements="str", default=["error_rate"], choices=["error_rate", "p95", "connections"]),
        error_rate_query=dict(type="str"),
        top_n=dict(type="int", default=10),
        statements_min_calls=dict(type="int", default=10),
        table_schemas=dict(type="list", elements="str", default=["public"]),
        history_tail=dict(type="int", default=10),
        sample_timeout=dict(type="float", default=10),
        chart=dict(type="bool", default=True),
        fail_on_breach=dict(type="bool", default=False),
    ), supports_check_mode=True)
    run_module(module, body)


if __name__ == "__main__":
    main()
