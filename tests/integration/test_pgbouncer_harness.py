"""The PgBouncer test harness itself: a real pooler in transaction mode, its admin console, saturation, stop."""
import os
import threading

import psycopg2
import pytest

import throwaway_pgbouncer


def test_clients_reach_the_database_through_a_transaction_pool(db, make_pgbouncer):
    pooler = make_pgbouncer(pool_size=1)
    db.execute("CREATE ROLE harness_app LOGIN PASSWORD 'harness-pw'; GRANT CONNECT ON DATABASE %s TO harness_app"
               % db.name)
    conn = psycopg2.connect(pooler.url(db, "harness_app", "harness-pw"))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), inet_server_port()")
            assert cur.fetchone() == ("harness_app", db.name, db.port)
    finally:
        conn.close()
    pool = pooler.pool(db, "harness_app")
    assert pool["pool_mode"] == "transaction"
    config = dict((row["key"], row["value"]) for row in pooler.show("CONFIG"))
    assert config["pool_mode"] == "transaction" and config["default_pool_size"] == "1"
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(pooler.url(db, "harness_app", "wrong-pw")).close()


def test_a_saturated_pool_makes_clients_wait_and_stop_ends_the_pooler(db, make_pgbouncer, wait_for):
    pooler = make_pgbouncer(pool_size=1)
    holder = psycopg2.connect(pooler.url(db))
    waiter_done = threading.Event()

    def waiter():
        conn = psycopg2.connect(pooler.url(db))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        finally:
            conn.close()
            waiter_done.set()

    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1")  # opens a transaction: the only server connection is now taken
        thread = threading.Thread(target=waiter, daemon=True)
        thread.start()
        pool = wait_for(lambda: (pooler.pool(db) or {}).get("cl_waiting") and pooler.pool(db))
        assert pool["cl_waiting"] == 1 and pool["sv_active"] == 1
        assert not waiter_done.is_set()
        holder.commit()  # the server connection goes back to the pool; the waiting client gets it
        assert waiter_done.wait(10)
    finally:
        holder.close()
    pid = pooler.info["pid"]
    pooler.stop()
    with pytest.raises(OSError):
        os.kill(pid, 0)
    assert not throwaway_pgbouncer._listening(pooler.port)
