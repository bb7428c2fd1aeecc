-- Undo 20251015090000_dashboard_rpc_functions.sql
drop function if exists public.get_approvals_pending_count();
drop function if exists public.get_inventory_summary();
drop function if exists public.get_revenue_metrics(timestamptz, timestamptz);
