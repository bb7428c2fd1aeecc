"""monitor_sample and db_inspect input checks without a database (docs vs spec: test_module_documentation.py)."""
import pytest


@pytest.mark.parametrize("basename", ["../x", ".hidden", ""])
def test_bad_basename_fails_before_connecting(basename, run_module, tmp_path):
    # Port 1 is never listening: reaching the database would fail with "cannot connect" instead.
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               basename=basename))
    assert result["failed"] and "basename must be a simple name" in result["msg"]
    assert "\n" not in result["msg"]


def test_bad_threshold_fails_before_connecting(run_module, tmp_path):
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               error_rate_warn=0.2, error_rate_rollback=0.1))
    assert result["failed"] and result["msg"] == "error_rate_warn (0.2) must not exceed error_rate_rollback (0.1)"


@pytest.mark.parametrize("options, fragment", [
    (dict(probes=[{"name": "wipe", "query": "DELETE FROM public.x; SELECT 1"}]),
     "probe 'wipe': PostgreSQL reads 2 statements here"),
    (dict(probes=[{"name": "wipe", "query": "DELETE FROM public.x"}]), "probe 'wipe': DELETE is refused"),
    (dict(error_rate_query="SELECT 1, 2; COMMIT"), "error_rate_query: PostgreSQL reads 2 statements here"),
    (dict(error_rate_query="SELECT count(*), count(*) FROM t WHERE note = '%(since)s'"),
     "error_rate_query: a %(name)s placeholder must stand where a value goes"),
    (dict(probes=[{"name": "f", "function": "a.b.c"}]), "must be 'name' or 'schema.name'"),
    (dict(pooler={"kind": "pgbouncer"}), "pooler.kind pgbouncer needs pooler.admin_url"),
    (dict(pooler={"kind": "pgbouncer", "admin_url": "postgresql://a:adm-pw-7@h:6432/postgres"}),
     "pooler.admin_url must name the admin console's database 'pgbouncer'"),
    (dict(pooler={"kind": "supavisor"}), "pooler.kind supavisor needs pooler.metrics_url"),
    (dict(probe_rate=0), "probe_rate must be between 0 and 50"),
    (dict(breach_on=["connections"]), "value of breach_on must be one or more of"),
])
def test_bad_watch_options_fail_before_connecting(options, fragment, run_module, tmp_path):
    result = run_module("monitor_sample", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", output_dir=str(tmp_path),
                                               **options))
    assert result["failed"] and fragment in result["msg"] and "\n" not in result["msg"]
    assert "pw-9x" not in result["msg"] and "adm-pw-7" not in result["msg"]


def test_unknown_report_is_refused_by_the_spec(run_module):
    result = run_module("db_inspect", dict(db_url="postgresql://u:pw-9x@127.0.0.1:1/d", reports=["cache-hits"]))
    assert result["failed"] and "cache-hits" in result["msg"]
