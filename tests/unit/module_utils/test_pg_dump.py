"""Naming the logical backup file (no database)."""
import datetime

from ansible_collections.hotdash.supabase.plugins.module_utils.pg_dump import backup_filename


def test_dump_file_name_is_safe_and_sortable():
    moment = datetime.datetime(2025, 10, 19, 3, 0, 0, tzinfo=datetime.timezone.utc)
    assert backup_filename("db 1/prod", "hot dash", moment) == "db-1-prod_hot-dash_20251019T030000Z.dump"
