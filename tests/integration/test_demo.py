"""The demo's pieces: inventories/local reads the URLs from the demo's cluster description (no committed
password), status.yml runs against it, and scripts/demo.sh is headless. The full `make demo` (about
2-3 minutes) is run by hand and in CI's demo job, not in the unit of this suite."""
import json
import os
import re
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbook_support import ROOT, NEW_VERSION, baseline, run_playbook  # noqa: E402


def test_local_inventory_takes_urls_from_the_cluster_description(make_db, run_module, tmp_path):
    staging, production = make_db("demo_stg"), make_db("demo_prod")
    baseline(run_module, staging, version=NEW_VERSION)
    baseline(run_module, production)
    description = tmp_path / "cluster.json"
    description.write_text(json.dumps({"databases": {"hotdash_staging": staging.url, "hotdash_production": production.url}}))
    artifacts = tmp_path / "artifacts" / "data"

    run = run_playbook(tmp_path, "status", os.path.join(ROOT, "inventories", "local"),
                       env_extra={"HOTDASH_DEMO_CLUSTER": str(description), "HOTDASH_ARTIFACTS_DIR": str(artifacts)})

    assert run.rc == 0, run
    run_dir = run.run_dirs()[-1]
    assert run_dir.startswith(str(artifacts))
    for host, database in (("hotdash_staging", staging), ("hotdash_production", production)):
        with open(os.path.join(run_dir, host, "status.json")) as handle:
            report = json.load(handle)
        assert report["meta"]["environment"] == host.split("_")[1]
        assert database.name in json.dumps(report["checks"])
        # The demo's default shadow (a local cluster per host): the applied migrations build exactly the schema.
        schema = dict((c["name"], c) for c in report["checks"])["schema_drift"]
        assert schema["status"] == "ok", schema
    assert ":%s@" % staging.password not in run.output


def test_local_inventory_without_the_demo_cluster_says_what_to_run(tmp_path):
    run = run_playbook(tmp_path, "status", os.path.join(ROOT, "inventories", "local"),
                       env_extra={"HOTDASH_DEMO_CLUSTER": str(tmp_path / "missing.json"),
                                  "HOTDASH_ARTIFACTS_DIR": str(tmp_path / "artifacts" / "data")})
    assert run.rc != 0
    assert "missing.json" in run.output


def test_committed_inventories_hold_no_connection_secret():
    for env, variable in (("staging", "STAGING_DB_URL"), ("production", "PRODUCTION_DB_URL")):
        with open(os.path.join(ROOT, "inventories", env, "group_vars", env + ".yml")) as handle:
            group_vars = yaml.safe_load(handle)
        assert group_vars["supabase_environment"] == env
        assert "lookup('ansible.builtin.env', '%s')" % variable in group_vars["supabase_db_url"]
        assert "vault_supabase_db_url" in group_vars["supabase_db_url"]
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "inventories")):
        for name in files:
            with open(os.path.join(folder, name)) as handle:
                text = handle.read()
            assert not re.search(r"postgres(ql)?://[^\s:@/]+:[^\s@]+@", text), name
            assert "password" not in text.lower(), name


def test_demo_script_is_headless_and_stops_its_cluster():
    path = os.path.join(ROOT, "scripts", "demo.sh")
    subprocess.run(["bash", "-n", path], check=True)
    text = open(path).read()
    runs = [line for line in text.splitlines()
            if re.search(r'(PLAYBOOK\[@\]\}"|bin/ansible") ', line) and not line.lstrip().startswith("#")]
    assert len(runs) >= 4
    for line in runs:
        statement = text[text.index(line):].split("\n\n")[0]
        assert "</dev/null" in statement, line
    assert "trap stop_cluster EXIT" in text
    assert "supabase_preflight_window_override_reason" in text
