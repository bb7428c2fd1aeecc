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


def test_sql_arguments_are_one_value_on_lines_of_their_own():
    spec = rpc.normalize_rpc({"name": "f", "args": [{"sql": "now() -- the end of the range"}]})
    assert "(\\nnow() -- the end of the range\\n)" in repr(spec["query"])  # repr shows \\n
    with pytest.raises(InvalidInput, match=r"^function 'f' argument 1: PostgreSQL's parser cannot read it"):
        rpc.normalize_rpc({"name": "f", "args": [{"sql": "1)) /*/ ( */; commit; select ((1"}]})


@pytest.mark.parametrize("spec,defaults,message", [
    ({"name": "f", "calls": 0}, {}, "function 'f': calls must be at least 1, got 0"),
    ({"name": "f", "calls": "many"}, {}, "function 'f': calls must be a whole number of calls, got 'many'"),
    ({"name": "f", "budget": -5}, {}, "function 'f': budget must be 0 or more (seconds), got -5"),
    ({"name": "f", "budget": "fast"}, {}, "function 'f': budget must be a number of seconds, got 'fast'"),
    ({"name": "f"}, {"default_calls": 0}, "calls must be at least 1, got 0"),
    ({"name": "f"}, {"default_budget": -1}, "budget must be 0 or more (seconds), got -1"),
    ({"name": "f", "budget_sec": 1}, {}, "function 'f' has unknown key 'budget_sec'; allowed: args, budget, "),
    ({"name": "f", "settings": {"role": "postgres"}}, {}, "function 'f': setting 'role' is refused"),
])
def test_calls_budget_and_keys_are_checked(spec, defaults, message):
    with pytest.raises(InvalidInput) as err:
        rpc.normalize_rpc(spec, **defaults)
    assert str(err.value).startswith(message)


def test_no_budget_and_string_calls():
    spec = rpc.normalize_rpc({"name": "f", "budget": None, "calls": "2"})
    assert spec["budget_ms"] is None and spec["calls"] == 2
