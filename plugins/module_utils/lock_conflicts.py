# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which table locks a migration needs, who on a live database holds or waits for a conflicting one, and
how long to wait for them.

A DDL statement that waits for its lock makes every later query on that table queue behind it: one
``ALTER TABLE`` stuck behind a long read stalls the application until the read ends. So, before each
attempt, the apply engine asks this module:

1. :func:`migration_locks`: the relations each statement touches and the lock mode PostgreSQL takes for it
   (pglast parses the statement; the modes follow PostgreSQL's own choices, e.g. ``AlterTableGetLockLevel``:
   ``ADD COLUMN`` takes ACCESS EXCLUSIVE, ``VALIDATE CONSTRAINT`` SHARE UPDATE EXCLUSIVE, ``ADD FOREIGN KEY``
   SHARE ROW EXCLUSIVE on both tables, ``CREATE INDEX`` SHARE). Statements whose locks cannot be known from
   their text (``DO`` blocks, unparsable text) are listed as ``opaque``: only ``lock_timeout`` bounds them.
2. :func:`conflicting_sessions`: the sessions (and prepared transactions) that hold or wait for a lock
   conflicting with those modes on those relations, their children in an inheritance tree included, with
   their transaction's age, from ``pg_locks`` and ``pg_stat_activity``.
3. :func:`wait_until_clear`: do not try while one of them is in a transaction older than a threshold; log who
   we wait for; give up when the retry budget (:class:`RetryBudget`, jittered exponential backoff) is spent.
4. :func:`describe_session`: the blocker on one line (pid, user, application_name, state, transaction age
   and the first characters of its query with literals masked and secrets redacted).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import time
from collections import namedtuple

try:
    from pglast.parser import parse_sql as _pglast_parse
    from pglast.visitors import ReferencedRelations, Visitor, maybe_double_quote_name
    HAS_PGLAST = True
except ImportError:  # pragma: no cover - modules report missing_required_lib('pglast')
    _pglast_parse = None
    ReferencedRelations = Visitor = object
    maybe_double_quote_name = None
    HAS_PGLAST = False

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import brief, clip

# --------------------------------------------------------------------------------------------------
# Lock modes (names as pg_locks.mode shows them) and PostgreSQL's conflict table
# --------------------------------------------------------------------------------------------------

ACCESS_SHARE = "AccessShareLock"
ROW_SHARE = "RowShareLock"
ROW_EXCLUSIVE = "RowExclusiveLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
EXCLUSIVE = "ExclusiveLock"
ACCESS_EXCLUSIVE = "AccessExclusiveLock"
# Weakest first: the index + 1 is PostgreSQL's LOCKMODE number (LockStmt.mode), and "the strongest of
# several subcommands" means the highest number, as AlterTableGetLockLevel computes it.
LOCK_MODES = (ACCESS_SHARE, ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE,
              EXCLUSIVE, ACCESS_EXCLUSIVE)

# https://www.postgresql.org/docs/current/explicit-locking.html#TABLE-LOCK-COMPATIBILITY
CONFLICTS = {
    ACCESS_SHARE: frozenset([ACCESS_EXCLUSIVE]),
    ROW_SHARE: frozenset([EXCLUSIVE, ACCESS_EXCLUSIVE]),
    ROW_EXCLUSIVE: frozenset([SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE]),
    SHARE_UPDATE_EXCLUSIVE: frozenset([SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                                       ACCESS_EXCLUSIVE]),
    SHARE: frozenset([ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE]),
    SHARE_ROW_EXCLUSIVE: frozenset([ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                                    ACCESS_EXCLUSIVE]),
    EXCLUSIVE: frozenset([ROW_SHARE, ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE,
                          ACCESS_EXCLUSIVE]),
    ACCESS_EXCLUSIVE: frozenset(LOCK_MODES),
}


def conflicts(mode_a, mode_b):
    """True when a lock in ``mode_a`` and one in ``mode_b`` on the same relation cannot be held together."""
    return mode_b in CONFLICTS[mode_a]


