"""Object-level comparison of two schemas and the schema_drift check (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import schema_drift
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.schema_dump import DumpEntry


def entry(kind, schema, name, sql):
    return DumpEntry(kind, schema, name, "postgres", sql)


REMOTE = [entry("TABLE", "public", "orders", "CREATE TABLE public.orders (\n    id bigint\n);"),
          entry("POLICY", "public", "orders p", "CREATE POLICY p ON public.orders USING (true);"),
          entry("TABLE", "public", "facts", "CREATE TABLE public.facts (\n    id integer\n);"),
          entry("TABLE", "auth", "users", "CREATE TABLE auth.users (\n    id uuid\n);"),
          entry("SCHEMA", "", "analytics", "CREATE SCHEMA analytics;")]
LOCAL = [entry("TABLE", "public", "orders",
               "CREATE TABLE public.orders (\n    id bigint\n);\n\n\nALTER TABLE public.orders OWNER TO supabase_admin;"),
         entry("POLICY", "public", "orders p", "CREATE POLICY p ON public.orders USING ((owner = auth.uid()));"),
         entry("INDEX", "public", "orders_idx", "CREATE INDEX orders_idx ON public.orders USING btree (id);")]


def test_each_object_is_remote_only_local_only_or_differs():
    objects, same = schema_drift.compare(REMOTE, LOCAL, ["public", "analytics"])
    states = dict((item["object"], item["state"]) for item in objects)
    assert states == {"POLICY public.orders p": "differs", "TABLE public.facts": "remote_only",
                      "INDEX public.orders_idx": "local_only", "SCHEMA analytics": "remote_only"}
    assert same == 1  # orders: only its owner differs, and owners are not compared
    policy = [item for item in objects if item["state"] == "differs"][0]
    assert policy["diff"] == ["--- remote", "+++ local", "@@ -1 +1 @@",
                              "-CREATE POLICY p ON public.orders USING (true)",
                              "+CREATE POLICY p ON public.orders USING ((owner = auth.uid()))"]


def test_compared_schemas_leave_platform_schemas_out_and_platform_entries_are_copied():
    assert schema_drift.compared_schemas(REMOTE) == ["analytics", "public"]
    assert schema_drift.compared_schemas(REMOTE, ["auth"]) == ["auth"]
    wanted = ["analytics", "public"]
    copied = [e.label() for e in REMOTE + [entry("DEFAULT ACL", "public", "DEFAULT PRIVILEGES FOR TABLES", ""),
                                           entry("ACL", "", "SCHEMA public", ""), entry("EXTENSION", "", "x", "")]
              if schema_drift.is_platform_entry(e, wanted)]
    assert copied == ["TABLE auth.users", "DEFAULT PRIVILEGES FOR TABLES IN SCHEMA public", "GRANTS ON SCHEMA public",
                      "EXTENSION x"]


def report(**extra):
    base = {"in_sync": False, "schemas": ["public"], "migrations": "applied", "built": ["a.sql"],
            "build_failures": [], "recorded_versions": 1, "objects": [], "counts": {"same": 3}}
    base.update(extra)
    return base


def test_drift_check_fails_in_production_and_warns_elsewhere():
    objects, _same = schema_drift.compare(REMOTE, LOCAL, ["public"])
    assert schema_drift.drift_check(report(objects=objects), "production")["status"] == "fail"
    check = schema_drift.drift_check(report(objects=objects), "staging")
    assert check["status"] == "warn"
    assert check["detail"] == ("schema drift: 1 only on the target: TABLE public.facts; 1 only built by the "
                               "migrations: INDEX public.orders_idx; 1 defined differently: POLICY public.orders p")
    ok = schema_drift.drift_check(report(in_sync=True), "production")
    assert ok["status"] == "ok" and "1 migration(s) the target has applied build the target's schema" in ok["detail"]
    empty = schema_drift.drift_check(report(recorded_versions=0, built=[], objects=objects), "staging")
    assert "the target's history records no version" in empty["detail"]


def test_unknown_migration_set_is_refused():
    with pytest.raises(InvalidInput, match="migrations must be one of applied, all, not 'pending'"):
        schema_drift.migrations_to_build(None, None, "pending")
