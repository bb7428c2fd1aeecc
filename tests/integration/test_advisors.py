"""db_advisors with the real Supabase CLI against real PostgreSQL."""


def test_advisors_grade_findings(hotdash, run_module, supabase_cli, by_name):
    hotdash.execute("create table public.leaky (id int primary key)")
    args = dict(hotdash.connection_args(), cli_path=supabase_cli,
                allow=["rls_enabled_no_policy:public.observability_logs"])
    result = run_module("db_advisors", args)
    checks = by_name(result)
    assert result["changed"] is False and result["cli_version"] == "2.122.1"
    assert checks["advisor: rls_disabled_in_public"]["status"] == "fail"
    assert "public.leaky" in checks["advisor: rls_disabled_in_public"]["detail"]
    assert checks["advisor: rls_enabled_no_policy"]["status"] == "waived"
    assert result["passed"] is False
    assert hotdash.table_exists("public.leaky")
    # The same database with the table allowed and the ERROR threshold off passes.
    relaxed = run_module("db_advisors", dict(args, allow=args["allow"] + ["rls_disabled_in_public:public.leaky"],
                                             fail_on_failed=True))
    assert relaxed["passed"] is True and "failed" not in relaxed


def test_missing_cli_is_one_line(hotdash, run_module):
    result = run_module("db_advisors", dict(hotdash.connection_args(), cli_path="/nonexistent/supabase"))
    assert result["failed"] is True
    assert result["msg"].startswith("Supabase CLI not found: /nonexistent/supabase")
    assert "\n" not in result["msg"]
