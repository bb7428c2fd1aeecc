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
  - The runbook's "Post-Apply Monitoring" and "When to Rollback" as one task. Samples every O(interval) seconds
    for O(window) seconds (O(window=0) takes one sample) and appends each sample as one JSON line to
    C(<output_dir>/<basename>.jsonl) as it is taken (C(tail -f) works; each call starts the file afresh).
  - "B(The rollback trigger) is the runbook's error rate above 1 % for more than 5 minutes, with the semantics of an
    alerting rule (Prometheus C(errors/total over [1m] > 0.01) with C(for: 5m)): at every sample the error rate
    over the trailing O(rate_window) seconds (errors over total summed across it, so an interval without traffic
    adds nothing) is compared with O(error_rate_rollback); it breaches when it has stayed above for longer than
    O(sustain). A sample without traffic keeps the state instead of resetting it. A breach is seen at most
    O(rate_window) + O(sustain) + 2 x O(interval) seconds after the errors start (390 s at the defaults); the
    default O(window) of 420 s leaves room for that. Errors come from O(error_rate_query) (by default the runbook's
    C(observability_logs) rows with C(level = 'ERROR') over all rows)."
  - "B(Real percentiles.) During the watch each of O(probes) (the dashboard's RPC functions and queries) is called
    from the controller O(probe_rate) times per second on its own connection, as O(probe_role), inside a read-only
    transaction that is rolled back, cancelled after O(probe_timeout) seconds. Every latency is kept in the samples;
    P50/P95/P99 are computed exactly (nearest rank) per interval and over the watch, and each probe's P95 over the
    watch is compared with its budget (O(p95_budget))."
  - "B(The pool.) With O(pooler), every sample also reads the pooler's own numbers: PgBouncer's admin console
    (C(SHOW POOLS), C(SHOW DATABASES), C(SHOW CONFIG): clients active and waiting, servers active and idle, pool
    size, the oldest client's wait) or Supavisor's Prometheus metrics endpoint (connected clients, pool checkout
    waits). Database connections (C(pg_stat_activity) client backends over C(max_connections)) are always
    reported, under that name."
  - "B(Success criteria) (runbook: error rate < 0.5 %, P95 < 500 ms, pool < 80 %) are judged over the watch: error
    rate over all its log rows, each probe's P95, the pool's peak usage (and any client waiting). A missed one is a
    warning (RV(verdict) C(succeeded_with_warnings)), never a rollback; a breach of the trigger is a trigger
    (RV(verdict) C(rollback))."
  - C(pg_stat_statements) (found in whatever schema it is installed; C(extensions) on Supabase) gives the top
    statements during the watch by mean and by total time. Its C(mean + 1.645 x stddev) P95 is shown as an
    estimate only; it is never compared with the budget.
  - Then draws a PNG chart (error rate with the trailing rate and the trigger, errors per minute as the runbook's
    Query 2, probe P95, pool usage) and writes a Markdown summary next to the samples.
  - Only reads (every read in a read-only transaction, settings per transaction only, safe through a transaction
    pooler); never changes the database. A missing logs table or C(pg_stat_statements) is a warning with the
    reason, not a failure.
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
    description:
      - Seconds to watch; C(0) takes exactly one sample.
      - Must be longer than O(sustain) + O(rate_window) for errors that start with the watch to be able to breach
        (a shorter watch is reported as a warning).
    type: float
    default: 420
  interval:
    description:
      - Seconds between samples. The first sample's error rate covers the O(interval) seconds before it.
    type: float
    default: 15
  rate_window:
    description: Seconds of the trailing window over which the trigger's error rate is computed (errors over total).
    type: float
    default: 60
  sustain:
    description:
      - Seconds the trailing error rate must stay above O(error_rate_rollback) before it is a breach (the alert
        rule's C(for)). C(0) breaches at the first sample above it.
    type: float
    default: 300
  error_rate_warn:
    description: Success criterion - the error rate over the watch (a fraction, C(0.005) = 0.5 %) must stay below it.
    type: float
    default: 0.005
  error_rate_rollback:
    description: Error rate (a fraction) of the rollback trigger.
    type: float
    default: 0.01
  p95_budget:
    description:
      - Success criterion - each probe's P95 over the watch must stay below it, in seconds (C(0.5) is the runbook's
        500 ms); a probe's own C(budget) (seconds) wins.
      - Results, the summary and the chart show P95 values and budgets in milliseconds.
    type: float
    default: 0.5
  pool_usage_max:
    description:
      - Success criterion - the pool's peak usage (a fraction) must stay below it, and no client may wait.
      - The pooler's usage with O(pooler), else database connections over C(max_connections).
    type: float
    default: 0.8
    aliases: [connection_usage_max]
  breach_on:
    description:
      - What can fire the rollback trigger. C(error_rate) is the runbook's; C(p95) also makes a probe P95 above
        O(p95_budget) for longer than O(sustain) a trigger (the runbook makes it a target only).
    type: list
    elements: str
    choices: [error_rate, p95]
    default: [error_rate]
  error_rate_query:
    description:
      - Query returning one row of two numbers, C(errors) and C(total), for the rows logged between the
        parameters C(%(since\)s) and C(%(until\)s) (timestamps). Write a literal C(%) as C(%%).
      - Defaults to the runbook's C(observability_logs) query. Exactly one statement; it runs read-only.
      - A missing table, column or schema, or no privilege to read it, is a warning; any other error fails.
    type: str
  errors_per_minute_query:
    description:
      - The runbook's Query 2 over the watch - rows C((minute, error_count)) between C(%(since\)s) and
        C(%(until\)s); drawn on the chart and listed in the summary. Defaults to C(observability_logs).
    type: str
  probes:
    description:
      - "The dashboard's RPC functions and queries to call during the watch. An entry is a function in the form
        of M(hotdash.supabase.rpc_check)'s C(functions) (a name, or a dict with C(name), C(function), C(args)
        (values, or C({sql: ...}) expressions), C(role), C(claims), C(settings), C(budget) in seconds), or a dict with
        C(name) and C(query) (one read-only statement)."
      - Without probes the P95 criterion is reported as not measured.
    type: list
    elements: raw
    default: []
  probe_rate:
    description: Calls per second of each probe (a call due while the previous one still runs is skipped and counted).
    type: float
    default: 1
  probe_timeout:
    description: Seconds after which a probe call is cancelled; it counts as a timeout with its latency kept.
    type: float
    default: 5
  probe_role:
    description:
      - Role the probes run as (C(SET LOCAL ROLE), with C(request.jwt.claims) as PostgREST sets them), unless a
        probe names its own. The connecting user must be a member of it. Empty runs them as the connecting user.
    type: str
    default: authenticated
  probe_jwt_claims:
    description: JWT claims for C(request.jwt.claims) (for policies that read C(auth.uid())), unless a probe has its own.
    type: dict
  probe_db_url:
    description:
      - Where the probes connect, for example the transaction pooler the application uses (port 6543).
        Defaults to the module's own connection.
    type: str
  pooler:
    description: The pooler to read every sample. Without it, only database connections are reported.
    type: dict
    suboptions:
      kind:
        description: Which pooler.
        type: str
        required: true
        choices: [pgbouncer, supavisor]
      admin_url:
        description:
          - PgBouncer - URL of the admin console (database C(pgbouncer)), as a user listed in C(admin_users) or
            C(stats_users).
        type: str
      database:
        description: PgBouncer - the pooler's database name to read (default the database of the connection).
        type: str
      user:
        description: Only the pools of this user (PgBouncer) or tenant user (Supavisor).
        type: str
      metrics_url:
        description: Supavisor - the metrics endpoint, C(https://<host>:4000/metrics) or C(.../metrics/<tenant>).
        type: str
      metrics_token:
        description: Supavisor - the bearer token (a JWT signed with Supavisor's C(METRICS_JWT_SECRET)).
        type: str
      tenant:
        description: Supavisor - the tenant's external id.
        type: str
      max_clients:
        description:
          - Supavisor - the tenant's client connection limit; usage is connected clients over it (Supavisor does
            not export busy server connections).
        type: int
      validate_certs:
        description: Verify the metrics endpoint's TLS certificate.
        type: bool
        default: true
  top_n:
    description: How many statements (by mean and by total time) and tables (by size) are listed.
    type: int
    default: 10
  statements_min_calls:
    description: Statements called fewer times than this during the watch are not listed.
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
    description: Seconds one sampling query may run (C(statement_timeout) of each sampling transaction).
    type: float
    default: 10
  chart:
    description: Draw the PNG chart (needs matplotlib; without it a warning is returned instead).
    type: bool
    default: true
extends_documentation_fragment:
  - hotdash.supabase.connection
  - hotdash.supabase.checks
  - hotdash.supabase.checks.WAIVERS
  - hotdash.supabase.checks.ERRORS
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
  - prometheus-client (for O(pooler.kind=supavisor))
seealso:
  - module: hotdash.supabase.db_inspect
  - module: hotdash.supabase.rpc_check
author:
  - HotDash data team (@hotdash-data)
'''

EXAMPLES = r'''
- name: Watch production for seven minutes after the apply, probing the dashboard RPCs through the pooler
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    probe_db_url: "{{ supabase_pooler_url }}"
    probes:
      - name: get_revenue_metrics
        args:
          - sql: now() - interval '7 days'
          - sql: now()
      - get_inventory_summary
      - get_approvals_pending_count
    pooler:
      kind: pgbouncer
      admin_url: "{{ supabase_pgbouncer_admin_url }}"
      database: postgres
  register: __supabase_monitor_window

- name: One sample of a staging database
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    window: 0

- name: Read Supavisor's pool and count errors from a custom log table
  hotdash.supabase.monitor_sample:
    db_url: "{{ supabase_db_url }}"
    output_dir: "{{ supabase_report_dir }}/{{ inventory_hostname }}"
    error_rate_query: >-
      SELECT count(*) FILTER (WHERE status >= 500), count(*) FROM app.requests
      WHERE at > %(since)s AND at <= %(until)s
    errors_per_minute_query: >-
      SELECT date_trunc('minute', at), count(*) FROM app.requests
      WHERE status >= 500 AND at > %(since)s AND at <= %(until)s GROUP BY 1 ORDER BY 1
    pooler:
      kind: supavisor
      metrics_url: https://pooler.example.com:4000/metrics/hotdashprod
      metrics_token: "{{ supavisor_metrics_jwt }}"
      tenant: hotdashprod
      max_clients: 200
'''

RETURN = r'''
breached:
  description: True when a trigger fired (the sustained error rate; probe P95 with O(breach_on=[p95])).
  returned: success
  type: bool
  sample: false
verdict:
  description: C(rollback) (a trigger fired), C(succeeded_with_warnings) (a success criterion missed or not measured) or C(succeeded).
  returned: success
  type: str
  sample: succeeded_with_warnings
reasons:
  description: One line per trigger that fired.
  returned: success
  type: list
  elements: str
  sample: ["error rate above 1.00% over the trailing 60 s for 315 s (longer than 300 s): peak 2.00%, fired 330 s into the watch"]
triggers:
  description: The triggers that fired, as C({kind, reason, source, runbook, evidence}) (kind C(error_rate) or C(rpc_budget)).
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "error_rate", "reason": "error rate above 1.00% ...", "source": "monitor",
            "runbook": "Error rate > 1% for > 5 minutes", "evidence": {"fired_at_s": 330.0, "peak_rate": 0.02}}]
