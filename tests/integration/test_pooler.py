"""The pooler's own numbers: a real PgBouncer in transaction mode driven until clients wait, and Supavisor's
metrics endpoint served by a local HTTP server."""
import json
import os
import sys
import threading

import psycopg2
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import pooler
from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support"))
from fake_supavisor import FakeSupavisor, fixture_text  # noqa: E402


class Saturation(object):
    """``holders`` clients each keep a transaction open through the pooler; ``waiters`` more try to run a query."""

    def __init__(self, url, holders, waiters):
        self.url = url
        self.holders = [psycopg2.connect(url) for unused in range(holders)]
        self.waiters = [threading.Thread(target=self._wait, daemon=True) for unused in range(waiters)]
        self.finished = []

    def _wait(self):
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            self.finished.append(True)
        finally:
            conn.close()

    def __enter__(self):
        for conn in self.holders:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")  # a transaction is now open: the server connection stays taken
        for thread in self.waiters:
            thread.start()
        return self

    def release(self):
        for conn in self.holders:
            conn.commit()
        for thread in self.waiters:
            thread.join(10)

    def __exit__(self, *exc):
        self.release()
        for conn in self.holders:
            conn.close()


def test_pgbouncer_saturated_until_clients_wait(db, make_pgbouncer, wait_for):
    bouncer = make_pgbouncer(pool_size=2)
    admin = ConnectionSettings.from_url(bouncer.admin_url)
    idle = pooler.read_pgbouncer(admin, db.name)
    assert idle["usage"] == 0.0 and idle["pool_size"] == 2 and idle["clients_waiting"] == 0
    with Saturation(bouncer.url(db), holders=2, waiters=3) as load:
        def all_three_wait():
            reading = pooler.read_pgbouncer(admin, db.name)
            return reading if reading["clients_waiting"] == 3 and reading["max_wait_ms"] > 0 else None

        reading = wait_for(all_three_wait)
        assert reading["servers_active"] == 2 and reading["usage"] == 1.0
        assert reading["clients_active"] == 2 and reading["pool_mode"] == "transaction"
        assert reading["max_wait_ms"] > 0 and reading["max_clients"] == 100
        assert not load.finished
        load.release()
        assert len(load.finished) == 3
    after = pooler.read_pgbouncer(admin, db.name)
    assert after["clients_waiting"] == 0 and after["servers_active"] == 0 and after["usage"] == 0.0


def test_pgbouncer_refuses_a_user_that_is_not_an_admin_with_one_line(db, pgbouncer):
    not_admin = ConnectionSettings.from_url(pgbouncer.url("pgbouncer"))  # the superuser of the cluster, not a pooler admin
    with pytest.raises(pooler.PoolerUnreadable) as err:
        pooler.read_pgbouncer(not_admin, db.name)
    message = str(err.value)
    assert "PgBouncer admin console" in message and "\n" not in message
    assert db.password not in message.replace("postgres@", "")


def test_supavisor_metrics_over_http():
    with FakeSupavisor(token="metrics-jwt-secret") as fake:
        reading = pooler.read_supavisor(fake.url + "/metrics/hotdashprod", token="metrics-jwt-secret",
                                        tenant="hotdashprod", max_clients=200)
        assert reading["clients_active"] == 48 and reading["usage"] == 0.24 and reading["checkouts"] == 1000
        assert fake.requests[-1] == ("/metrics/hotdashprod", "Bearer metrics-jwt-secret")
        fake.set_text(fixture_text().replace('app_name="dashboard",region="eu-central-1",host="pooler-1"} 38',
                                             'app_name="dashboard",region="eu-central-1",host="pooler-1"} 190'))
        busier = pooler.read_supavisor(fake.url + "/metrics", token="metrics-jwt-secret", tenant="hotdashprod",
                                       max_clients=200, previous=reading)
        assert busier["clients_active"] == 200 and busier["usage"] == 1.0 and busier["checkouts"] == 0
        assert json.dumps(pooler.public_reading(busier))


@pytest.mark.parametrize("case, fragment", [
    ("token", "answered HTTP 401 (check the metrics token)"),
    ("path", "answered HTTP 404"),
    ("closed", "cannot read Supavisor metrics at http://127.0.0.1:"),
    ("not_metrics", "serves no Supavisor pool metrics"),
])
def test_supavisor_errors_are_one_line_without_the_token(case, fragment):
    with FakeSupavisor(token="metrics-jwt-secret") as fake:
        url, token = fake.url + "/metrics", "metrics-jwt-secret"
        if case == "token":
            token = "wrong-jwt-value"
        elif case == "path":
            url = fake.url + "/nothing"
        elif case == "not_metrics":
            fake.set_text("# HELP up Whether up.\n# TYPE up gauge\nup 1\n")
        if case == "closed":
            fake.stop()
        with pytest.raises(pooler.PoolerUnreadable) as err:
            pooler.read_supavisor(url, token=token, tenant="hotdashprod", timeout=3)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert token not in str(err.value)
