-- Agents and the approvals they request. agent_approvals.agent_id deliberately has no foreign key
-- (approvals are imported from an external queue), which is why the runbook checks for orphans.
create table if not exists public.agents (
  id uuid primary key default extensions.gen_random_uuid(),
  name text not null,
  project text not null default 'occ',
  created_at timestamptz not null default now()
);

create table if not exists public.agent_approvals (
  id bigint generated always as identity primary key,
  agent_id uuid not null,
  action text not null,
  status text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
  requested_at timestamptz not null default now(),
  decided_at timestamptz
);

create index if not exists agent_approvals_agent_id_idx on public.agent_approvals (agent_id);
create index if not exists agent_approvals_status_idx on public.agent_approvals (status);

alter table public.agents enable row level security;
alter table public.agent_approvals enable row level security;

create policy "agents readable by authenticated users"
  on public.agents for select
  to authenticated
  using (true);

create policy "approvals readable by authenticated users"
  on public.agent_approvals for select
  to authenticated
  using (true);
