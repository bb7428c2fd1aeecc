-- Undo 20251013090000_facts_with_project_rls.sql
drop table if exists public.facts;
