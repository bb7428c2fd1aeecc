-- RPC functions the dashboard tiles call through PostgREST.
create or replace function public.get_revenue_metrics(range_start timestamptz, range_end timestamptz)
returns table (segments integer, customers bigint, revenue numeric)
language sql
stable
security invoker
set search_path = public
as $$
  select count(*)::integer, coalesce(sum(customers), 0)::bigint, coalesce(sum(revenue), 0)
  from public.customer_segments
  where updated_at >= range_start and updated_at < range_end;
$$;

create or replace function public.get_inventory_summary()
returns jsonb
language plpgsql
stable
security invoker
set search_path = public
as $$
declare
  summary jsonb;
begin
  select coalesce(jsonb_object_agg(inventory_velocity, n), '{}'::jsonb)
    into summary
    from (select inventory_velocity, count(*) as n
            from public.product_categories
           group by inventory_velocity) counts;
  return summary;
end;
$$;

create or replace function public.get_approvals_pending_count()
returns bigint
language sql
stable
security invoker
set search_path = public
as $$
  select count(*) from public.agent_approvals where status = 'pending';
$$;

grant execute on function public.get_revenue_metrics(timestamptz, timestamptz) to authenticated, service_role;
grant execute on function public.get_inventory_summary() to authenticated, service_role;
grant execute on function public.get_approvals_pending_count() to authenticated, service_role;
