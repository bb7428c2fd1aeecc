"""migration_readiness_info: drift, naming, order, rollback exercise and the promotion gate on real databases."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import audit, history
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import connect
from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

M1 = ("20251011000000", "agents", "CREATE TABLE IF NOT EXISTS public.agents (id bigint PRIMARY KEY);\n")
M2 = ("20251012000000", "approvals", "CREATE TABLE IF NOT EXISTS public.agent_approvals (id bigint);\n")
M3 = ("20251019000000", "index", "ALTER TABLE public.agents ADD COLUMN IF NOT EXISTS note text;\n")


def write(project, migration):
    version, name, sql = migration
    (project / "supabase" / "migrations" / ("%s_%s.sql" % (version, name))).write_text(sql)


def record(database, *migrations, sql_override=None):
    conn = connect(database.settings(), autocommit=True)
    with conn.cursor() as cur:
        history.ensure_history_table(cur)
        for version, name, sql in migrations:
            history.insert_history(cur, version, name, split_statements(sql_override or sql))
    conn.close()


def exercise(database, versions):
    conn = connect(database.settings(), autocommit=True)
    with conn.cursor() as cur:
        audit.record_rollback_exercise(cur, environment="staging", strategy="down_scripts", versions=versions,
                                       succeeded=True, run_id="test")
    conn.close()


def down(project, migration):
    rollbacks = project / "supabase" / "rollbacks"
    rollbacks.mkdir(exist_ok=True)
    (rollbacks / ("%s_%s.down.sql" % migration[:2])).write_text("SELECT 1;\n")


def by_name(result):
    return dict((c["name"], c["status"]) for c in result["checks"]), dict((c["name"], c) for c in result["checks"])


@pytest.fixture
def prod_and_staging(make_db, project):
    prod, staging = make_db("prod"), make_db("stg")
    for migration in (M1, M2, M3):
        write(project, migration)
        down(project, migration)
    record(prod, M1, M2)
    return prod, staging


def args(prod, staging, project, **extra):
    base = dict(prod.connection_args(), staging_db_url=staging.url, project_dir=str(project),
                environment="production")
    base.update(extra)
    return base


def test_production_passes_when_staging_has_identical_statements_and_exercise(prod_and_staging, project,
                                                                              run_module):
    prod, staging = prod_and_staging
    record(staging, M1, M2, M3)
    exercise(staging, [M3[0]])
    before = prod.schema_fingerprint()
    result = run_module("migration_readiness_info", args(prod, staging, project))
    statuses, checks = by_name(result)
    assert statuses == {"drift": "ok", "naming": "ok", "order": "ok", "rollback": "ok", "promotion": "ok"}, checks
    assert result["pending"] == [M3[0]] and result["newest_applied"] == M2[0] and result["changed"] is False
    assert prod.schema_fingerprint() == before


def test_staging_missing_a_version_production_would_get_fails_the_gate(prod_and_staging, project, run_module):
    prod, staging = prod_and_staging
    record(staging, M1, M2)
    exercise(staging, [M3[0]])
    statuses, checks = by_name(run_module("migration_readiness_info", args(prod, staging, project)))
    assert statuses["promotion"] == "fail"
    assert checks["promotion"]["data"]["missing_on_staging"] == [M3[0]]
    assert "apply exactly these files to staging first" in checks["promotion"]["remedy"]


def test_staging_with_different_statements_fails_the_gate(prod_and_staging, project, run_module):
    prod, staging = prod_and_staging
    record(staging, M1, M2)
    record(staging, M3, sql_override="ALTER TABLE public.agents ADD COLUMN note varchar(10);")
    exercise(staging, [M3[0]])
    statuses, checks = by_name(run_module("migration_readiness_info", args(prod, staging, project)))
    assert statuses["promotion"] == "fail" and checks["promotion"]["data"]["different_on_staging"] == [M3[0]]


def test_production_without_rollback_exercise_or_down_script_fails(prod_and_staging, project, run_module):
    prod, staging = prod_and_staging
    record(staging, M1, M2, M3)
    statuses, checks = by_name(run_module("migration_readiness_info", args(prod, staging, project)))
    assert statuses["rollback"] == "fail" and "no successful rollback exercise on staging" in \
        checks["rollback"]["detail"]
    (project / "supabase" / "rollbacks" / ("%s_%s.down.sql" % M3[:2])).unlink()
    exercise(staging, [M3[0]])
    statuses, checks = by_name(run_module("migration_readiness_info", args(prod, staging, project)))
    assert statuses["rollback"] == "fail" and "no down script" in checks["rollback"]["detail"]
    waived = run_module("migration_readiness_info", args(prod, staging, project,
                                                         waivers={"rollback": "forward-only column add, CHG-3"}))
    assert by_name(waived)[0]["rollback"] == "waived" and waived["passed"] is True


def test_drift_remote_only_and_out_of_order_fail(prod_and_staging, project, run_module):
    prod, staging = prod_and_staging
    record(prod, ("20251013000000", "remote_only", "SELECT 1;"))
    write(project, ("20251010000000", "late", "SELECT 1;\n"))
    statuses, checks = by_name(run_module("migration_readiness_info", args(prod, staging, project,
                                                                           environment="staging")))
    assert statuses["drift"] == "fail" and "20251013000000" in checks["drift"]["detail"]
    assert statuses["order"] == "fail" and "20251010000000" in checks["order"]["detail"]
    assert statuses["promotion"] == "skipped"
    allowed = by_name(run_module("migration_readiness_info", args(prod, staging, project, environment="staging",
                                                                  allow_out_of_order=True)))[0]
    assert allowed["order"] == "warn"


def test_naming_fails_in_production_and_warns_on_staging(make_db, project, run_module):
    target = make_db()
    write(project, ("20251015", "dashboard_rpc_functions", "SELECT 1;\n"))
    stg = by_name(run_module("migration_readiness_info", dict(target.connection_args(), project_dir=str(project),
                                                              environment="staging")))
    assert stg[0]["naming"] == "warn" and "20251015_dashboard_rpc_functions.sql" in stg[1]["naming"]["detail"]
    prod = by_name(run_module("migration_readiness_info", dict(target.connection_args(), project_dir=str(project),
                                                               environment="production", promotion_gate=False,
                                                               require_rollback_exercise=False)))
    assert prod[0]["naming"] == "fail"


def test_production_without_staging_url_fails_closed(prod_and_staging, project, run_module):
    prod = prod_and_staging[0]
    result = run_module("migration_readiness_info", dict(prod.connection_args(), project_dir=str(project),
                                                         environment="production"))
    statuses, checks = by_name(result)
    assert statuses["promotion"] == "fail" and "supabase_staging_db_url" in checks["promotion"]["remedy"]


def test_bad_inputs_are_one_line_errors(db, project, run_module):
    result = run_module("migration_readiness_info", dict(db.connection_args(), project_dir=str(project / "x"),
                                                         environment="staging"))
    assert result["failed"] is True and "migrations directory not found" in result["msg"] and "\n" not in result["msg"]
    bad_url = run_module("migration_readiness_info", dict(db.connection_args(), project_dir=str(project),
                                                          staging_db_url="mysql://u:pw@h/db", environment="staging"))
    assert bad_url["failed"] is True and bad_url["msg"].startswith(
        "staging_db_url must be a ") and "scheme 'mysql'" in bad_url["msg"] and ":pw@" not in bad_url["msg"]
