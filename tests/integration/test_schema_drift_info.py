"""schema_drift_info: the migrations built into a shadow and compared object by object with a real target."""
from ansible_collections.hotdash.supabase.plugins.module_utils.apply import ApplyOptions, run_apply

ORDERS = ("create table public.orders (id bigint primary key, owner uuid not null, total numeric);\n"
          "alter table public.orders enable row level security;\n"
          "create policy orders_owner on public.orders for select to authenticated using (owner = auth.uid());\n"
          "create index orders_owner_idx on public.orders (owner);\n"
          "create function public.order_count() returns bigint language sql stable\n"
          "  as $$ select count(*) from public.orders $$;\n")


def write(project, filename, text):
    (project / "supabase" / "migrations" / filename).write_text(text)


def applied(db, project, tmp_path, target_version=None):
    options = ApplyOptions(target_version=target_version, log_path=str(tmp_path / "apply.log"))
    run_apply(db.settings(), str(project), options)


def args(db, project, **extra):
    out = dict(db.connection_args(), project_dir=str(project), environment="staging", shadow="server",
               shadow_server_url=db.cluster["url"])
    out.update(extra)
    return out


def by_object(result):
    return dict((item["object"], item) for item in result["objects"])


def test_hand_edits_show_up_as_object_drift(db, project, tmp_path, run_module, by_name):
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_pending.sql", "create table public.pending_thing (id int primary key);\n")
    applied(db, project, tmp_path, target_version="20251101000000")
    clean = run_module("schema_drift_info", args(db, project), check_mode=True)
    assert not clean.get("failed"), clean
    assert clean["in_sync"] is True and by_name(clean)["schema_drift"]["status"] == "ok"
    assert clean["object_counts"]["same"] > 5 and clean["built"] == ["20251101000000_orders.sql"]
    assert clean["schemas"] == ["public"] and clean["restore_errors"] == []

    # What the dashboard and the SQL editor do behind the migrations' back.
    db.execute("alter policy orders_owner on public.orders using (true)")
    db.execute("create or replace function public.order_count() returns bigint language sql stable "
               "as $$ select count(*) + 1 from public.orders $$")
    db.execute("create table public.facts (id int)")
    db.execute("drop index public.orders_owner_idx")
    history, fingerprint = db.history(), db.schema_fingerprint()
    result = run_module("schema_drift_info", args(db, project))
    assert not result.get("failed"), result
    objects = by_object(result)
    assert objects["POLICY public.orders orders_owner"]["state"] == "differs"
    assert ("-CREATE POLICY orders_owner ON public.orders FOR SELECT TO authenticated USING (true)"
            in objects["POLICY public.orders orders_owner"]["diff"])
    assert objects["FUNCTION public.order_count()"]["state"] == "differs"
    assert "-    AS $$ select count(*) + 1 from public.orders $$" in objects["FUNCTION public.order_count()"]["diff"]
    assert objects["TABLE public.facts"]["state"] == "remote_only"
    assert objects["INDEX public.orders_owner_idx"]["state"] == "local_only"
    assert "TABLE public.pending_thing" not in objects  # pending: not drift with migrations=applied
    assert result["object_counts"]["differs"] == 2 and result["in_sync"] is False
    check = by_name(result)["schema_drift"]
    assert check["status"] == "warn"
    assert check["detail"].startswith("schema drift: 2 only on the target: GRANTS ON TABLE public.facts, TABLE public.facts;"
                                      " 1 only built by the migrations: INDEX public.orders_owner_idx; 2 defined "
                                      "differently: FUNCTION public.order_count(), POLICY public.orders orders_owner")
    assert db.history() == history and db.schema_fingerprint() == fingerprint
    assert db.query("select datname from pg_database where datname like 'hotdash_shadow_%'") == []

    every_file = run_module("schema_drift_info",
                            args(db, project, migrations="all", severity="fail", fail_on_failed=True))
    assert every_file["failed"] and every_file["msg"].startswith("schema drift failed: schema_drift: schema drift:")
    assert by_object(every_file)["TABLE public.pending_thing"]["state"] == "local_only"


def test_a_migration_needing_remote_only_objects_is_reported_and_the_rest_builds(db, project, tmp_path,
                                                                                 run_module, by_name):
    # The runbook's case: facts was created outside this repository, a local migration builds on it.
    db.execute("create table public.facts (id int primary key, project text)")
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_facts_index.sql", "create index facts_project on public.facts (project);\n")
    write(project, "20251101000200_more.sql", "create table public.more (id int);\n")
    run_apply(db.settings(), str(project), ApplyOptions(log_path=str(tmp_path / "apply.log")))
    result = run_module("schema_drift_info",
                        args(db, project, environment="production", shadow="local", shadow_server_url=None))
    assert not result.get("failed"), result
    failure = result["build_failures"][0]
    assert failure["file"] == "20251101000100_facts_index.sql" and failure["statement"] == 1
    assert failure["error"] == 'relation "public.facts" does not exist (SQLSTATE 42P01)'
    assert result["built"] == ["20251101000000_orders.sql", "20251101000200_more.sql"]
    objects = by_object(result)
    assert objects["TABLE public.facts"]["state"] == "remote_only"
    assert objects["INDEX public.facts_project"]["state"] == "remote_only"
    assert "TABLE public.more" not in objects and result["shadow"]["location"] == "local"
    check = by_name(result)["schema_drift"]
    assert check["status"] == "fail"  # production
    assert ("1 migration(s) do not build from scratch (first: 20251101000100_facts_index.sql: relation "
            "\"public.facts\" does not exist (SQLSTATE 42P01))") in check["detail"]
