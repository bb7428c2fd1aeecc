-- pgTAP tests of the hotdash RLS policies (run by `supabase test db`, or by hotdash.supabase.rls_check,
-- which runs the file in one transaction and always rolls it back).
begin;
create extension if not exists pgtap with schema extensions;
set local search_path = public, extensions;

select plan(8);

select ok((select relrowsecurity from pg_class where oid = 'public.facts'::regclass), 'facts has RLS enabled');
select ok((select relrowsecurity from pg_class where oid = 'public.agents'::regclass), 'agents has RLS enabled');
select ok((select relrowsecurity from pg_class where oid = 'public.agent_approvals'::regclass),
          'agent_approvals has RLS enabled');
select policies_are('public', 'facts', array['facts of the current project'], 'facts has exactly its project policy');
select policies_are('public', 'observability_logs', array[]::name[], 'observability_logs has no policy (service_role only)');

-- As anon without a project: nothing.
set local role anon;
select is((select count(*) from public.facts)::int, 0, 'anon sees no facts without a project');
reset role;

-- As authenticated in project occ: only occ facts.
select set_config('app.current_project', 'occ', true);
set local role authenticated;
select is((select count(*) from public.facts where project <> 'occ')::int, 0, 'occ sees no facts of other projects');
select is((select count(*) from public.observability_logs)::int, 0, 'authenticated sees no logs');
reset role;

select * from finish();
rollback;
