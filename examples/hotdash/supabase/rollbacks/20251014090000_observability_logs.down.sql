-- Undo 20251014090000_observability_logs.sql (drops the logs: only for staging resets)
drop table if exists public.observability_logs;
