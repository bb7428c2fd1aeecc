"""Grading of `supabase db advisors` findings (no CLI)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import advisors
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import CliError, InvalidInput


def finding(name, level, table, schema="public"):
    return {"name": name, "title": name.replace("_", " "), "level": level, "remediation": "https://docs/" + name,
            "metadata": {"schema": schema, "name": table, "type": "table"}}


FINDINGS = [finding("rls_disabled_in_public", "ERROR", "leaky"),
            finding("rls_enabled_no_policy", "INFO", "observability_logs"),
            finding("auth_rls_initplan", "WARN", "facts"),
            finding("unused_index", "INFO", "agents")]


def by_name(checks):
    return dict((c["name"], c) for c in checks)


def test_default_thresholds():
    checks = by_name(advisors.advisor_checks(FINDINGS))
    assert checks["advisor: rls_disabled_in_public"]["status"] == "fail"
    assert checks["advisor: rls_disabled_in_public"]["remedy"] == "https://docs/rls_disabled_in_public"
    assert checks["advisor: auth_rls_initplan"]["status"] == "warn"
    assert checks["advisor: unused_index"]["status"] == "ok"


def test_allow_list_waives_a_lint_on_one_object_only():
    allow = ["rls_enabled_no_policy:public.observability_logs"]
    findings = FINDINGS + [finding("rls_enabled_no_policy", "INFO", "other")]
    checks = by_name(advisors.advisor_checks(findings, fail_level="info", allow=allow))
    assert checks["advisor: rls_enabled_no_policy"]["status"] == "fail"
    assert "public.other" in checks["advisor: rls_enabled_no_policy"]["detail"]
    only_logs = by_name(advisors.advisor_checks(FINDINGS, fail_level="info", allow=allow))
    assert only_logs["advisor: rls_enabled_no_policy"]["status"] == "waived"
    assert by_name(advisors.advisor_checks(FINDINGS, allow=["rls_*"]))["advisor: rls_disabled_in_public"]["status"] \
        == "waived"


def test_threshold_none_never_fails():
    checks = advisors.advisor_checks(FINDINGS, fail_level="none", warn_level="none")
    assert all(c["status"] == "ok" for c in checks)


def test_no_findings_is_one_ok_check():
    assert advisors.advisor_checks([]) == [advisors.make_check("advisor: all lints", "ok", "no findings")]


def test_cli_output_shapes():
    assert advisors.findings_from_output({"results": FINDINGS, "message": "db advisors"}) == FINDINGS
    assert advisors.findings_from_output(FINDINGS) == FINDINGS
    assert advisors.findings_from_output({"message": "no results"}) == []
    with pytest.raises(CliError, match="without a results list"):
        advisors.findings_from_output({"results": "x"})


def test_bad_threshold_is_refused():
    with pytest.raises(InvalidInput, match="fail_level must be one of"):
        advisors.advisor_checks(FINDINGS, fail_level="critical")


def test_failing_lists_the_findings_that_fail_so_a_new_one_is_told_apart():
    findings = FINDINGS + [finding("rls_disabled_in_public", "ERROR", "dashboard_tiles"),
                           finding("rls_disabled_in_public", "WARN", "minor"),
                           finding("rls_disabled_in_public", "ERROR", "allowed_one")]
    checks = by_name(advisors.advisor_checks(findings, allow=["rls_disabled_in_public:public.allowed_one"]))
    # Only the open findings at the failing level: the WARN one and the allow-listed one do not make it fail.
    assert checks["advisor: rls_disabled_in_public"]["data"]["failing"] == ["public.dashboard_tiles", "public.leaky"]
    assert checks["advisor: auth_rls_initplan"]["data"]["failing"] == ["public.facts"]
    assert "failing" not in checks["advisor: unused_index"]["data"]
    no_object = {"name": "security_definer_view", "level": "ERROR", "cacheKey": "security_definer_view_public_v"}
    assert advisors.advisor_checks([no_object])[0]["data"]["failing"] == ["security_definer_view_public_v"]
