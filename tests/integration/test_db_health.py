"""db_health_info against real PostgreSQL: a query and a lock held open by another session."""
import threading
import time

import psycopg2


def _wait_for(db, sql, params=None, tries=200):
    for _attempt in range(tries):
        if db.scalar(sql, params):
            return True
        time.sleep(0.05)
    raise AssertionError("condition never became true: %s" % sql)


def _by_name(result):
    return dict((c["name"], c) for c in result["checks"])


def test_healthy_database_passes_every_check(db, run_module):
    db.execute("CREATE TABLE public.orders (id int)")
    result = run_module("db_health_info", dict(db.connection_args(), tables=["public.orders", "not_created_yet"]))
    checks = _by_name(result)
    assert result["changed"] is False and result["passed"] is True, [(c["name"], c["status"], c["detail"]) for c in result["checks"]]
    assert [c["status"] for c in result["checks"]] == ["ok"] * 5
    assert "PostgreSQL 15" in checks["server"]["detail"]
    assert result["facts"]["max_connections"] > 0 and result["facts"]["size_bytes"] > 0


def test_long_running_query_fails_with_pid_user_and_truncated_text(db, run_module):
    holder = db.connect()
    pid = holder.get_backend_pid()
    sleeper = threading.Thread(target=lambda: _swallow(holder, "SELECT pg_sleep(30) /* %s */" % ("x" * 300)))
    sleeper.start()
    try:
        _wait_for(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                      "AND now() - query_start > interval '300 milliseconds'", (pid,))
        result = run_module("db_health_info", dict(db.connection_args(), long_query_threshold=0.2, max_query_chars=40))
        check = _by_name(result)["long_running_queries"]
        assert check["status"] == "fail" and result["passed"] is False
        session = [s for s in check["data"]["sessions"] if s["pid"] == pid][0]
        assert session["user"] and len(session["query"]) == 40 and session["query"].endswith("...")
        assert "pid %d" % pid in check["detail"] and "pg_cancel_backend" in check["remedy"]
        # the default threshold (1 minute) does not flag it
        default = _by_name(run_module("db_health_info", db.connection_args()))["long_running_queries"]
        assert default["status"] == "ok"
    finally:
        db.execute("SELECT pg_cancel_backend(%s)", (pid,))
        sleeper.join()
        holder.close()


def _swallow(conn, sql):
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    except psycopg2.Error:
        pass


def test_lock_held_by_another_session_on_a_touched_table_fails(db, run_module):
    db.execute("CREATE TABLE public.agents (id int); CREATE TABLE public.other (id int)")
    holder = db.connect(autocommit=False)
    with holder.cursor() as cur:
        cur.execute("SELECT * FROM public.agents")  # ACCESS SHARE held until the transaction ends
    try:
        result = run_module("db_health_info", dict(db.connection_args(), tables=["agents"]))
        check = _by_name(result)["locks"]
        assert check["status"] == "fail", check
        assert check["data"]["sessions"][0]["relation"] == "public.agents"
        assert check["data"]["sessions"][0]["mode"] == "AccessShareLock"
        assert check["data"]["sessions"][0]["pid"] == holder.get_backend_pid()
        # a table the migrations do not touch is not reported
        assert _by_name(run_module("db_health_info", dict(db.connection_args(), tables=["public.other"])))[
            "locks"]["status"] == "ok"
        # waived with a recorded reason
        waived = run_module("db_health_info", dict(db.connection_args(), tables=["agents"],
                                                   waivers={"locks": "reporting job, ends at 02:10"}))
        assert _by_name(waived)["locks"]["status"] == "waived" and waived["passed"] is True
        assert "reporting job" in _by_name(waived)["locks"]["detail"]
    finally:
        holder.rollback()
        holder.close()


def test_connection_usage_over_threshold_fails(db, run_module):
    result = run_module("db_health_info", dict(db.connection_args(), max_connections_percent=0))
    check = _by_name(result)["connections"]
    assert check["status"] == "fail" and "limit 0" in check["detail"]
    # The same measure the monitor reports as database connections: client backends over max_connections.
    max_connections = int(db.scalar("SHOW max_connections"))
    assert " of max_connections %d in use" % max_connections in check["detail"]
    assert "usable" not in check["detail"]


def test_unreachable_database_is_a_failed_check_without_password(db, run_module):
    url = db.url.replace(":%d/" % db.port, ":1/")
    result = run_module("db_health_info", dict(db_url=url, connect_timeout=2))
    checks = _by_name(result)
    assert result.get("failed") is not True and result["passed"] is False
    assert checks["connection"]["status"] == "fail" and "\n" not in checks["connection"]["detail"]
    assert checks["locks"]["status"] == "skipped"
    assert ":%s@" % db.password not in str(result)


def test_waiver_without_reason_is_a_one_line_error(db, run_module):
    before = db.schema_fingerprint()
    result = run_module("db_health_info", dict(db.connection_args(), waivers={"locks": ""}))
    assert result["failed"] is True and "waiver for check 'locks' has no reason" in result["msg"]
    assert "\n" not in result["msg"] and db.schema_fingerprint() == before
