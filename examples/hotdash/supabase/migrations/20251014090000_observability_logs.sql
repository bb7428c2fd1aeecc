-- Application logs the monitor phase reads for the error rate.
create table if not exists public.observability_logs (
  id bigint generated always as identity primary key,
  level text not null check (level in ('DEBUG', 'INFO', 'WARN', 'ERROR')),
  source text not null default 'app',
  message text not null,
  created_at timestamptz not null default now()
);

create index if not exists observability_logs_created_at_idx on public.observability_logs (created_at);

alter table public.observability_logs enable row level security;
-- No policy on purpose: only service_role (which bypasses RLS) reads and writes logs.
