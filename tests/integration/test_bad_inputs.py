"""Inputs that used to surprise: each is now a one-line error naming the option and the value, and changes nothing.

docs/safety.md ("Bad inputs and their messages") lists the same cases with their messages.
"""
import json

import pytest


def one_line_failure(result, *fragments):
    assert result.get("failed") is True, result
    message = result["msg"]
    assert "\n" not in message and "Traceback" not in message and "unexpected error" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def unchanged(db):
    """What a failed module must leave as it was: tables (history table included) and their row counts."""
    return db.schema_fingerprint(), db.history()


def test_invalid_ipv6_url_names_db_url_and_masks_a_password_with_an_unencoded_at(db, run_module, project):
    url = "postgresql://postgres:p@ss-W0rd-9z@[::1/postgres?sslmode=disable"
    result = run_module("migration_info", {"db_url": url, "project_dir": str(project)})
    message = one_line_failure(result, "db_url is not a valid postgresql:// URL (Invalid IPv6 URL)",
                               "postgresql://postgres:********@[::1/postgres")
    assert "ss-W0rd-9z" not in json.dumps(result) and "p@ss" not in message


def test_unknown_url_option_names_the_option(db, run_module, project):
    before = unchanged(db)
    result = run_module("migration_info", {"db_url": db.url + "&sslmod=disable", "project_dir": str(project)})
    one_line_failure(result, "db_url has an unknown connection option 'sslmod'")
    assert db.password not in result["msg"].replace("postgres@", "").replace("postgresql://postgres:", "")
    assert unchanged(db) == before


@pytest.mark.parametrize("module", ["migration_apply", "migration_info"])
def test_project_dir_without_supabase_migrations_is_an_error(db, run_module, tmp_path, module):
    (tmp_path / "supabase").mkdir()
    before = unchanged(db)
    result = run_module(module, {"db_url": db.url, "project_dir": str(tmp_path), "log_path": str(tmp_path / "x.log")}
                        if module == "migration_apply" else {"db_url": db.url, "project_dir": str(tmp_path)})
    one_line_failure(result, "project_dir %s has no supabase/migrations directory" % tmp_path)
    assert unchanged(db) == before and not db.table_exists("supabase_migrations.schema_migrations")


@pytest.mark.parametrize("module,args,message", [
    ("sql_check", {"checks": [{"name": "orphans", "qeury": "select 1"}]},
     "integrity check 'orphans' has unknown key 'qeury'; allowed: allow, description, expect, name, orphans, query, "
     "remedy, severity, tables, trigger"),
    ("rpc_check", {"functions": [{"name": "get_revenue_metrics", "budget_sec": 1}]},
     "function 'get_revenue_metrics' has unknown key 'budget_sec'; allowed: args, budget, budget_status, calls, "),
    ("smoke_check", {"writes": [{"name": "w", "table": "agents", "vaules": {"id": 1}}]},
     "smoke write 'w' has unknown key 'vaules'; allowed: "),
    ("smoke_check", {"reads": [{"table": "agents", "min_row": 1}]},
     "smoke read 'agents' has unknown key 'min_row'; allowed: "),
])
def test_misspelled_check_key_names_the_key_and_what_is_allowed(hotdash, run_module, module, args, message):
    before = unchanged(hotdash)
    result = run_module(module, dict(hotdash.connection_args(), **args))
    one_line_failure(result, message)
    assert unchanged(hotdash) == before


@pytest.mark.parametrize("args,message", [
    ({"functions": [{"name": "get_inventory_summary", "calls": 0}]},
     "function 'get_inventory_summary': calls must be at least 1, got 0"),
    ({"functions": ["get_inventory_summary"], "calls": 0}, "calls must be at least 1, got 0"),
    ({"functions": [{"name": "get_inventory_summary", "budget": -5}]},
     "function 'get_inventory_summary': budget must be 0 or more (seconds), got -5"),
    ({"functions": ["get_inventory_summary"], "budget": -0.5}, "budget must be 0 or more (seconds), got -0.5"),
])
def test_rpc_calls_and_budget_are_checked(hotdash, run_module, args, message):
    result = run_module("rpc_check", dict(hotdash.connection_args(), **args))
    one_line_failure(result, message)


