"""migration_repair input checks without a database (docs vs spec: test_module_documentation.py)."""


def test_state_is_required_and_validated(run_module, tmp_path):
    result = run_module("migration_repair", {"project_dir": str(tmp_path), "state": "down",
                                             "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "state" in result["msg"]


def test_bad_versions_fail_before_connecting(run_module, tmp_path):
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    result = run_module("migration_repair", {"project_dir": str(tmp_path), "state": "reverted",
                                             "versions": ["latest"], "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "digits only" in result["msg"] and "\n" not in result["msg"]
