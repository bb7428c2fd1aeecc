"""The local cluster a shadow database lives in (plugins/module_utils/pg_cluster.py), started for real."""
import os
import socket
import tempfile

import psycopg2
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import pg_cluster


def test_a_port_taken_between_choosing_and_binding_is_retried(monkeypatch):
    """Parallel forks each start a cluster: losing the race for a port costs a retry, not the run."""
    busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    taken = busy.getsockname()[1]
    ports = iter([taken, pg_cluster.free_port()])
    monkeypatch.setattr(pg_cluster, "free_port", lambda: next(ports))
    base = tempfile.mkdtemp(prefix="hotdash-cluster-test-")
    try:
        info = pg_cluster.start(base, "s3cret-pw")
        assert info["port"] != taken
        conn = psycopg2.connect(host=info["host"], port=info["port"], user=info["user"], password="s3cret-pw",
                                dbname="postgres", sslmode="disable")
        conn.close()
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(host=info["host"], port=info["port"], user=info["user"], password="wrong",
                             dbname="postgres", sslmode="disable")
        files = pg_cluster.server_dir(base)
    finally:
        busy.close()
        pg_cluster.stop(base)
    assert not os.path.exists(base) and not os.path.exists(files)


def test_a_directory_without_server_programs_is_named():
    with pytest.raises(pg_cluster.ClusterError, match="/tmp has no initdb or pg_ctl: point pg_bin_dir"):
        pg_cluster.pg_bindir("/tmp")
