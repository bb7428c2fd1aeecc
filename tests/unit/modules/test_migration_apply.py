"""migration_apply input checks without a database (docs vs spec: test_module_documentation.py)."""


def test_invalid_engine_fails_in_one_line(run_module, tmp_path):
    result = run_module("migration_apply", {"project_dir": str(tmp_path), "engine": "flyway",
                                            "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and "engine" in result["msg"] and "\n" not in result["msg"]


def test_missing_directory_fails_before_connecting(run_module, tmp_path):
    # Port 1 is closed: reaching the directory check first proves nothing touched the network.
    result = run_module("migration_apply", {"project_dir": str(tmp_path / "nope"),
                                            "db_url": "postgresql://u:pw@127.0.0.1:1/db"})
    assert result["failed"] and result["msg"].startswith("migrations directory not found")
