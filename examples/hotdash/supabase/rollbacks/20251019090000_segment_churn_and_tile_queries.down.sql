-- Undo 20251019090000_segment_churn_and_tile_queries.sql
drop view if exists public.dashboard_tiles;
alter table public.customer_segments drop column if exists churn_pct;
