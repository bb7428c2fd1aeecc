-- RLS tests of the hotdash schema (runbook: "DATABASE_URL=... psql -f supabase/rls_tests.sql").
-- Read-only: each block sets the request context the way PostgREST does (role + request.jwt.claims, or
-- the app's app.current_project) and raises an exception when a role sees rows it must not. Any error
-- is a failure; hotdash.supabase.rls_check runs this file in a read-only transaction that is rolled back.
begin;

-- anon, without a project: no facts, no agents, no approvals, no logs.
set local role anon;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
do $$
begin
  if (select count(*) from public.facts) <> 0 then
    raise exception 'anon sees % facts without a project', (select count(*) from public.facts);
  end if;
  if (select count(*) from public.agents) <> 0 then
    raise exception 'anon sees agents';
  end if;
  if (select count(*) from public.agent_approvals) <> 0 then
    raise exception 'anon sees agent approvals';
  end if;
  if (select count(*) from public.observability_logs) <> 0 then
    raise exception 'anon sees observability logs';
  end if;
end
$$;
reset role;

-- authenticated, project occ: facts of occ only; logs stay service_role only.
select set_config('app.current_project', 'occ', true);
select set_config('request.jwt.claims', '{"role": "authenticated"}', true);
set local role authenticated;
do $$
begin
  if exists (select 1 from public.facts where project <> 'occ') then
    raise exception 'project occ sees facts of another project';
  end if;
  if (select count(*) from public.observability_logs) <> 0 then
    raise exception 'authenticated sees observability logs';
  end if;
end
$$;
reset role;

rollback;