def test_non_numeric_migration_name_fails_naming(db, run_module, project):
    (project / "supabase" / "migrations" / "add_agents.sql").write_text("create table agents (id int);")
    result = run_module("migration_info", {"db_url": db.url, "project_dir": str(project),
                                           "severities": {"naming": "fail"}})
    one_line_failure(result, "the CLI ignores add_agents.sql (does not start with a numeric version); rename to "
                             "<YYYYMMDDHHMMSS>_<name>.sql")
    assert not db.table_exists("public.agents")


def test_non_numeric_migration_name_fails_the_preflight_naming_check_in_production(db, run_module, project, by_name):
    # The preflight's readiness module read only the files the CLI takes: add_agents.sql was not even counted.
    (project / "supabase" / "migrations" / "add_agents.sql").write_text("create table agents (id int);")
    result = run_module("migration_readiness_info", dict(db.connection_args(), project_dir=str(project),
                                                         environment="production", promotion_gate=False,
                                                         require_rollback_exercise=False))
    naming = by_name(result)["naming"]
    assert naming["status"] == "fail", naming
    assert "the CLI ignores add_agents.sql (does not start with a numeric version)" in naming["detail"]
    assert not db.table_exists("public.agents")


def test_migration_info_does_not_return_a_key_ansible_reads_as_skipped(db, run_module, project):
    (project / "supabase" / "migrations" / "notes.txt").write_text("not a migration")
    result = run_module("migration_info", {"db_url": db.url, "project_dir": str(project)})
    assert not result.get("failed"), result
    assert "skipped" not in result  # `register: r` then `r is skipped` would be true
    assert result["ignored_files"] == [{"file": "notes.txt", "reason": "not a .sql file"}]


@pytest.mark.parametrize("module,option", [("monitor_sample", "probe_db_url"),
                                           ("migration_readiness_info", "staging_db_url")])
def test_a_second_url_option_is_named_in_its_error_and_its_password_masked_whole(
        db, run_module, project, tmp_path, module, option):
    url = "postgresql://app:p@ss-Sec0nd-4k@[::1/postgres?sslmode=disable"
    args = dict(db.connection_args(), **{option: url})
    if module == "monitor_sample":
        args.update(output_dir=str(tmp_path / "out"), window=0.3, chart=False, probes=[{"name": "one", "query": "select 1"}])
    else:
        args.update(project_dir=str(project), environment="production")
    before = unchanged(db)
    result = run_module(module, args)
    # (the test database's own password is "postgres": Ansible masks that word wherever it appears)
    one_line_failure(result, "%s is not a valid " % option, " URL (Invalid IPv6 URL): ", "://app:********@[::1/")
    assert "ss-Sec0nd-4k" not in json.dumps(result) and "p@ss" not in json.dumps(result)
    assert unchanged(db) == before


def test_fetch_never_writes_a_history_row_whose_version_is_a_path(db, run_module, project):
    # Anyone who can write the history table chooses a row's version; fetch names a file after it.
    db.execute("create schema if not exists supabase_migrations; create table supabase_migrations.schema_migrations "
               "(version text primary key, statements text[], name text)")
    db.execute("insert into supabase_migrations.schema_migrations values ('../../../escaped', '{select 1}', 'x')")
    result = run_module("migration_repair", dict(db.connection_args(), project_dir=str(project), state="fetch"))
    one_line_failure(result, "cannot fetch version '../../../escaped': a migration file's version must be digits")
    assert not list(project.parent.glob("**/escaped*")) and not list(project.glob("**/*.sql"))


@pytest.mark.parametrize("module", ["migration_shadow_check", "migration_apply"])
def test_a_bad_shadow_server_url_is_named_and_its_password_masked(db, run_module, project, module):
    (project / "supabase" / "migrations" / "20251101000000_t.sql").write_text("create table public.t (id int);\n")
    url = "postgresql://app:p@ss-Sh4dow-9z@[::1/postgres?sslmode=disable"
    args = dict(db.connection_args(), project_dir=str(project), environment="staging", shadow="server",
                shadow_server_url=url)
    if module == "migration_apply":
        args["dry_run"] = True
    before = unchanged(db)
    result = run_module(module, args, check_mode=True)
    one_line_failure(result, "shadow_server_url is not a valid ", " URL (Invalid IPv6 URL): ", "://app:********@[::1/")
    assert "ss-Sh4dow-9z" not in json.dumps(result) and "p@ss" not in json.dumps(result)
    assert unchanged(db) == before
