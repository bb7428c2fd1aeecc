"""The four modules that change a database, on a database labelled production: each refuses before changing
anything until an approval bound to its exact plan is recorded, and an automatic rollback passes only with the
run key its own release returned (real PostgreSQL, modules run as Ansible runs them)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from policy_evidence import approve, label  # noqa: E402

V1, V2 = "20251015090000", "20251019090000"


def make_project(project):
    migrations, rollbacks = project / "supabase" / "migrations", project / "supabase" / "rollbacks"
    rollbacks.mkdir(parents=True, exist_ok=True)
    (migrations / ("%s_tiles.sql" % V1)).write_text("create table public.tiles (id int primary key);\n")
    (migrations / ("%s_tile_name.sql" % V2)).write_text("alter table public.tiles add column name text;\n")
    (rollbacks / ("%s_tile_name.down.sql" % V2)).write_text("alter table public.tiles drop column name;\n")
    return str(project)


def state(db):
    return (sorted(db.history()), db.schema_fingerprint(),
            db.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'tiles'"))


def refusals(db):
    return db.query("SELECT action, missing FROM hotdash_audit.refusals ORDER BY id")


def test_apply_needs_an_approval_of_its_exact_plan(db, project, run_module):
    path = make_project(project)
    label(db)
    args = dict(db.connection_args(), project_dir=path, environment="production", log_path=os.devnull,
                run_id="r1", inventory_host="prod")
    before = state(db)
    refused = run_module("migration_apply", args)
    assert refused["failed"] and "\n" not in refused["msg"]
    assert refused["msg"].startswith("migration_apply refused by the production policy #1 of this database: no "
                                     "apply_production approval covers plan sha256:")
    assert "2 version(s): %s, %s" % (V1, V2) in refused["msg"]
    assert state(db) == before and refusals(db) == [("migration_apply", ["approval"])]

    plan = run_module("migration_apply", args, check_mode=True)
    digest = plan["policy_check"]["plan_digest"]
    assert plan["policy_check"]["refusal"].startswith("migration_apply refused") and state(db) == before
    approve(db, digest)
    # a migration changed after the approval: the approval no longer covers the plan
    migration = project / "supabase" / "migrations" / ("%s_tile_name.sql" % V2)
    migration.write_text("alter table public.tiles add column name varchar(40);\n")
    changed = run_module("migration_apply", args)
    assert changed["failed"] and "the newest apply_production approval (#1 by ana) is for plan %s" % digest[:19] \
        in changed["msg"]
    assert state(db) == before
    migration.write_text("alter table public.tiles add column name text;\n")

    applied = run_module("migration_apply", args)
    assert not applied.get("failed"), applied["msg"]
    assert [a["version"] for a in applied["applied"]] == [V1, V2]
    release = applied["policy_check"]["release"]
    assert applied["policy_check"]["approval_id"] == 1 and len(release["run_key"]) == 64
    assert db.query("SELECT id, versions FROM hotdash_audit.release_runs") == [(release["id"], [V1, V2])]
    assert run_module("migration_apply", args)["changed"] is False      # nothing left: no approval needed


def test_repair_and_rollback_and_read_only_are_guarded_too(db, project, run_module):
    path = make_project(project)
    applied = run_module("migration_apply", dict(db.connection_args(), project_dir=path, log_path=os.devnull))
    assert not applied.get("failed")
    label(db)
    before = state(db)

    repair = dict(db.connection_args(), project_dir=path, state="reverted", versions=[V2], environment="production")
    refused = run_module("migration_repair", repair)
    assert refused["failed"] and "no drift_resolution approval covers plan" in refused["msg"]
    rollback = dict(db.connection_args(), project_dir=path, strategy="down_scripts", versions=[V2],
                    environment="production", log_dir=str(project / "logs"),
                    trigger={"reason": "verify failed"})
    refused = run_module("migration_rollback", rollback)
    assert refused["failed"] and "automatic rollback refused: a trigger without the run key" in refused["msg"]
    read_only = dict(db.connection_args(), state="on", environment="production")
    refused = run_module("db_read_only", read_only)
    assert refused["failed"] and "no production_rollback approval of this database" in refused["msg"]
    assert state(db) == before
    assert "default_transaction_read_only=on" not in str(db.query(
        "SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())"))
    assert [row[0] for row in refusals(db)] == ["migration_repair:reverted", "migration_rollback:down_scripts",
                                                "db_read_only:on"]
    assert not os.path.exists(str(project / "logs"))

    # a person approves the rollback plan: it runs
    digest = run_module("migration_rollback", dict(rollback, trigger=None), check_mode=True)["policy_check"]["plan_digest"]
    approve(db, digest, gate="production_rollback")
    done = run_module("migration_rollback", dict(rollback, trigger=None))
    assert not done.get("failed"), done["msg"]
    assert done["reverted"] == [V2] and done["policy_check"]["approval_id"]


def test_an_automatic_rollback_of_its_own_release_needs_no_new_approval(db, project, run_module):
    path = make_project(project)
    label(db)
    args = dict(db.connection_args(), project_dir=path, environment="production", log_path=os.devnull)
    approve(db, run_module("migration_apply", args, check_mode=True)["policy_check"]["plan_digest"])
    run_key = run_module("migration_apply", args)["policy_check"]["release"]["run_key"]
    trigger = {"reason": "verify failed: rls", "evidence": {"failed_checks": ["rls enabled"]}}
    read_only = run_module("db_read_only", dict(db.connection_args(), state="on", environment="production",
                                                trigger=trigger, run_key=run_key))
    assert read_only["changed"] and read_only["policy_check"]["approval_id"] is None
    rolled = run_module("migration_rollback", dict(db.connection_args(), project_dir=path, strategy="down_scripts",
                                                   versions=[V2], environment="production", trigger=trigger,
                                                   run_key=run_key, log_dir=str(project / "logs")))
    assert not rolled.get("failed"), rolled["msg"]
    assert rolled["reverted"] == [V2] and rolled["policy_check"]["trigger_id"]
    assert run_key not in str(rolled) and run_key not in str(read_only)
    assert db.query("SELECT reason, versions FROM hotdash_audit.rollback_triggers") == [("verify failed: rls", [V2])]


def test_a_backup_the_collection_takes_is_the_evidence_backup_max_age_reads(db, project, run_module, tmp_path):
    path = make_project(project)
    label(db, backup_max_age=3600)
    args = dict(db.connection_args(), project_dir=path, environment="production", log_path=os.devnull)
    approve(db, run_module("migration_apply", args, check_mode=True)["policy_check"]["plan_digest"])
    refused = run_module("migration_apply", args)
    assert refused["failed"] and "no backup recorded in hotdash_audit.backups" in refused["msg"]
    backup = dict(db.connection_args(), provider="pg_dump", environment="production", backup_dir=str(tmp_path / "b"),
                  host_label="prod")
    taken = run_module("backup", backup)
    assert taken["changed"] and taken["backup_record_id"]
    row = db.query("SELECT provider, location, size_bytes > 0, length(sha256) FROM hotdash_audit.backups")
    assert row == [("pg_dump", taken["path"], True, 64)]
    # a backup another provider observes is recorded once, however often it is looked at
    observe = dict(db.connection_args(), provider="path", environment="production", backup_dir=str(tmp_path / "b"))
    first, again = run_module("backup", observe), run_module("backup", observe)
    assert first["changed"] is True and again["changed"] is False
    assert again["backup_record_id"] == first["backup_record_id"] != taken["backup_record_id"]
    assert not run_module("migration_apply", args).get("failed")
