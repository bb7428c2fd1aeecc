"""migration_info without a database: documentation agrees with the spec, input errors are one line."""
import yaml

from ansible_collections.hotdash.supabase.plugins.modules import migration_info


def test_documented_options_match_the_argument_spec():
    doc = yaml.safe_load(migration_info.DOCUMENTATION)
    options = doc["options"]
    expected = {
        "project_dir": {"type": "path", "required": True},
        "severities": {"type": "dict", "default": {}},
        "fail_on_failed": {"type": "bool", "default": True},
    }
    assert set(options) == set(expected)
    assert "hotdash.supabase.checks.WAIVERS" in doc["extends_documentation_fragment"]
    for name, spec in expected.items():
        for key, value in spec.items():
            assert options[name].get(key) == value, (name, key)
    assert doc["version_added"] == "0.1.0"
    assert "hotdash.supabase.connection" in doc["extends_documentation_fragment"]
    yaml.safe_load(migration_info.EXAMPLES)
    returned = yaml.safe_load(migration_info.RETURN)
    for key in ("checks", "passed", "counts", "entries", "state_counts", "in_sync", "pending", "remote_only",
                "content_changed", "out_of_order", "naming", "duplicates", "ignored_files", "mixed_widths", "newest_applied",
                "history_table_exists"):
        assert key in returned


def test_missing_directory_fails_before_connecting(run_module, tmp_path):
    # An unreachable port: if the module tried to connect first, the message would be about the connection.
    result = run_module("migration_info", {"project_dir": str(tmp_path / "nope"),
                                           "db_url": "postgresql://u:secretpw@127.0.0.1:1/x?sslmode=disable"})
    assert result["failed"] is True
    assert result["msg"].startswith("migrations directory not found: ")
    assert "\n" not in result["msg"] and "secretpw" not in result["msg"]
    assert result["changed"] is False


def test_bad_dsn_is_one_line_and_redacted(run_module, project):
    (project / "supabase" / "migrations" / "20251011000000_a.sql").write_text("select 1;")
    result = run_module("migration_info", {"project_dir": str(project), "db_url": "mysql://u:secretpw@h/x"})
    assert result["failed"] is True and "\n" not in result["msg"]
    assert "postgresql://" in result["msg"] and "secretpw" not in result["msg"]


def test_project_dir_is_required(run_module):
    result = run_module("migration_info", {"db_url": "postgresql://u@h/x"})
    assert result["failed"] is True and "project_dir" in result["msg"]