run_warnings:
  description: Missed success criteria (kind C(success_criterion)) and what could not be measured (C(check_warning)); never roll back.
  returned: success
  type: list
  elements: dict
  sample: [{"kind": "success_criterion", "reason": "probe get_revenue_metrics P95 < 500 ms missed: P95 812.0 ms ...",
            "source": "monitor", "runbook": "a production success criterion missed ...", "evidence": {}}]
criteria:
  description: The runbook's success criteria as measured over the watch (C(met) null when not measured).
  returned: success
  type: list
  elements: dict
  sample: [{"name": "error rate", "target": "< 0.50%", "measured": 0.002, "met": true, "detail": "3 of 1500 log rows were errors"}]
trigger:
  description: The rule, how long a breach takes to detect, and when it fired.
  returned: success
  type: dict
  sample: {"rate_window": 60.0, "sustain": 300.0, "limit": 0.01, "detection_delay_s": 390.0, "can_breach": true,
           "fired_at_s": null, "state": "inactive"}
checks:
  description: Report checks (watch, error rate trigger, criteria, database connections) for M(hotdash.supabase.check_report).
  returned: success
  type: list
  elements: dict
  sample: [{"name": "error rate trigger", "status": "ok", "detail": "never above 1.00% over the trailing 60 s", "remedy": ""}]
