import time

import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import ConnectionSettings, connect
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import ConnectionFailed


def test_connect_reaches_shaped_database(db):
    conn = connect(db.settings())
    with conn.cursor() as cur:
        cur.execute("SELECT auth.uid() IS NULL, to_regnamespace('extensions') IS NOT NULL, current_setting('search_path')")
        no_uid, has_extensions, search_path = cur.fetchone()
    conn.close()
    assert no_uid and has_extensions and "extensions" in search_path


def test_wrong_password_is_one_redacted_line(db):
    settings = db.settings(password="wrong-password")
    with pytest.raises(ConnectionFailed) as err:
        connect(settings)
    message = str(err.value)
    assert "password authentication failed" in message
    assert "wrong-password" not in message and "\n" not in message


def test_unreachable_host_fails_within_connect_timeout():
    # 192.0.2.0/24 is never routed (TEST-NET-1) but may hang; use a closed loopback port instead.
    settings = ConnectionSettings(host="127.0.0.1", port=1, password="x", connect_timeout=2, ssl_mode="disable")
    started = time.monotonic()
    with pytest.raises(ConnectionFailed) as err:
        connect(settings)
    assert time.monotonic() - started < 5
    assert "Connection refused" in str(err.value)
