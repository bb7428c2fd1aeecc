"""Unit tests of RPC check definitions (no database)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import rpc
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput


def test_rpc_definitions():
    spec = rpc.normalize_rpc({"name": "get_revenue_metrics",
                              "args": [{"sql": "now()"}, "2025-01-01", {"value": 3, "type": "int"}]})
    assert spec["params"] == ["2025-01-01", 3] and spec["budget_ms"] == 500 and spec["calls"] == 3
    assert rpc.normalize_rpc("get_inventory_summary")["function"] == "get_inventory_summary"
    with pytest.raises(InvalidInput, match="'name' or 'schema.name'"):
        rpc.normalize_rpc({"name": "x; drop table agents"})
    with pytest.raises(InvalidInput, match="not a type name"):
        rpc.normalize_rpc({"name": "f", "args": [{"value": 1, "type": "int); drop table x; --"}]})
    with pytest.raises(InvalidInput, match="calls must be at least 1"):
        rpc.normalize_rpc({"name": "f", "calls": -1})