passed:
  description:
    - True when no check failed (after O(waivers)); a fired trigger is a failed check.
    - With O(fail_on_failed=true) a failed check fails the task, naming the reasons (the files are still written).
  returned: success
  type: bool
  sample: true
counts:
  description: Number of checks per status.
  returned: success
  type: dict
  sample: {"ok": 4, "warn": 1}
peaks:
  description: Highest values of the watch (fractions and ms); null when never measured.
  returned: success
  type: dict
  sample: {"error_rate": 0.004, "trailing_error_rate": 0.003, "probe_p95_ms": 120.5, "pool_usage": 0.5,
           "clients_waiting": 0, "database_connections": 0.07}
probes:
  description: Each probe over the whole watch - calls, failures, timeouts, skipped calls and exact P50/P95/P99 (latencies are in the samples).
  returned: success
  type: dict
  sample: {"get_inventory_summary": {"calls": 420, "ok": 420, "errors": 0, "timeouts": 0, "skipped": 0, "count": 420,
           "p50_ms": 1.2, "p95_ms": 2.9, "p99_ms": 4.1, "min_ms": 0.8, "max_ms": 9.7, "mean_ms": 1.4, "error_lines": []}}
samples:
  description: The samples, as written to the JSON-lines file (every probe latency of each interval included).
  returned: success
  type: list
  elements: dict
  sample: [{"seq": 0, "since_s": 0.0, "until_s": 15.0, "error_rate": {"errors": 1, "total": 900, "rate": 0.0011},
            "trigger": {"errors": 1, "total": 900, "rate": 0.0011, "state": "inactive", "window_s": 60.0},
            "probes": {}, "probe_p95_ms": null, "pool": null,
            "database_connections": {"total": 7, "active": 1, "idle": 5, "database_total": 4, "max_connections": 100,
                                     "usage": 0.07}, "warnings": []}]
