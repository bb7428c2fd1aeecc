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


def test_statements_are_guarded_all_before_anything_runs():
    write = smoke.normalize_write({"name": "w", "statements": ["insert into t values (1)", "delete from t"]})
    assert [step[0] for step in write["steps"]] == ["statement 1", "statement 2"]
    for statements, message in [
            (["insert into t values (1)", "commit"], "smoke write 'w' statement 2: COMMIT is refused: transaction"),
            (["create table x (a int)"], "smoke write 'w': CREATE TABLE is refused: a smoke write runs SELECT"),
            (["do $$ begin null; end $$"], "smoke write 'w': DO is refused: the check does not declare it")]:
        with pytest.raises(InvalidInput) as err:
            smoke.normalize_write({"name": "w", "statements": statements})
        assert str(err.value).startswith(message)
    declared = smoke.normalize_write({"name": "w", "allow": ["do"], "statements": ["do $$ begin null; end $$"]})
    assert declared["steps"][0][1] == "do $$ begin null; end $$"


@pytest.mark.parametrize("spec,message", [
    ({"name": "w", "table": "t", "vaules": {"a": 1}}, "smoke write 'w' has unknown key 'vaules'; allowed: allow, "),
    ({"name": "w", "table": "t", "values": {"a": 1}, "settings": {"session_authorization": "x"}},
     "smoke write 'w': setting 'session_authorization' is refused"),
])
def test_write_keys_and_settings_are_checked(spec, message):
    with pytest.raises(InvalidInput) as err:
        smoke.normalize_write(spec)
    assert str(err.value).startswith(message)


def test_read_keys_are_checked():
    with pytest.raises(InvalidInput) as err:
        smoke.normalize_read({"table": "agents", "min_row": 1})
    assert str(err.value).startswith("smoke read 'agents' has unknown key 'min_row'; allowed: claims, min_rows, ")
