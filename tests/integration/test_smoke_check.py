"""smoke_check against real PostgreSQL: reads, and the runbook's insert + delete that is always rolled back."""
import pytest

WRITE = {"name": "product_categories insert and delete", "table": "product_categories",
         "values": {"shopify_product_id": 99999, "category_l1": "Test", "category_l2": "Smoke Test",
                    "avg_order_value": 100.00, "margin_pct": 30.00, "inventory_velocity": "fast"},
         "key": ["shopify_product_id"]}


def state(db):
    return (db.scalar("select count(*) from public.product_categories"),
            db.scalar("select count(*) from public.customer_segments"),
            db.scalar("select count(*) from public.product_categories where shopify_product_id = 99999"))


def test_reads_and_rolled_back_write(hotdash, run_module, by_name):
    before = state(hotdash)
    result = run_module("smoke_check", dict(hotdash.connection_args(),
                                            reads=["product_categories", {"table": "customer_segments", "min_rows": 1}],
                                            writes=[WRITE]))
    checks = by_name(result)
    assert result["passed"] is True and result["changed"] is False, result["checks"]
    assert checks["read: product_categories"]["detail"] == "3 rows"
    write = checks["write: product_categories insert and delete"]
    assert write["detail"] == ("insert 1 row(s), delete 1 row(s); rolled back; "
                               "counts unchanged (product_categories=3)")
    assert state(hotdash) == before == (3, 3, 0)


def test_insert_only_write_is_rolled_back_too(hotdash, run_module):
    write = {"name": "insert only", "statements": [
        "insert into public.product_categories (shopify_product_id, category_l1) values (99999, 'Test')"],
        "tables": ["product_categories"]}
    result = run_module("smoke_check", dict(hotdash.connection_args(), writes=[write]))
    assert result["checks"][0]["status"] == "ok"
    assert result["checks"][0]["data"]["counts_before"] == result["checks"][0]["data"]["counts_after"]
    assert state(hotdash) == (3, 3, 0)


def test_failing_write_fails_and_changes_nothing(hotdash, run_module):
    duplicate = dict(WRITE, name="duplicate key", values=dict(WRITE["values"], shopify_product_id=1001))
    result = run_module("smoke_check", dict(hotdash.connection_args(), writes=[duplicate]))
    check = result["checks"][0]
    assert check["status"] == "fail" and "duplicate key value violates unique constraint" in check["detail"]
    assert state(hotdash) == (3, 3, 0)


def test_read_only_mode_and_check_mode_skip_writes(hotdash, run_module, by_name):
    args = dict(hotdash.connection_args(), reads=["customer_segments"], writes=[WRITE])
    production = run_module("smoke_check", dict(args, read_only=True))
    assert by_name(production)["write: product_categories insert and delete"]["status"] == "skipped"
    checked = run_module("smoke_check", args, check_mode=True)
    assert by_name(checked)["write: product_categories insert and delete"]["detail"].startswith("check mode")
    assert by_name(checked)["read: customer_segments"]["status"] == "ok"


def test_missing_table_and_min_rows(hotdash, run_module, by_name):
    result = run_module("smoke_check", dict(hotdash.connection_args(), reads=[
        "decision_sync_event_logs", {"table": "agents", "min_rows": 10}]))
    checks = by_name(result)
    assert checks["read: decision_sync_event_logs"]["status"] == "skipped"
    assert checks["read: agents"]["detail"] == "3 rows, expected at least 10"
    assert result["passed"] is False


@pytest.mark.parametrize("extra,message", [
    ({"writes": [{"name": "w", "table": "product_categories", "values": {}}]}, "values must be a non-empty dict"),
    ({"writes": [{"name": "w", "statements": ["delete from public.agents; commit"]}]},
     "smoke write 'w': PostgreSQL reads 2 statements here (DELETE, COMMIT)"),
    ({"reads": [{"min_rows": 1}]}, "every smoke read needs a table"),
])
def test_bad_input_fails_cleanly_and_changes_nothing(hotdash, run_module, extra, message):
    result = run_module("smoke_check", dict(hotdash.connection_args(), **extra))
    assert result["failed"] is True and message in result["msg"] and "\n" not in result["msg"]
    assert state(hotdash) == (3, 3, 0) and hotdash.scalar("select count(*) from public.agents") == 3