statements:
  description: Top statements of C(pg_stat_statements) during the watch, C(by_mean) and C(by_total) time; C(p95_estimate_ms) is an estimate, never judged.
  returned: success
  type: dict
  sample: {"by_mean": [{"queryid": "-411", "query": "SELECT get_revenue_metrics($1, $2)", "calls": 40, "mean_ms": 410.0,
                        "total_ms": 16400.0, "stddev_ms": 90.0, "p95_estimate_ms": 558.1}], "by_total": []}
errors_per_minute:
  description: The runbook's Query 2 over the watch (null when its table is missing).
  returned: success
  type: list
  elements: dict
  sample: [{"minute": "2025-10-19T02:14:00+00:00", "errors": 3}]
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
  description: What could not be measured and why (missing extension or logs table, pooler unreadable, no chart); also warnings.
  returned: success
  type: list
  elements: str
  sample: ["statements: pg_stat_statements is not installed in this database (CREATE EXTENSION pg_stat_statements)"]
files:
  description: Paths of the samples file, the chart (null when not drawn) and the Markdown summary.
  returned: success
  type: dict
  sample: {"samples": "/srv/artifacts/data/run/db1/monitor.jsonl", "chart": "/srv/artifacts/data/run/db1/monitor.png",
           "summary": "/srv/artifacts/data/run/db1/monitor_summary.md"}
