-- Data integrity checks (runbook "Step 3: Verification", item 3).
-- Plain SQL: `psql $STAGING_DB_URL -f docs/runbooks/data_integrity_checks.sql` still works. Each
-- "-- check: <name>" header starts a check for hotdash.supabase.sql_check; the "-- key: value" lines right
-- under it annotate it:
--   expect:   what passes (default "rows == 0": the query lists the offending rows), e.g. "value <= 0.005"
--   tables:   tables the check needs; a missing one reports "skipped: table missing" (or fails, by configuration)
--   severity: fail (default) or warn
--   remedy:   what to do when it fails
--   trigger:  the rollback trigger a failure that is new after the apply stands for (default integrity_failure)
-- current_setting('hotdash.since') is the start of the window a check measures: the moment the apply started when
-- verify runs after an apply, the last 15 minutes in the baseline before it, every row (-infinity) otherwise.

-- check: agent_approvals without agent
-- expect: value == 0
-- tables: agent_approvals, agents
-- remedy: restore the missing agents or delete the orphaned approvals (NOT EXISTS, not NOT IN: NULL-safe)
select count(*) as orphans
  from public.agent_approvals a
 where not exists (select 1 from public.agents g where g.id = a.agent_id);

-- check: product_categories margin within 0..100
-- tables: product_categories
-- remedy: fix the rollup that writes margin_pct
select shopify_product_id, margin_pct
  from public.product_categories
 where margin_pct < 0 or margin_pct > 100;

-- check: customer_segments without negative totals
-- tables: customer_segments
select segment, customers, revenue
  from public.customer_segments
 where customers < 0 or revenue < 0;

-- check: facts have a project
-- tables: facts
select id from public.facts where project is null or project = '';

-- check: error rate since the apply started
-- expect: value < 0.005
-- severity: warn
-- tables: observability_logs
-- remedy: the runbook's target is < 0.5 % (a success criterion, so a warning); its rollback trigger, > 1 % for > 5 minutes, is the monitor's
select coalesce(avg((level = 'ERROR')::int), 0) as error_rate
  from public.observability_logs
 where created_at >= current_setting('hotdash.since')::timestamptz;

-- check: decision sync events reference a decision
-- tables: decision_sync_event_logs
-- remedy: decision_sync_event_logs is one of the runbook's known missing tables; create its migration
select count(*) from public.decision_sync_event_logs where decision_id is null having count(*) > 0;