def strongest(modes):
    return max(modes, key=LOCK_MODES.index)


def _words(camel):
    """``AccessExclusive`` -> ``ACCESS EXCLUSIVE``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", camel).upper()


def sql_mode_name(mode):
    """``AccessExclusiveLock`` -> ``ACCESS EXCLUSIVE`` (as LOCK TABLE and the documentation write it)."""
    return _words(mode[:-len("Lock")])


# --------------------------------------------------------------------------------------------------
# What a statement locks (pglast)
# --------------------------------------------------------------------------------------------------

LockNeed = namedtuple("LockNeed", ["relation", "mode", "statement", "what"])
"""One table-level lock a statement takes: ``relation`` as SQL text (``public.t``, ``"My".t``; resolved by the
server with the session's search_path), ``mode`` a pg_locks mode name, ``statement`` its 1-based index,
``what`` the statement kind for messages (``ALTER TABLE ADD COLUMN``)."""

_AT_SHARE_UPDATE_EXCLUSIVE = frozenset([
    "AT_SetStatistics", "AT_ClusterOn", "AT_DropCluster", "AT_SetOptions", "AT_ResetOptions",
    "AT_ValidateConstraint", "AT_AttachPartition", "AT_DetachPartitionFinalize"])
_AT_SHARE_ROW_EXCLUSIVE = frozenset([
    "AT_EnableTrig", "AT_EnableAlwaysTrig", "AT_EnableReplicaTrig", "AT_EnableTrigAll", "AT_EnableTrigUser",
    "AT_DisableTrig", "AT_DisableTrigAll", "AT_DisableTrigUser"])
# Storage parameters whose change PostgreSQL makes under SHARE UPDATE EXCLUSIVE (reloptions.c); any other
# (view options such as security_invoker, check_option) takes ACCESS EXCLUSIVE.
_LIGHT_RELOPTIONS = re.compile(r"^(toast\.)?(autovacuum_.*|toast_tuple_target|fillfactor|parallel_workers|"
                               r"log_autovacuum_min_duration|vacuum_index_cleanup|vacuum_truncate|"
                               r"user_catalog_table|n_distinct|n_distinct_inherited)$")
_TABLE_LIKE = frozenset(["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE",
                         "OBJECT_SEQUENCE", "OBJECT_INDEX"])
# Objects named (schema., table, name) in DROP/COMMENT whose lock falls on the table they belong to.
_ON_TABLE = frozenset(["OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE", "OBJECT_TABCONSTRAINT"])
_DISPLAY = {"OBJECT_MATVIEW": "MATERIALIZED VIEW", "OBJECT_FOREIGN_TABLE": "FOREIGN TABLE",
            "OBJECT_TABCONSTRAINT": "CONSTRAINT"}


def _enum_name(value):
    return getattr(value, "name", str(value))


def _kind(objtype):
    name = _enum_name(objtype)
    return _DISPLAY.get(name, name.replace("OBJECT_", "").replace("_", " "))


def _rangevar_name(rangevar):
    """SQL text of a RangeVar, quoted where needed, as pglast's ReferencedRelations writes it."""
    name = maybe_double_quote_name(rangevar.relname)
    if rangevar.schemaname:
        name = "%s.%s" % (maybe_double_quote_name(rangevar.schemaname), name)
    return name


def _names_name(parts):
    """SQL text of a qualified name given as pglast String nodes."""
    return ".".join(maybe_double_quote_name(part.sval) for part in parts)


def _option_names(defs):
    return [getattr(d, "defname", "") or "" for d in (defs or ())]


def _alter_table_mode(node):
    """(mode, what, extra needs) of an ALTER TABLE/INDEX/VIEW: the strongest of its subcommands."""
    modes = [SHARE_UPDATE_EXCLUSIVE]
    parts = []
    extra = []
    for cmd in node.cmds or ():
        sub = _enum_name(cmd.subtype)
        parts.append(_words(sub.replace("AT_", "")))
        definition = getattr(cmd, "def_", None)
        if sub in _AT_SHARE_UPDATE_EXCLUSIVE:
            mode = SHARE_UPDATE_EXCLUSIVE
            if sub == "AT_AttachPartition" and getattr(definition, "name", None) is not None:
                extra.append((_rangevar_name(definition.name), ACCESS_EXCLUSIVE))
        elif sub in _AT_SHARE_ROW_EXCLUSIVE:
            mode = SHARE_ROW_EXCLUSIVE
        elif sub in ("AT_SetRelOptions", "AT_ResetRelOptions"):
            light = all(_LIGHT_RELOPTIONS.match(name) for name in _option_names(definition))
            mode = SHARE_UPDATE_EXCLUSIVE if light and _enum_name(node.objtype) != "OBJECT_VIEW" else ACCESS_EXCLUSIVE
        elif sub == "AT_DetachPartition":
            concurrent = bool(getattr(definition, "concurrent", False))
            mode = SHARE_UPDATE_EXCLUSIVE if concurrent else ACCESS_EXCLUSIVE
            if getattr(definition, "name", None) is not None:
                extra.append((_rangevar_name(definition.name), mode))
        elif sub == "AT_AddConstraint" and _enum_name(getattr(definition, "contype", "")) == "CONSTR_FOREIGN":
            mode = SHARE_ROW_EXCLUSIVE
        else:
            mode = ACCESS_EXCLUSIVE  # what PostgreSQL takes for everything else (and the safe guess)
        modes.append(mode)
    return strongest(modes), ", ".join(parts[:3]) + (", ..." if len(parts) > 3 else ""), extra


class _ForeignKeys(Visitor):
    """Tables a statement's FOREIGN KEY / REFERENCES clauses point to (they get SHARE ROW EXCLUSIVE)."""

    def __init__(self):
        super(_ForeignKeys, self).__init__()
        self.found = []

    def visit_Constraint(self, ancestors, node):
        if _enum_name(node.contype) == "CONSTR_FOREIGN" and node.pktable is not None:
            self.found.append(_rangevar_name(node.pktable))


def _foreign_key_targets(node):
    visitor = _ForeignKeys()
    visitor(node)
    return visitor.found


def _specific_locks(node):
    """[(relation, mode, what)] for the statement kinds whose lock PostgreSQL chooses above AccessShare, plus
    whether the kind is opaque (its locks depend on code the text does not show)."""
    name = type(node).__name__
    out = []
    if name == "AlterTableStmt":
        mode, what, extra = _alter_table_mode(node)
        label = "ALTER %s %s" % (_kind(node.objtype), what)
        out.append((_rangevar_name(node.relation), mode, label))
        out.extend((rel, rel_mode, label) for rel, rel_mode in extra)
        out.extend((rel, SHARE_ROW_EXCLUSIVE, label + " (referenced table)") for rel in _foreign_key_targets(node))
    elif name == "IndexStmt":
        concurrent = bool(node.concurrent)
        out.append((_rangevar_name(node.relation), SHARE_UPDATE_EXCLUSIVE if concurrent else SHARE,
                    "CREATE INDEX" + (" CONCURRENTLY" if concurrent else "")))
    elif name == "CreateStmt":
        parent_mode = ACCESS_EXCLUSIVE if node.partbound is not None else SHARE_UPDATE_EXCLUSIVE
        for parent in node.inhRelations or ():
            out.append((_rangevar_name(parent), parent_mode,
                        "CREATE TABLE PARTITION OF" if node.partbound is not None else "CREATE TABLE INHERITS"))
        out.extend((rel, SHARE_ROW_EXCLUSIVE, "CREATE TABLE (referenced table)") for rel in _foreign_key_targets(node))
    elif name == "DropStmt":
        kind = _enum_name(node.removeType)
        concurrent = bool(getattr(node, "concurrent", False))
        for obj in node.objects or ():
            parts = obj if isinstance(obj, tuple) else (obj,)
            if kind in _TABLE_LIKE and all(type(p).__name__ == "String" for p in parts):
                mode = SHARE_UPDATE_EXCLUSIVE if concurrent else ACCESS_EXCLUSIVE
                out.append((_names_name(parts), mode, "DROP %s" % _kind(node.removeType)))
            elif kind in _ON_TABLE and len(parts) >= 2:
                out.append((_names_name(parts[:-1]), ACCESS_EXCLUSIVE, "DROP %s" % _kind(node.removeType)))
    elif name == "TruncateStmt":
        out.extend((_rangevar_name(rel), ACCESS_EXCLUSIVE, "TRUNCATE") for rel in node.relations or ())
    elif name == "RenameStmt":
        kind = _enum_name(node.renameType)
        if node.relation is not None:
            mode = SHARE_UPDATE_EXCLUSIVE if kind == "OBJECT_INDEX" else ACCESS_EXCLUSIVE
            out.append((_rangevar_name(node.relation), mode, "RENAME %s" % _kind(node.renameType)))
    elif name == "AlterObjectSchemaStmt" and node.relation is not None:
        out.append((_rangevar_name(node.relation), ACCESS_EXCLUSIVE, "ALTER %s SET SCHEMA" % _kind(node.objectType)))
    elif name in ("CreatePolicyStmt", "AlterPolicyStmt"):
        out.append((_rangevar_name(node.table), ACCESS_EXCLUSIVE,
                    "CREATE POLICY" if name == "CreatePolicyStmt" else "ALTER POLICY"))
    elif name == "CreateTrigStmt":
        out.append((_rangevar_name(node.relation), SHARE_ROW_EXCLUSIVE, "CREATE TRIGGER"))
    elif name == "RuleStmt":
        out.append((_rangevar_name(node.relation), ACCESS_EXCLUSIVE, "CREATE RULE"))
    elif name == "CommentStmt":
        kind = _enum_name(node.objtype)
        parts = node.object if isinstance(node.object, tuple) else ()
        if kind in _TABLE_LIKE and parts:
            out.append((_names_name(parts), SHARE_UPDATE_EXCLUSIVE, "COMMENT ON %s" % _kind(node.objtype)))
        elif (kind == "OBJECT_COLUMN" or kind in _ON_TABLE) and len(parts) >= 2:
            out.append((_names_name(parts[:-1]), SHARE_UPDATE_EXCLUSIVE, "COMMENT ON %s" % _kind(node.objtype)))
    elif name == "CreateStatsStmt":
        out.extend((_rangevar_name(rel), SHARE_UPDATE_EXCLUSIVE, "CREATE STATISTICS")
                   for rel in node.relations or () if type(rel).__name__ == "RangeVar")
    elif name == "AlterSeqStmt":
        out.append((_rangevar_name(node.sequence), SHARE_ROW_EXCLUSIVE, "ALTER SEQUENCE"))
    elif name == "LockStmt":
        mode = LOCK_MODES[int(node.mode) - 1]
        out.extend((_rangevar_name(rel), mode, "LOCK TABLE IN %s MODE" % sql_mode_name(mode)) for rel in node.relations)
    elif name == "VacuumStmt":
        full = "full" in _option_names(node.options)
        label = "VACUUM FULL" if full else ("VACUUM" if node.is_vacuumcmd else "ANALYZE")
        out.extend((_rangevar_name(rel.relation), ACCESS_EXCLUSIVE if full else SHARE_UPDATE_EXCLUSIVE, label)
                   for rel in node.rels or () if rel.relation is not None)
    elif name == "ClusterStmt" and node.relation is not None:
        out.append((_rangevar_name(node.relation), ACCESS_EXCLUSIVE, "CLUSTER"))
    elif name == "ReindexStmt" and node.relation is not None:
        concurrent = "concurrently" in _option_names(node.params)
        on_index = _enum_name(node.kind) == "REINDEX_OBJECT_INDEX"
        mode = SHARE_UPDATE_EXCLUSIVE if concurrent else (ACCESS_EXCLUSIVE if on_index else SHARE)
        out.append((_rangevar_name(node.relation), mode, "REINDEX" + (" CONCURRENTLY" if concurrent else "")))
    elif name == "RefreshMatViewStmt":
        out.append((_rangevar_name(node.relation), EXCLUSIVE if node.concurrent else ACCESS_EXCLUSIVE,
                    "REFRESH MATERIALIZED VIEW" + (" CONCURRENTLY" if node.concurrent else "")))
    elif name == "ViewStmt" and node.replace:
        out.append((_rangevar_name(node.view), ACCESS_EXCLUSIVE, "CREATE OR REPLACE VIEW"))
    elif name in ("InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"):
        out.append((_rangevar_name(node.relation), ROW_EXCLUSIVE, name[:-4].upper()))
    return out, name in ("DoStmt", "CallStmt")


class MigrationLocks(object):
    """The table locks of one migration: ``needs`` (every LockNeed, in statement order), ``modes``
    (``{relation: set of modes}``) and ``opaque`` (1-based indexes of statements whose locks are unknown)."""

    def __init__(self, needs, opaque):
        self.needs = list(needs)
        self.opaque = list(opaque)
        self.modes = {}
        for need in self.needs:
            self.modes.setdefault(need.relation, set()).add(need.mode)

    def __bool__(self):
        return bool(self.needs)

    __nonzero__ = __bool__

    def strongest(self, relation):
        return strongest(self.modes[relation])

    def relations(self):
        return sorted(self.modes)

    def summary(self, limit=4):
        """``ACCESS EXCLUSIVE on public.t, SHARE on public.u`` (strongest mode per relation)."""
        items = ["%s on %s" % (sql_mode_name(self.strongest(rel)), rel) for rel in self.relations()]
        return brief(items, limit) or "no table locks"


def statement_locks(statement, index=1):
    """(``[LockNeed]``, opaque) for one SQL statement; a statement pglast cannot parse is opaque."""
    if not HAS_PGLAST:
        raise InvalidInput("pglast is required to find the locks a migration needs: pip install pglast")
    try:
        parsed = _pglast_parse(statement)
    except Exception:  # pylint: disable=broad-except
        return [], True  # the server will report the syntax error; its locks are unknown
    needs = []
    opaque = False
    for raw in parsed:
        node = raw.stmt
        specific, unknown = _specific_locks(node)
        opaque = opaque or unknown
        taken = set()
        for relation, mode, what in specific:
            needs.append(LockNeed(relation, mode, index, what))
            taken.add(relation)
        # Everything else the statement names is at least read (ACCESS SHARE), as the planner locks it.
        try:
            referenced = ReferencedRelations()(node)
        except Exception:  # pylint: disable=broad-except
            referenced = set()
        for relation in sorted(referenced - taken):
            needs.append(LockNeed(relation, ACCESS_SHARE, index, "referenced"))
    return needs, opaque


def migration_locks(statements):
    """MigrationLocks of a migration's statements (as migrations.Migration.statements() returns them)."""
    needs, opaque = [], []
    for index, statement in enumerate(statements, 1):
        found, unknown = statement_locks(statement, index)
        needs.extend(found)
        if unknown:
            opaque.append(index)
    return MigrationLocks(needs, opaque)


# --------------------------------------------------------------------------------------------------
# Who holds or waits for a conflicting lock (pg_locks + pg_stat_activity)
# --------------------------------------------------------------------------------------------------

Session = namedtuple("Session", ["pid", "user", "application_name", "state", "backend_type", "xact_age",
                                 "query", "relation", "mode", "granted", "prepared_gid", "wait_event"])
"""A session (or prepared transaction: ``pid`` None, ``prepared_gid`` set) holding (``granted``) or waiting
for a lock in ``mode`` on ``relation``; ``xact_age`` in seconds, None when the server does not show it."""

QUERY_CHARS = 200

# Relations by name (resolved with the session's search_path; a table a migration creates does not exist
# yet and is skipped), the table of a named index (DROP INDEX locks it too; the same mode is assumed, which
# errs on the safe side), partitions/inheritance children (ALTER TABLE recurses into them), then every
# relation lock on them held or awaited by another backend or a prepared transaction.
_SESSIONS_SQL = """
WITH RECURSIVE named(name, relid) AS (
    SELECT name, to_regclass(name)::oid FROM unnest(%(names)s::text[]) AS name
), base(name, relid) AS (
    SELECT name, relid FROM named WHERE relid IS NOT NULL
    UNION
    SELECT n.name, x.indrelid FROM named n JOIN pg_index x ON x.indexrelid = n.relid
), target(name, relid) AS (
    SELECT name, relid FROM base
    UNION
    SELECT t.name, i.inhrelid FROM target t JOIN pg_inherits i ON i.inhparent = t.relid
)
SELECT l.pid, a.usename, a.application_name, a.state, a.backend_type,
       extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, p.prepared))::float8 AS xact_age,
       left(a.query, %(chars)s), t.name, format('%%I.%%I', n.nspname, c.relname), l.mode, l.granted, p.gid,
       a.wait_event_type || coalesce(':' || a.wait_event, '')
FROM (SELECT pid, relation AS relid, mode, granted, virtualtransaction FROM pg_locks
      WHERE locktype = 'relation'
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) l
JOIN target t ON t.relid = l.relid
JOIN pg_class c ON c.oid = l.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
-- A prepared transaction's locks have no pid; its transactionid lock (same virtualtransaction) names it.
LEFT JOIN LATERAL (
    SELECT px.gid, px.prepared FROM pg_locks x JOIN pg_prepared_xacts px ON px.transaction = x.transactionid
    WHERE l.pid IS NULL AND x.pid IS NULL AND x.locktype = 'transactionid'
      AND x.virtualtransaction = l.virtualtransaction
    LIMIT 1) p ON true
WHERE l.pid IS DISTINCT FROM pg_backend_pid()
"""


def conflicting_sessions(cur, locks, query_chars=QUERY_CHARS):
    """Sessions holding or waiting for a lock that conflicts with what ``locks`` (MigrationLocks) needs,
    oldest transaction first (unknown ages first: they cannot be ruled out). One entry per session: its
    strongest conflicting lock."""
    if not locks:
        return []
    cur.execute(_SESSIONS_SQL, dict(names=locks.relations(), chars=query_chars))
    found = {}
    for (pid, user, app, state, backend_type, age, query, name, relation, mode, granted, gid,
         wait_event) in cur.fetchall():
        if mode not in CONFLICTS:
            continue
        if not any(conflicts(needed, mode) for needed in locks.modes.get(name, ())):
            continue
        key = pid if pid is not None else "prepared:%s" % gid
        session = Session(pid, user, app, state, backend_type, age, query, relation, mode, bool(granted), gid,
                          wait_event)
        known = found.get(key)
        if known is None or (session.granted, LOCK_MODES.index(mode)) > (known.granted, LOCK_MODES.index(known.mode)):
            found[key] = session
    return sorted(found.values(), key=lambda s: (s.xact_age is not None, -(s.xact_age or 0.0), s.pid or 0))


def old_blockers(sessions, min_age):
    """The sessions whose transaction is at least ``min_age`` seconds old (or of unknown age)."""
    return [s for s in sessions if s.xact_age is None or s.xact_age >= min_age]


# --------------------------------------------------------------------------------------------------
# The blocker on one line
# --------------------------------------------------------------------------------------------------

# '...', E'...', U&'...', a literal cut off by track_activity_query_size, and $tag$ ... $tag$ bodies.
_LITERAL = re.compile(r"(?<![A-Za-z0-9_$])(?:[eEbBxXuU]&?)?'(?:[^']|'')*(?:'|$)"
                      r"|(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)[\s\S]*?(?:\1|$)")


def redact_query(text, limit=60, secrets=()):
    """The first ``limit`` characters of a query on one line, string literals masked (a literal may hold a
    password or personal data), known secrets and DSN passwords redacted."""
    if text is None:
        return ""
    return clip(redact(_LITERAL.sub("'...'", str(text)), secrets), limit)


def _age(seconds):
    if seconds is None:
        return "transaction age not visible"
    if seconds < 120:
        return "transaction open %.1f s" % seconds
    if seconds < 7200:
        return "transaction open %.0f min" % (seconds / 60.0)
    return "transaction open %.1f h" % (seconds / 3600.0)


def describe_session(session, secrets=(), query_chars=60):
    """``pid 4242 (user app, application_name 'dashboard', idle in transaction, transaction open 8.0 s, holds
    AccessShareLock on public.t, query: select ... from t where id = '...')``."""
    if session.pid is None:
        who = "prepared transaction '%s'" % redact(session.prepared_gid, secrets)
        fields = [_age(session.xact_age)]
    else:
        who = "pid %d" % session.pid
        fields = ["user %s" % (session.user or "?"),
                  "application_name '%s'" % redact(session.application_name or "", secrets)]
        if session.backend_type and session.backend_type != "client backend":
            fields.append(session.backend_type)
        fields.append(session.state or "state not visible")
        fields.append(_age(session.xact_age))
    fields.append("%s %s on %s" % ("holds" if session.granted else "waits for", session.mode, session.relation))
    if session.pid is not None:
        query = redact_query(session.query, query_chars, secrets)
        fields.append("query: %s" % (query or "not visible"))
    return "%s (%s)" % (who, ", ".join(fields))


# --------------------------------------------------------------------------------------------------
# Waiting within a budget
# --------------------------------------------------------------------------------------------------

class RetryBudget(object):
    """A total time budget for getting a migration's locks, and jittered exponential backoff between tries.

    ``delay(n)`` for the n-th failed attempt (1-based) is drawn from [d/2, d] with ``d = min(max_delay,
    base_delay * 2**(n-1))`` ("equal jitter": several runners, or hosts of one play, do not retry in step,
    and no wait is shorter than half the nominal one), and never runs past the budget.
    """

    def __init__(self, seconds, base_delay=0.1, max_delay=5.0, clock=time.monotonic, rng=None):
        if seconds is None or seconds < 0:
            raise InvalidInput("the lock retry budget must be zero or more seconds, not %r" % (seconds,))
        self.seconds = float(seconds)
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.clock = clock
        self.rng = rng or random.Random()
        self.started = clock()

    def elapsed(self):
        return self.clock() - self.started

    def remaining(self):
        return max(0.0, self.seconds - self.elapsed())

    def spent(self):
        return self.remaining() <= 0.0

    def delay(self, attempt):
        nominal = min(self.max_delay, self.base_delay * (2 ** max(attempt - 1, 0)))
        return min(self.remaining(), nominal / 2.0 + self.rng.uniform(0.0, nominal / 2.0))


def wait_until_clear(cur, locks, min_age, budget, log=None, sleep=time.sleep, poll=0.25, stop=None, secrets=()):
    """Wait while a session in a transaction older than ``min_age`` seconds holds or waits for a lock that
    conflicts with ``locks``; poll every ``poll`` seconds within ``budget`` (RetryBudget).

    Returns ``[]`` when the way is clear, else the blockers still there when the budget ran out (oldest first)
    or when ``stop()`` returned a reason to stop. Logs each new blocker once, then every ~10 s who is still
    waited for.
    """
    seen = set()
    last_report = None
    while True:
        blockers = old_blockers(conflicting_sessions(cur, locks), min_age)
        if not blockers:
            return []
        if budget.spent() or (stop is not None and stop()):
            return blockers
        if log is not None:
            new = [s for s in blockers if (s.pid, s.prepared_gid) not in seen]
            now = budget.elapsed()
            if new or last_report is None or now - last_report >= 10.0:
                log.write("  waiting for %s before trying (%.1f s of the %g s lock budget left)"
                          % (describe_session(blockers[0], secrets),
                             budget.remaining(), budget.seconds)
                          + ("; %d more session(s)" % (len(blockers) - 1) if len(blockers) > 1 else ""))
                last_report = now
            seen.update((s.pid, s.prepared_gid) for s in blockers)
        sleep(min(poll, max(budget.remaining(), 0.0)))


class LockNotGranted(Exception):
    """Raised by an attempt whose lock was not granted within lock_timeout (SQLSTATE 55P03); it rolled back."""

    def __init__(self, error=None):
        super(LockNotGranted, self).__init__(str(error) if error is not None else "lock not granted")
        self.error = error


class LockBudgetSpent(Exception):
    """No attempt got its locks within the budget, or the run was asked to stop while waiting. ``blockers`` are
    the sessions last seen in the way (oldest first), ``attempts`` the tries made, ``stopped`` the stop reason."""

    def __init__(self, blockers, attempts, waited, stopped=None):
        super(LockBudgetSpent, self).__init__("lock budget spent after %d attempt(s)" % attempts)
        self.blockers = list(blockers)
        self.attempts = attempts
        self.waited = waited
        self.stopped = stopped


class LockPolicy(object):
    """How an apply gets its locks on a live database (every duration in seconds).

    ``lock_timeout`` per attempt (how long the application may queue behind the apply), ``budget`` in total per
    unit of work, ``blocker_age``: a conflicting session in a transaction at least this old is waited for
    without trying, ``base_delay``/``max_delay`` of the jittered backoff after a failed attempt,
    ``max_attempts`` (None: as many as the budget allows).
    """

    def __init__(self, lock_timeout=0.2, budget=60.0, blocker_age=0.5, base_delay=0.25, max_delay=5.0,
                 max_attempts=None, poll=0.25):
        for name, value in (("lock_timeout", lock_timeout), ("budget", budget), ("blocker_age", blocker_age)):
            if value is None or value < 0:
                raise InvalidInput("%s must be zero or more seconds, not %r" % (name, value))
        self.lock_timeout = float(lock_timeout)
        self.budget = float(budget)
        self.blocker_age = float(blocker_age)
        self.base_delay = float(base_delay)
        self.max_delay = float(max_delay)
        self.max_attempts = max_attempts
        self.poll = float(poll)


def attempt_within_budget(cur, locks, policy, attempt, log=None, stop=None, sleep=time.sleep, clock=time.monotonic,
                          rng=None, secrets=(), label="migration"):
    """Run ``attempt()`` until it does not raise LockNotGranted; returns ``(its value, attempts)``.

    Before each attempt, wait while an old transaction holds or waits for a conflicting lock (``cur``: a cursor
    of an autocommit session, e.g. the apply's own between attempts); after a failed one, log who was in the way
    and back off. LockBudgetSpent when the budget is spent, ``max_attempts`` reached, or ``stop()`` gives a
    reason to stop. ``locks`` (MigrationLocks) may be empty: then only lock_timeout and the budget apply.
    """
    budget = RetryBudget(policy.budget, policy.base_delay, policy.max_delay, clock=clock, rng=rng)
    attempts = 0
    while True:
        if locks:
            blockers = wait_until_clear(cur, locks, policy.blocker_age, budget, log, sleep=sleep, poll=policy.poll,
                                        stop=stop, secrets=secrets)
            if blockers:
                raise LockBudgetSpent(blockers, attempts, budget.elapsed(), stop() if stop is not None else None)
        reason = stop() if stop is not None else None
        if reason:
            raise LockBudgetSpent([], attempts, budget.elapsed(), reason)
        attempts += 1
        try:
            return attempt(), attempts
        except LockNotGranted:
            in_the_way = conflicting_sessions(cur, locks) if locks else []
            if budget.spent() or (policy.max_attempts is not None and attempts >= policy.max_attempts):
                raise LockBudgetSpent(in_the_way, attempts, budget.elapsed())
            delay = budget.delay(attempts)
            if log is not None:
                log.write("  %s: lock not granted within %g s (attempt %d)%s; retrying in %.2f s"
                          % (label, policy.lock_timeout, attempts,
                             ("; in the way: %s" % describe_session(in_the_way[0], secrets)) if in_the_way else "",
                             delay))
            sleep(delay)