thresholds:
  description: The thresholds the watch was judged against.
  returned: success
  type: dict
  sample: {"error_rate_warn": 0.005, "error_rate_rollback": 0.01, "sustain": 300.0, "rate_window": 60.0,
           "p95_budget_ms": 500.0, "pool_usage_max": 0.8}
error:
  description: The error that stopped the module, when O(error_status) reported it as a check instead of failing the task.
  returned: on an error with O(error_status)
  type: str
  sample: "cannot connect to postgres@db.example.supabase.co:5432/postgres: Connection refused"
'''

import os

from ansible_collections.hotdash.supabase.plugins.module_utils.ansible_module import (
    connection_settings,
    new_module,
    run_module,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.artifacts import simple_name, write_file
from ansible_collections.hotdash.supabase.plugins.module_utils.chart import render_chart
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings, redact, url_secrets
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CheckFailed, InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import (
    MonitorOptions,
    Thresholds,
    guard_query,
    judge,
    run_window,
    window_peaks,
)
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor_summary import summary_markdown
from ansible_collections.hotdash.supabase.plugins.module_utils.pooler import PoolerSource
from ansible_collections.hotdash.supabase.plugins.module_utils.probes import ProbeOptions, parse_probes
from ansible_collections.hotdash.supabase.plugins.module_utils.report import check_argument_spec, module_result


def options_from(params, settings):
    thresholds = Thresholds(error_rate_warn=params["error_rate_warn"], error_rate_rollback=params["error_rate_rollback"],
                            sustain=params["sustain"], rate_window=params["rate_window"],
                            p95_budget_ms=params["p95_budget"] * 1000.0, pool_usage_max=params["pool_usage_max"])
    return MonitorOptions(
        window=params["window"], interval=params["interval"], thresholds=thresholds,
        error_rate_query=params["error_rate_query"], errors_per_minute_query=params["errors_per_minute_query"],
        top_n=params["top_n"], statements_min_calls=params["statements_min_calls"], breach_on=params["breach_on"],
        table_schemas=params["table_schemas"], history_tail=params["history_tail"],
        sample_timeout=params["sample_timeout"],
        probes=parse_probes(params["probes"], guard_query, default_budget=params["p95_budget"]),
        probe_options=ProbeOptions(rate=params["probe_rate"], timeout=params["probe_timeout"],
                                   role=params["probe_role"], jwt_claims=params["probe_jwt_claims"]),
        probe_settings=ConnectionSettings.from_url(params["probe_db_url"], option="probe_db_url") if params["probe_db_url"] else None,
        pooler=PoolerSource.from_params(params["pooler"], settings.dbname))


def body(module):
    params = module.params
    simple_name(params["basename"], "basename")
    settings = connection_settings(module)
    options = options_from(params, settings)
    for secret in (options.pooler.secrets() if options.pooler else []) + (
            options.probe_settings.secrets() if options.probe_settings else []):
        module.no_log_values.add(secret)
    base = os.path.join(params["output_dir"], params["basename"])
    outcome = run_window(settings, options, base + ".jsonl")
    verdict = outcome["judgement"] = judge(outcome["samples"], options)
    files = {"samples": os.path.abspath(base + ".jsonl"), "chart": None, "summary": os.path.abspath(base + "_summary.md")}
    warnings = list(outcome["warnings"])
    if params["chart"]:
        try:
            files["chart"] = render_chart(outcome["samples"], options.thresholds, base + ".png", title=params["title"],
                                          judgement=verdict, errors_per_minute=outcome["errors_per_minute"])
        except InvalidInput as exc:
            warnings.append("chart: %s" % exc)
    outcome["warnings"] = warnings
    text = summary_markdown(params["title"], outcome, options, chart_file=files["chart"])
    try:
        write_file(files["summary"], redact(text, list(module.no_log_values)))
    except (OSError, IOError) as exc:
        raise InvalidInput("cannot write the monitor summary %s: %s" % (files["summary"], exc.strerror or exc))
    for warning in warnings:
        module.warn(warning)
    t = options.thresholds
    errors = verdict["error_rate"]
    result = module_result(
        verdict["checks"], waivers=params["waivers"],
        breached=verdict["breached"], verdict=verdict["verdict"], reasons=verdict["reasons"],
        triggers=verdict["triggers"], run_warnings=verdict["run_warnings"], criteria=verdict["criteria"],
        peaks=window_peaks(outcome["samples"]),
        trigger=dict(rate_window=t.rate_window, sustain=t.sustain, limit=t.error_rate_rollback,
                     detection_delay_s=options.detection_delay(), can_breach=options.can_breach(),
                     fired_at_s=errors["fired_at"], state=errors["states"][-1] if errors["states"] else None),
        probes=dict((name, dict((k, v) for k, v in stats.items() if k != "latencies_ms"))
                    for name, stats in verdict["probes"].items()),
        samples=outcome["samples"], statements=outcome["statements"], errors_per_minute=outcome["errors_per_minute"],
        tables=outcome["tables"], history_tail=outcome["history_tail"], degraded=warnings, files=files,
        thresholds=t.as_dict())
    if params["fail_on_failed"] and not result["passed"]:
        raise CheckFailed("monitor window breached: %s" % "; ".join(result["reasons"]), **result)
    return result


def main():
    argument_spec = dict(
        output_dir=dict(type="path", required=True),
        basename=dict(type="str", default="monitor"),
        title=dict(type="str", default="Post-apply monitor"),
        window=dict(type="float", default=420),
        interval=dict(type="float", default=15),
        rate_window=dict(type="float", default=60),
        sustain=dict(type="float", default=300),
        error_rate_warn=dict(type="float", default=0.005),
        error_rate_rollback=dict(type="float", default=0.01),
        p95_budget=dict(type="float", default=0.5),
        pool_usage_max=dict(type="float", default=0.8, aliases=["connection_usage_max"]),
        breach_on=dict(type="list", elements="str", default=["error_rate"], choices=["error_rate", "p95"]),
        error_rate_query=dict(type="str"),
        errors_per_minute_query=dict(type="str"),
        probes=dict(type="list", elements="raw", default=[]),
        probe_rate=dict(type="float", default=1),
        probe_timeout=dict(type="float", default=5),
        probe_role=dict(type="str", default="authenticated"),
        probe_jwt_claims=dict(type="dict"),
        probe_db_url=dict(type="str", no_log=True),
        pooler=dict(type="dict", options=dict(
            kind=dict(type="str", required=True, choices=["pgbouncer", "supavisor"]),
            admin_url=dict(type="str", no_log=True),
            database=dict(type="str"),
            user=dict(type="str"),
            metrics_url=dict(type="str"),
            metrics_token=dict(type="str", no_log=True),
            tenant=dict(type="str"),
            max_clients=dict(type="int"),
            validate_certs=dict(type="bool", default=True),
        )),
        top_n=dict(type="int", default=10),
        statements_min_calls=dict(type="int", default=10),
        table_schemas=dict(type="list", elements="str", default=["public"]),
        history_tail=dict(type="int", default=10),
        sample_timeout=dict(type="float", default=10),
        chart=dict(type="bool", default=True),
    )
    argument_spec.update(check_argument_spec("fail_on_failed", "waivers", "error_status"))
    module = new_module(argument_spec, supports_check_mode=True, url_options=("probe_db_url",))
    # The pooler's admin console URL is inside the pooler option: its password pieces too, also when invalid.
    module.no_log_values.update(url_secrets((module.params["pooler"] or {}).get("admin_url")))
    run_module(module, body, error_check="watch")


if __name__ == "__main__":
    main()
