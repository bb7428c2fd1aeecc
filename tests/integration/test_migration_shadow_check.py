"""migration_shadow_check: the pending migrations tried on a shadow copy of a real target, the real CLI linting it.

Most tests put the shadow on the test cluster itself (shadow=server, a scratch database dropped afterwards);
one starts the default local cluster, as a user's run does.
"""
import os
import shutil
import tempfile

import pytest

ORDERS = ("create table public.orders (id bigint primary key, owner uuid not null,\n"
          "  created_at timestamptz default now(), ref uuid default uuid_generate_v4());\n"
          "alter table public.orders enable row level security;\n"
          "create policy orders_owner on public.orders for select to authenticated using (owner = auth.uid());\n")
# plpgsql_check sees what no parser can: the column "amount" does not exist.
BROKEN_FUNCTION = ("create function public.order_amount(p_id bigint) returns numeric language plpgsql\n"
                   "set search_path = '' as $$\n"
                   "declare v numeric;\n"
                   "begin\n"
                   "  select amount into v from public.orders where id = p_id;\n"
                   "  return v;\n"
                   "end $$;\n")
# A warning (--level warning reports it): an unused variable.
QUIET_FUNCTION = ("create function public.quiet(a int) returns int language plpgsql set search_path = '' as $$\n"
                  "declare unused int; begin return a; end $$;\n")


def write(project, filename, text):
    (project / "supabase" / "migrations" / filename).write_text(text)


def shadow_dbs(db):
    return [row[0] for row in db.query("select datname from pg_database where datname like 'hotdash_shadow_%'")]


def state(db):
    return db.schema_fingerprint(), db.history()


def args(db, project, **extra):
    out = dict(db.connection_args(), project_dir=str(project), environment="staging", shadow="server",
               shadow_server_url=db.cluster["url"], lint=False, advisors=False)
    out.update(extra)
    return out


def test_a_failing_migration_is_named_by_file_and_statement_and_nothing_changes(db, project, run_module, by_name):
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_notes.sql", "alter table public.orders add column note text;\n"
                                               "alter table public.orders drop column nope;\n"
                                               "select 1;\n")
    write(project, "20251101000200_index.sql", "create index orders_owner_idx on public.orders (owner);\n")
    before = state(db)
    result = run_module("migration_shadow_check", args(db, project), check_mode=True)
    assert not result.get("failed"), result
    check = by_name(result)["dry_run"]
    assert check["status"] == "warn"  # staging; production fails (severity=auto)
    assert ("migration 20251101000100_notes.sql would fail at statement 2 of 3 (alter table public.orders drop "
            "column nope): column \"nope\" of relation \"orders\" does not exist (SQLSTATE 42703); nothing was "
            "changed on the target") in check["detail"]
    failed = result["dry_run"]["failed"]
    assert (failed["file"], failed["statement"], failed["statements"]) == ("20251101000100_notes.sql", 2, 3)
    # uuid_generate_v4() resolves through the target's search_path (extensions), as it will on the target.
    assert [a["file"] for a in result["dry_run"]["applied"]] == ["20251101000000_orders.sql"]
    assert result["dry_run"]["not_reached"] == ["20251101000200_index.sql"]
    assert result["dry_run"]["shadow"]["location"] == "server" and result["changed"] is False
    assert state(db) == before and shadow_dbs(db) == []

    failing = run_module("migration_shadow_check", args(db, project, severity="fail", fail_on_failed=True))
    assert failing["failed"] and failing["msg"].startswith("shadow checks failed: dry_run: dry run on a shadow copy")
    assert "\n" not in failing["msg"] and state(db) == before


