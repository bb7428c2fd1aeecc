"""Pool readings from PgBouncer's SHOW rows and Supavisor's metrics text (no server)."""
import os
import sys

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import pooler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "support"))
from fake_supavisor import fixture_text  # noqa: E402

CONFIG = [{"key": "default_pool_size", "value": "20"}, {"key": "max_client_conn", "value": "200"},
          {"key": "pool_mode", "value": "transaction"}]


def pool(database, user, cl_active=0, cl_waiting=0, sv_active=0, sv_idle=0, maxwait=0, maxwait_us=0):
    return {"database": database, "user": user, "cl_active": cl_active, "cl_waiting": cl_waiting, "sv_active": sv_active,
            "sv_idle": sv_idle, "sv_used": 0, "maxwait": maxwait, "maxwait_us": maxwait_us, "pool_mode": "transaction"}


def test_a_saturated_pgbouncer_pool_reads_full_with_waiting_clients():
    pools = [pool("pgbouncer", "pgbouncer", cl_active=1), pool("app", "postgres", 2, 3, 2, 0, 1, 250000),
             pool("app", "authenticator", 5, 0, 1, 1), pool("other", "postgres", 50, 0, 2)]
    databases = [{"name": "app", "pool_size": 2, "pool_mode": None}, {"name": "other", "pool_size": 2, "pool_mode": None}]
    reading = pooler.pgbouncer_reading(pools, databases, CONFIG, "app")
    assert reading["source"] == "pgbouncer" and reading["pool_size"] == 2 and reading["max_clients"] == 200
    assert reading["clients_waiting"] == 3 and reading["clients_active"] == 7 and reading["servers_active"] == 3
    assert reading["usage"] == 1.0 and reading["usage_of"] == "pool_size"  # the fullest pool decides
    assert reading["max_wait_ms"] == 1250.0 and reading["pool_mode"] == "transaction"
    assert [p["user"] for p in reading["pools"]] == ["postgres", "authenticator"]
    only = pooler.pgbouncer_reading(pools, databases, CONFIG, "app", user="authenticator")
    assert only["usage"] == 0.5 and only["clients_waiting"] == 0


def test_pool_size_falls_back_to_default_pool_size_and_no_pool_yet_is_empty_not_unknown():
    reading = pooler.pgbouncer_reading([], [], CONFIG, "app")
    assert reading["pool_size"] == 20 and reading["usage"] == 0.0 and reading["clients_waiting"] == 0


def test_supavisor_reading_of_one_tenant():
    samples = pooler.parse_exposition(fixture_text())
    reading = pooler.supavisor_reading(samples, tenant="hotdashprod", max_clients=200)
    assert reading["clients_active"] == 48 and reading["usage"] == 0.24 and reading["usage_of"] == "max_clients"
    assert reading["pool_mode"] == "transaction" and reading["checkouts"] == 1000
    assert reading["wait_mean_ms"] == 1.5 and reading["max_wait_ms"] == 100.0 and reading["max_wait_is_bound"]
    assert reading["clients_waiting"] is None and reading["servers_active"] is None  # Supavisor does not say
    assert pooler.supavisor_reading(samples, tenant="hotdashprod", user="authenticator")["clients_active"] == 6
    assert pooler.supavisor_reading(samples, tenant="hotdashprod")["usage"] is None  # no client limit given


def test_supavisor_waits_are_counted_between_two_readings():
    first = pooler.supavisor_reading(pooler.parse_exposition(fixture_text()), tenant="hotdashprod")
    moved = fixture_text().replace('le="100"} 1000', 'le="100"} 1010').replace('le="500"} 1000', 'le="500"} 1020')
    moved = moved.replace('le="+Inf"} 1000', 'le="+Inf"} 1020')
    moved = moved.replace('search_path="",region="eu-central-1",host="pooler-1"} 1500', 'search_path="",region="eu-central-1",host="pooler-1"} 5500')
    moved = moved.replace('search_path="",region="eu-central-1",host="pooler-1"} 1000', 'search_path="",region="eu-central-1",host="pooler-1"} 1020')
    second = pooler.supavisor_reading(pooler.parse_exposition(moved), tenant="hotdashprod", previous=first)
    assert second["checkouts"] == 20 and second["wait_mean_ms"] == 200.0 and second["max_wait_ms"] == 500.0
    reset = pooler.supavisor_reading(pooler.parse_exposition(fixture_text()), tenant="hotdashprod", previous=second)
    assert reset["checkouts"] == 1000  # counters restarted: everything since the restart
    assert "_checkout_histogram" not in pooler.public_reading(reset)


def test_text_that_is_not_exposition_format_is_a_one_line_error():
    with pytest.raises(pooler.PoolerUnreadable) as err:
        pooler.parse_exposition("<html><body>login</body></html>\n{\n")
    assert "not in the Prometheus text exposition format" in str(err.value) and "\n" not in str(err.value)
