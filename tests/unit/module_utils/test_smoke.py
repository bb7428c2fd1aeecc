"""Unit tests of smoke test definitions (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import smoke
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_smoke_definitions():
    write = smoke.normalize_write({"name": "w", "table": "product_categories",
                                   "values": {"shopify_product_id": 1, "category_l1": "T"},
                                   "key": "shopify_product_id"})
    assert [step[0] for step in write["steps"]] == ["insert", "delete"]
    assert write["steps"][1][2] == [1] and write["role"] == "service_role"
    with pytest.raises(InvalidInput, match="key column"):
        smoke.normalize_write({"name": "w", "table": "t", "values": {"a": 1}, "key": ["b"]})
    with pytest.raises(InvalidInput, match="needs table"):
        smoke.normalize_write({"name": "w"})
    assert smoke.normalize_read("facts")["name"] == "read: facts"


def test_skipped_writes_in_read_only_and_check_mode():
    spec = {"name": "write: w"}
    assert smoke.run_write(None, spec, read_only_mode=True)["status"] == "skipped"
    assert smoke.run_write(None, spec, check_mode=True)["detail"].startswith("check mode")