def test_a_clean_release_passes_and_what_apply_would_refuse_is_skipped(db, project, run_module, by_name,
                                                                       supabase_cli):
    write(project, "20251101000000_orders.sql", ORDERS)
    result = run_module("migration_shadow_check", args(db, project))
    assert by_name(result)["dry_run"]["status"] == "ok", result
    assert "all 1 pending migration(s) applied on a shadow copy" in by_name(result)["dry_run"]["detail"]
    assert result["dry_run"]["restore_errors"] == []

    db.execute("create schema supabase_migrations; create table supabase_migrations.schema_migrations "
               "(version text primary key, statements text[], name text); insert into "
               "supabase_migrations.schema_migrations values ('20251001000000', '{}', 'remote_only')")
    refused = run_module("migration_shadow_check", args(db, project, lint=True, cli_path=supabase_cli))
    assert not refused.get("failed"), refused
    assert [c["status"] for c in refused["checks"]] == ["skipped", "skipped"]
    assert "migration_apply would refuse: refusing to apply: 1 version(s) in the remote history have no local file" \
        in by_name(refused)["dry_run"]["detail"]
    assert shadow_dbs(db) == []


def test_bad_shadow_choices_are_one_line_errors_and_change_nothing(db, project, run_module):
    write(project, "20251101000000_orders.sql", ORDERS)
    before = state(db)
    same_server = run_module("migration_shadow_check", args(db, project, environment="production"))
    assert same_server["failed"]
    assert same_server["msg"] == ("refusing to create a shadow database on 127.0.0.1:%d, the production target's own "
                                  "server; use shadow=local (a cluster on this controller) or a separate "
                                  "shadow_server_url" % db.port)
    no_url = run_module("migration_shadow_check", args(db, project, shadow_server_url=None))
    assert no_url["failed"] and no_url["msg"].startswith("shadow=server needs shadow_server_url")
    bad_bin = run_module("migration_shadow_check", args(db, project, shadow="local", shadow_server_url=None,
                                                        pg_bin_dir=str(project)))
    assert bad_bin["failed"] and "pg_dump not found in %s" % project in bad_bin["msg"]
    assert state(db) == before and shadow_dbs(db) == []


@pytest.fixture
def private_tmp(monkeypatch):
    """A temp dir of the test's own (the shadow's files and dumps go there), to prove they are all removed."""
    path = tempfile.mkdtemp(prefix="hotdash-test-tmp-")
    os.chmod(path, 0o755)  # as root the cluster runs as postgres, which must reach its files
    monkeypatch.setattr(tempfile, "tempdir", path)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_db_lint_on_a_local_shadow_reports_the_missing_column(db, project, run_module, by_name, supabase_cli,
                                                              private_tmp):
    """The default shadow (a cluster started for the run) with the real supabase db lint and db advisors."""
    # A broken function the target already has: reported, but as the target's, not the release's.
    db.execute("create function public.legacy() returns int language plpgsql as $$ declare r int; "
               "begin select nothing_here into r from auth.users; return r; end $$")
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_amount.sql", BROKEN_FUNCTION + QUIET_FUNCTION)
    before = state(db)
    result = run_module("migration_shadow_check", dict(
        db.connection_args(), project_dir=str(project), environment="production", cli_path=supabase_cli))
    assert not result.get("failed"), result
    checks = by_name(result)
    assert checks["dry_run"]["status"] == "ok" and result["dry_run"]["shadow"]["location"] == "local"
    lint = checks["db_lint"]
    assert lint["status"] == "fail", lint
    assert "public.order_amount: error column \"amount\" does not exist (SQLSTATE 42703)" in lint["detail"]
    assert [(i["function"], i["level"]) for i in lint["data"]["introduced"]] == [
        ("public.order_amount", "error"), ("public.quiet", "warning")]
    assert "unused variable \"unused\"" in lint["data"]["introduced"][1]["message"]
    assert "public.legacy" in [i["function"] for i in lint["data"]["existing"]]
    advisors = checks["shadow_advisors"]
    assert advisors["status"] == "warn"  # the new table has RLS; the new function's search_path is fixed
    assert all(f["metadata"]["name"] != "legacy" for f in advisors["data"]["introduced"])
    assert result["passed"] is False
    assert state(db) == before
    assert os.listdir(private_tmp) == []  # the local cluster, its data and the dumps are gone


# migration_apply's dry run (check mode + dry_run): the same shadow, through the module a release runs.
RAISING_BLOCK = ("do $$\n"
                 "begin\n"
                 "  perform amount from public.orders;\n"
                 "end $$;\n")


