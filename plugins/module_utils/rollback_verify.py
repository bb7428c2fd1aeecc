# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""After a rollback: did it work? Snapshots before and after, compared as report checks.

The same verification follows every strategy: the history equals the target state, the counted tables
that existed can still be read, their row counts did not drop (a warning where the strategy discards rows
by design), the counts match the backup after a logical restore, and tables that had row level security
still have it.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:  # pragma: no cover - the module reports missing_required_lib('psycopg2')
    psycopg2 = None
    sql = None

from ansible_collections.hotdash.supabase.plugins.module_utils.history import read_history
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief
from ansible_collections.hotdash.supabase.plugins.module_utils.pg_errors import first_line
from ansible_collections.hotdash.supabase.plugins.module_utils.relations import split_relation
from ansible_collections.hotdash.supabase.plugins.module_utils.report import make_check


def take_snapshot(conn, count_tables, schemas):
    """History versions, row count (or the read error) per table, and the tables with RLS enabled."""
    out = dict(history=[], counts={}, errors={}, rls=[])
    conn.autocommit = True
    with conn.cursor() as cur:
        out["history"] = [row.version for row in read_history(cur)]
        for table in count_tables:
            schema, name = split_relation(table, plain=True)
            cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
            if not cur.fetchone()[0]:
                out["counts"][table] = None
                out["errors"][table] = "does not exist"
                continue
            try:
                cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(name)))
                out["counts"][table] = cur.fetchone()[0]
            except psycopg2.Error as exc:
                out["counts"][table] = None
                out["errors"][table] = first_line(exc)
        cur.execute("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND n.nspname = ANY(%s) ORDER BY 1",
                    (list(schemas),))
        out["rls"] = [row[0] for row in cur.fetchall()]
    return out


def verification_checks(strategy, before, after, expected_history, dump_counts=None):
    """The rollback verification as report checks (pure: snapshots in, checks out)."""
    checks = []
    expected = sorted(expected_history)
    have = sorted(after["history"])
    extra = [v for v in have if v not in expected]
    missing = [v for v in expected if v not in have]
    if not extra and not missing:
        checks.append(make_check("rollback history", "ok", "history matches the target: %d version(s), newest %s"
                                 % (len(have), have[-1] if have else "none"), data=dict(history=have)))
    else:
        parts = []
        if extra:
            parts.append("still applied: %s" % brief(extra))
        if missing:
            parts.append("missing: %s" % brief(missing))
        checks.append(make_check("rollback history", "fail", "history differs from the target state (%s)" % "; ".join(parts),
                                 "compare with migration_info and repair the history (migration_repair) after checking "
                                 "the schema", data=dict(history=have, expected=expected)))
    existed = [t for t, n in before["counts"].items() if n is not None]
    unreadable = dict((t, after["errors"].get(t, "unreadable")) for t in existed if after["counts"].get(t) is None)
    if unreadable:
        checks.append(make_check("smoke reads", "fail", "cannot read %s" % brief("%s (%s)" % kv for kv in sorted(
            unreadable.items())), "a table that existed before the rollback is gone or unreadable: restore it "
                                  "from the backup", data=dict(errors=unreadable)))
    else:
        checks.append(make_check("smoke reads", "ok", "read %d table(s): %s" % (len(existed), brief(
            "%s=%s" % (t, after["counts"][t]) for t in existed)) if existed else "no configured table existed", data={}))
    dropped = dict((t, [before["counts"][t], after["counts"].get(t)]) for t in existed
                   if after["counts"].get(t) is not None and after["counts"][t] < before["counts"][t])
    dropped.update((t, [before["counts"][t], None]) for t in unreadable)
    if not dropped:
        checks.append(make_check("no data loss", "ok", "row counts did not drop in %d table(s)" % len(existed),
                                 data=dict(before=before["counts"], after=after["counts"])))
    else:
        detail = "row counts dropped: %s" % brief("%s %s -> %s" % (t, b, a if a is not None else "gone")
                                                  for t, (b, a) in sorted(dropped.items()))
        if strategy == "down_scripts":
            status, remedy = "fail", "a down script lost data: restore the rows from the backup and fix the script"
        elif strategy == "staging_reset":
            status, remedy = "warn", "staging_reset re-creates the schema from migrations; load a seed (seed_path)"
            detail += " (expected: a reset keeps no data)"
        else:
            status, remedy = "warn", "rows written after the restore point are gone; replay them if they matter"
            detail += " (rows written after the restore point)"
        checks.append(make_check("no data loss", status, detail, remedy,
                                 data=dict(before=before["counts"], after=after["counts"])))
    if dump_counts is not None:
        wrong = dict((t, [dump_counts[t], after["counts"].get(t)]) for t in sorted(dump_counts)
                     if t in before["counts"] and after["counts"].get(t) != dump_counts[t])
        compared = [t for t in dump_counts if t in before["counts"]]
        if wrong:
            checks.append(make_check("backup row counts", "fail", "row counts differ from the backup: %s" % brief(
                "%s backup %s, now %s" % (t, b, a) for t, (b, a) in wrong.items()),
                "the restore is incomplete: inspect the log and restore again", data=dict(backup=dump_counts)))
        else:
            checks.append(make_check("backup row counts", "ok", "%d table(s) match the backup: %s" % (len(compared), brief(
                "%s=%s" % (t, dump_counts[t]) for t in sorted(compared))), data=dict(backup=dump_counts)))
    tables_after = set(after.get("tables", before["rls"]))
    lost_rls = [t for t in before["rls"] if t not in after["rls"] and t in tables_after]
    gone = [t for t in before["rls"] if t not in tables_after]
    if lost_rls:
        checks.append(make_check("rls enabled", "fail", "row level security is off on %s" % brief(lost_rls),
                                 "ALTER TABLE ... ENABLE ROW LEVEL SECURITY and check the policies", data=dict(rls=after["rls"])))
    else:
        detail = "RLS still enabled on %d table(s)" % len([t for t in before["rls"] if t in after["rls"]])
        if gone:
            detail += "; no longer present: %s" % brief(gone)
        checks.append(make_check("rls enabled", "ok", detail, data=dict(rls=after["rls"])))
    return checks


def table_list(conn, schemas):
    with conn.cursor() as cur:
        cur.execute("SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY(%s)", (list(schemas),))
        return [row[0] for row in cur.fetchall()]
