"""status.yml reports schema drift object by object: what the applied migrations build, compared with the target."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import NEW_VERSION, baseline, run_playbook, write_inventory  # noqa: E402


def test_status_names_a_policy_changed_in_the_dashboard_and_a_function_edited_by_hand(make_db, run_module, tmp_path):
    stg = make_db("stg")
    baseline(run_module, stg, version=NEW_VERSION)
    inventory = write_inventory(tmp_path, {"stg1": ("staging", stg)},
                                {"supabase_status_schema_drift": True, "supabase_shadow": "server",
                                 "supabase_shadow_server_url": stg.cluster["url"]})
    clean = run_playbook(tmp_path, "status", inventory)
    assert clean.rc == 0, clean
    with open(os.path.join(clean.run_dirs()[-1], "stg1", "status.json")) as handle:
        schema = dict((c["name"], c) for c in json.load(handle)["checks"])["schema_drift"]
    assert schema["status"] == "ok", schema

    # What the runbook's P0 drift is about, invisible in the history table: edits made outside the migrations.
    policy = stg.query("select schemaname, tablename, policyname from pg_policies where schemaname = 'public' "
                       "order by 2, 3 limit 1")[0]
    stg.execute('alter policy "%s" on %s.%s using (false)' % (policy[2], policy[0], policy[1]))
    function = stg.scalar("select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                          "where n.nspname = 'public' and p.prokind = 'f' order by 1 limit 1")
    stg.execute("alter function %s set work_mem = '64MB'" % function)
    stg.execute("create table public.dashboard_notes (id bigint primary key)")
    before = (stg.schema_fingerprint(), stg.history())
    drifted = run_playbook(tmp_path, "status", inventory)
    assert drifted.rc == 0, drifted
    with open(os.path.join(drifted.run_dirs()[-1], "stg1", "status.json")) as handle:
        doc = json.load(handle)
    schema = dict((c["name"], c) for c in doc["checks"])["schema_drift"]
    assert schema["status"] == "warn"  # staging; production fails
    assert "TABLE public.dashboard_notes" in schema["detail"]
    assert "POLICY public.%s %s" % (policy[1], policy[2]) in schema["detail"]
    assert "FUNCTION public.%s" % function in schema["detail"]
    counts = json.loads(doc["meta"]["objects"])
    assert counts["remote_only"] == 3 and counts["differs"] == 2 and counts["local_only"] == 0, counts
    with open(os.path.join(drifted.run_dirs()[-1], "index.md")) as handle:
        assert "in sync, 5 object(s) drifted" in handle.read()
    assert (stg.schema_fingerprint(), stg.history()) == before
    assert ":%s@" % stg.password not in drifted.output