def apply_args(db, project, **extra):
    out = dict(db.connection_args(), project_dir=str(project), environment="staging", dry_run=True,
               shadow="server", shadow_server_url=db.cluster["url"])
    out.update(extra)
    return out


def test_apply_dry_run_names_the_failing_plpgsql_statement_before_the_window(db, project, run_module):
    write(project, "20251101000000_orders.sql", ORDERS)
    write(project, "20251101000100_backfill.sql", "alter table public.orders add column note text;\n" + RAISING_BLOCK)
    write(project, "20251101000200_index.sql", "create index orders_owner_idx on public.orders (owner);\n")
    before = state(db)
    # The plan alone (what check mode said so far) cannot see it: a parser reads a valid DO block.
    plan = run_module("migration_apply", apply_args(db, project, dry_run=False), check_mode=True)
    assert not plan.get("failed") and len(plan["plan"]) == 3, plan

    result = run_module("migration_apply", apply_args(db, project), check_mode=True)
    assert result["failed"]
    assert result["msg"].startswith("dry run on a shadow copy of ")
    assert result["msg"].endswith(
        "/%s: migration 20251101000100_backfill.sql would fail at statement 2 of 2 (do $$ begin perform amount from "
        "public.orders; end $$): column \"amount\" does not exist (SQLSTATE 42703); nothing was changed on the "
        "target" % db.settings().dbname)
    assert (result["failed_file"], result["failed_version"], result["failed_statement"]) == (
        "20251101000100_backfill.sql", "20251101000100", 2)
    assert result["failed_error"].startswith('column "amount" does not exist')
    assert result["not_reached"] == ["20251101000200_index.sql"] and result["changed"] is False
    assert state(db) == before and shadow_dbs(db) == []

    # A report-writing caller (error_status) gets the same as the apply's checks; still nothing changed.
    reported = run_module("migration_apply", apply_args(db, project, error_status="warn"), check_mode=True)
    assert not reported.get("failed"), reported
    apply_check = [c for c in reported["checks"] if c["name"] == "apply (check mode)"][0]
    assert apply_check["status"] == "warn" and "would fail at statement 2 of 2" in apply_check["detail"]
    assert state(db) == before and shadow_dbs(db) == []


def test_apply_dry_run_of_a_clean_plan_says_where_it_was_tried(db, project, run_module, by_name):
    write(project, "20251101000000_orders.sql", ORDERS)
    before = state(db)
    result = run_module("migration_apply", apply_args(db, project), check_mode=True)
    assert not result.get("failed"), result
    assert result["changed"] is True and [a["file"] for a in result["dry_run"]["applied"]] == [
        "20251101000000_orders.sql"]
    assert by_name(result)["dry_run"]["status"] == "ok"
    assert result["dry_run"]["shadow"]["location"] == "server"
    assert state(db) == before and shadow_dbs(db) == []
    # Outside check mode dry_run changes nothing about the apply (the apply is the test).
    applied = run_module("migration_apply", apply_args(db, project, shadow="local", shadow_server_url=None))
    assert [a["version"] for a in applied["applied"]] == ["20251101000000"] and "dry_run" not in applied


def test_a_missing_cli_is_the_tools_checks_and_the_dry_run_still_runs(db, project, run_module, by_name, tmp_path):
    write(project, "20251101000000_orders.sql", ORDERS)
    missing = str(tmp_path / "no-such-supabase")
    result = run_module("migration_shadow_check", args(db, project, lint=True, advisors=True, cli_path=missing))
    assert not result.get("failed"), result
    checks = by_name(result)
    assert checks["dry_run"]["status"] == "ok"
    assert checks["db_lint"]["status"] == "warn"  # staging; production fails: nothing was proven
    assert checks["db_lint"]["detail"].startswith("supabase db lint could not run on the shadow: Supabase CLI not "
                                                  "found: %s" % missing)
    assert checks["shadow_advisors"]["status"] == "warn" and shadow_dbs(db) == []
