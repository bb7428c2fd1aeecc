-- Undo 20251011090000_agents_and_approvals.sql
drop table if exists public.agent_approvals;
drop table if exists public.agents;
