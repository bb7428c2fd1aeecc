"""History table helpers against a recording fake cursor (the real table is covered in integration)."""
from ansible_collections.hotdash.supabase.plugins.module_utils import history
from ansible_collections.hotdash.supabase.plugins.module_utils.history import HistoryRow


class FakeCursor(object):
    def __init__(self, columns, rows=()):
        self.columns = list(columns)
        self.rows = list(rows)
        self.executed = []
        self._result = []
        self.rowcount = 0

    def execute(self, query, params=None):
        text = query if isinstance(query, str) else repr(query)
        self.executed.append((text, params))
        if "pg_attribute" in text:
            self._result = [(c,) for c in self.columns]
        elif "to_regclass" in text:
            self._result = [(bool(self.columns),)]
        elif "SELECT" in text:
            self._result = list(self.rows)
        else:
            self._result = []

    def fetchone(self):
        return self._result[0]

    def fetchall(self):
        return self._result


def test_ensure_runs_the_cli_statements_in_order_when_missing():
    cur = FakeCursor([])
    assert history.ensure_history_table(cur) is True
    ddl = [q for q, _params in cur.executed if "pg_attribute" not in q]
    assert ddl == list(history.CREATE_STATEMENTS)
    assert ddl[1] == ("CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations "
                      "(version text NOT NULL PRIMARY KEY)")


def test_ensure_adds_missing_columns_of_an_old_table():
    cur = FakeCursor(["version"])
    assert history.ensure_history_table(cur) is True
    assert any("ADD COLUMN IF NOT EXISTS name text" in q for q, _params in cur.executed)


def test_ensure_takes_no_lock_when_complete():
    cur = FakeCursor(["version", "statements", "name", "created_by"])
    assert history.ensure_history_table(cur) is False
    assert all("pg_attribute" in q for q, _params in cur.executed)


def test_read_history_sorts_as_text_and_keeps_null_statements():
    rows = [("9", "c", ["select 3"]), ("10", "b", None), ("1", "", [])]
    cur = FakeCursor(["version", "statements", "name", "extra"], rows)
    result = history.read_history(cur)
    assert [r.version for r in result] == ["1", "10", "9"]
    assert result[1] == HistoryRow("10", "b", None)
    assert result[0].statements == []
    # Exactly one data query after the catalog lookup.
    assert sum(1 for q, _params in cur.executed if "pg_attribute" not in q) == 1


def test_read_history_without_table_is_empty():
    cur = FakeCursor([])
    assert history.read_history(cur) == []


def test_write_helpers_pass_values_as_parameters():
    cur = FakeCursor(["version", "statements", "name"])
    history.insert_history(cur, "20251011000000", "x'; drop", ["select 1"])
    history.upsert_history(cur, "20251011000000", "x", ("select 2",))
    assert cur.executed[0][1] == ("20251011000000", "x'; drop", ["select 1"])
    assert "ON CONFLICT (version) DO UPDATE" in cur.executed[1][0]
    assert cur.executed[1][1] == ("20251011000000", "x", ["select 2"])


def test_row_as_dict():
    assert HistoryRow("1", "a", None).as_dict() == {"version": "1", "name": "a", "statements": None}
