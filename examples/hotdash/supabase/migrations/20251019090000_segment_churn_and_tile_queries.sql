-- New for the 2025-10-19 release: churn per segment and the tile query view.
alter table public.customer_segments add column if not exists churn_pct numeric(5, 2);

create or replace view public.dashboard_tiles
with (security_invoker = true)
as
  select 'segments'::text as tile, count(*)::bigint as value from public.customer_segments
  union all
  select 'pending_approvals', count(*) from public.agent_approvals where status = 'pending'
  union all
  select 'categories', count(*) from public.product_categories;

grant select on public.dashboard_tiles to authenticated, service_role;
