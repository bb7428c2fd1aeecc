-- Facts are partitioned by project; a session sees only the rows of the project it declares with
-- SET app.current_project = '...' (the dashboard backend does this per request).
create table if not exists public.facts (
  id bigint generated always as identity primary key,
  project text not null,
  key text not null,
  value jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index if not exists facts_project_key_idx on public.facts (project, key);

alter table public.facts enable row level security;

create policy "facts of the current project"
  on public.facts for select
  to authenticated, anon
  using (project = current_setting('app.current_project', true));
