# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guard for every piece of SQL the collection runs as a check, and the masking of statement text.

PostgreSQL's own parser (pglast, i.e. libpg_query) decides what a statement is: not the
CLI-compatible splitter of statements.py, which copies the Supabase CLI byte for byte for history
rows and is the wrong tool for a security boundary (comment and ``BEGIN ATOMIC`` tricks make it see
one statement where the server runs several). A check statement must parse as exactly ONE statement
of a kind its profile allows; the caller then sends that statement's text, alone, to the server.

Profiles (what a check may run):

* ``QUERY`` - integrity queries, RLS scenario queries, RPC ``sql:`` arguments, the monitor's error
  rate query and probe queries: one SELECT (VALUES, TABLE, WITH ...), SHOW or EXPLAIN of such a
  SELECT; no data-modifying WITH, no SELECT INTO.
* ``WRITE`` - smoke write statements: SELECT, INSERT, UPDATE, DELETE, MERGE.
* ``SCRIPT`` - SQL and pgTAP test files: any statement that is not refused; ``SET [LOCAL] ROLE``,
  ``RESET ROLE`` and ``set_config('role', ...)`` are allowed (a test file switches roles itself).

Refused everywhere, with one line naming the check and the statement kind: transaction control
(BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE, ROLLBACK TO, PREPARE
TRANSACTION, COMMIT/ROLLBACK PREPARED); SET/RESET (or ``set_config()``) of ``role`` (outside
scripts), ``session_authorization``, ``transaction_read_only``, ``default_transaction_read_only``,
``SET TRANSACTION``, ``SET SESSION CHARACTERISTICS``, ``RESET ALL``, and of
``standard_conforming_strings`` and ``client_encoding`` (they change how the server reads the
statements that follow, so the parser's view would stop being the server's); COPY to or from a file
or a program; DO and CALL unless the check declares them (``allow=("do", "call")``); LISTEN,
UNLISTEN, NOTIFY; VACUUM and ANALYZE; LOAD, CHECKPOINT, ALTER SYSTEM; calls of functions whose effect
outlives the transaction (``lo_export``, ``pg_advisory_lock``, ``pg_notify``, ``dblink_exec``,
``pg_terminate_backend``, ... see ``OUTLIVING_FUNCTIONS``); text with a NUL character; anything the
parser cannot parse.

A check's ``settings:`` (GUCs set through ``set_config()``) pass :func:`guard_setting_name`: the
same settings are refused there.

A declared DO block, and in scripts a CREATE FUNCTION/PROCEDURE in LANGUAGE plpgsql or sql, is read
too: every statement and expression of its body goes through the same rules, and an ``EXECUTE`` of a
computed string (which nobody can read before it runs) is refused. Other languages are refused.

Statement text kept in artifacts (the monitor's top statements) goes through
:func:`mask_statement_text`: a statement that mentions a password or secret, in any quoting, is
replaced whole.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from pglast import parser as _pg
    HAS_PGLAST = True
except ImportError:  # pragma: no cover - modules declare the requirement
    _pg = None
    HAS_PGLAST = False

from ansible_collections.hotdash.supabase.plugins.module_utils.connection import redact
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.listing import clip

QUERY = "query"
WRITE = "write"
SCRIPT = "script"
PROFILES = (QUERY, WRITE, SCRIPT)
DECLARABLE = ("do", "call")

_PROFILE_KINDS = {
    QUERY: frozenset(["SelectStmt", "VariableShowStmt", "ExplainStmt"]),
    WRITE: frozenset(["SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]),
    SCRIPT: None,  # any kind that is not refused
}
_PROFILE_RULE = {
    QUERY: "a read-only check runs one SELECT (or VALUES, TABLE, SHOW, EXPLAIN); a write belongs in a smoke "
           "write, which is always rolled back",
    WRITE: "a smoke write runs SELECT, INSERT, UPDATE, DELETE or MERGE statements",
}
_WRITE_NODES = frozenset(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"])

_TRANSACTION_KINDS = {
    "TRANS_STMT_BEGIN": "BEGIN", "TRANS_STMT_START": "START TRANSACTION", "TRANS_STMT_COMMIT": "COMMIT",
    "TRANS_STMT_ROLLBACK": "ROLLBACK", "TRANS_STMT_SAVEPOINT": "SAVEPOINT", "TRANS_STMT_RELEASE": "RELEASE SAVEPOINT",
    "TRANS_STMT_ROLLBACK_TO": "ROLLBACK TO SAVEPOINT", "TRANS_STMT_PREPARE": "PREPARE TRANSACTION",
    "TRANS_STMT_COMMIT_PREPARED": "COMMIT PREPARED", "TRANS_STMT_ROLLBACK_PREPARED": "ROLLBACK PREPARED",
}
_TRANSACTION_REASON = "transaction control would end the check's transaction (a check runs inside one transaction " \
                      "that is always rolled back)"

# Settings a check may not change, with the reason (lower-case names; PostgreSQL's are case-insensitive).
_REFUSED_SETTINGS = {
    "role": "the check's role is declared with its role option, not switched in SQL",
    "session_authorization": "it changes the user the check runs as",
    "transaction_read_only": "it changes the check's read-only mode",
    "default_transaction_read_only": "it changes the read-only mode of the transactions that follow",
    "transaction": "the check's transaction mode is set by the collection",
    "session characteristics": "it changes the read-only mode of the transactions that follow",
    "standard_conforming_strings": "it changes how the server reads quotes in the statements that follow",
    "client_encoding": "it changes how the server reads the bytes of the statements that follow",
}
_SCRIPT_SETTINGS = frozenset(["role"])  # a test file switches roles itself (SET LOCAL ROLE anon; RESET ROLE)

_OTHER_REFUSED = {
    "ListenStmt": ("LISTEN", "it subscribes the session to notifications beyond the check"),
    "UnlistenStmt": ("UNLISTEN", "it changes the session's notification subscriptions"),
    "NotifyStmt": ("NOTIFY", "it signals other sessions"),
    "LoadStmt": ("LOAD", "it loads a library into the server process, which outlives the transaction"),
    "CheckPointStmt": ("CHECKPOINT", "it acts on the whole server, outside the transaction"),
    "AlterSystemStmt": ("ALTER SYSTEM", "it changes the server's configuration file, outside the transaction"),
}

# Functions whose effect is not undone by the check's ROLLBACK (or reaches outside the database).
OUTLIVING_FUNCTIONS = {
    "lo_export": "it writes a file on the database server",
    "lo_import": "it reads a file on the database server",
    "pg_file_write": "it writes a file on the database server",
    "pg_file_rename": "it renames a file on the database server",
    "pg_file_unlink": "it deletes a file on the database server",
    "pg_file_sync": "it syncs a file on the database server",
    "pg_notify": "it signals other sessions",
    "pg_advisory_lock": "a session-level advisory lock outlives the check's transaction",
    "pg_advisory_lock_shared": "a session-level advisory lock outlives the check's transaction",
    "pg_try_advisory_lock": "a session-level advisory lock outlives the check's transaction",
    "pg_try_advisory_lock_shared": "a session-level advisory lock outlives the check's transaction",
    "pg_terminate_backend": "it ends another session",
    "pg_cancel_backend": "it cancels another session's query",
    "pg_reload_conf": "it reloads the server's configuration",
    "pg_rotate_logfile": "it acts on the server's log files",
    "pg_switch_wal": "it acts on the server's write-ahead log",
    "pg_create_restore_point": "it writes to the server's write-ahead log",
    "pg_promote": "it promotes a standby server",
    "pg_stat_reset": "it resets statistics other tools read",
    "pg_stat_reset_shared": "it resets statistics other tools read",
    "pg_stat_reset_single_table_counters": "it resets statistics other tools read",
    "pg_stat_reset_single_function_counters": "it resets statistics other tools read",
    "pg_stat_reset_slru": "it resets statistics other tools read",
    "pg_stat_reset_replication_slot": "it resets statistics other tools read",
    "pg_stat_statements_reset": "it resets the statement statistics the monitor reads",
    "pg_create_physical_replication_slot": "it creates a replication slot",
    "pg_create_logical_replication_slot": "it creates a replication slot",
    "pg_drop_replication_slot": "it drops a replication slot",
    "dblink": "it runs SQL on another connection, outside the check's transaction",
    "dblink_exec": "it runs SQL on another connection, outside the check's transaction",
    "dblink_connect": "it opens another connection, outside the check's transaction",
    "dblink_connect_u": "it opens another connection, outside the check's transaction",
    "dblink_send_query": "it runs SQL on another connection, outside the check's transaction",
    "dblink_open": "it runs SQL on another connection, outside the check's transaction",
}

# Run first in every transaction that sends guarded text: the server then reads quotes exactly as the guard's
# parser did (a server, database or role set to standard_conforming_strings = off would end 'x\'' early).
SAME_QUOTING_SQL = "SET LOCAL standard_conforming_strings = on"
SQL_WHITESPACE = " \t\n\r\f\v"  # PostgreSQL's lexer white space (not Python's str.strip() set)
_MAX_DEPTH = 8  # DO inside a function inside DO ...: deeper nesting is refused, not followed


class StatementRefused(InvalidInput):
    """A check's SQL that the guard will not run; the message is one line naming the check and the kind."""


class Statement(object):
    """One statement as PostgreSQL's parser reads it: the text to send, its kind, parse tree, position."""

    __slots__ = ("text", "kind", "node", "index", "line")

    def __init__(self, text, kind, node, index=1, line=1):
        self.text = text
        self.kind = kind
        self.node = node
        self.index = index
        self.line = line

    @property
    def node_type(self):
        """The parser's node name (``SelectStmt``, ``CreateExtensionStmt``, ...)."""
        return next(iter(self.node))

    def __repr__(self):
        return "Statement(%d, %s, %r)" % (self.index, self.kind, self.text[:60])


class _Unparsable(Exception):
    def __init__(self, reason, position=None):
        super(_Unparsable, self).__init__(reason)
        self.reason = reason
        self.position = position


# ---------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------

def _require_pglast():
    if not HAS_PGLAST:
        raise InvalidInput("pglast is required to read check SQL with PostgreSQL's parser: pip install pglast")


def parse_statements(text):
    """``[(node, text, line)]`` of every statement PostgreSQL's parser reads in ``text``; raises _Unparsable."""
    _require_pglast()
    if not isinstance(text, str):
        raise _Unparsable("not SQL text (got %s)" % type(text).__name__)
    if "\x00" in text:
        # libpg_query stops at a NUL byte; the server would refuse the text. Never guess in between.
        raise _Unparsable("the text contains a NUL character", text.index("\x00"))
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Unparsable("the text is not valid Unicode (%s)" % exc.reason, exc.start)
    try:
        tree = json.loads(_pg.parse_sql_json(text))
    except _pg.ParseError as exc:
        position = exc.args[1] if len(exc.args) > 1 else None
        raise _Unparsable(str(exc.args[0]) if exc.args else str(exc), position)
    out = []
    for raw in tree.get("stmts", []):
        start = raw.get("stmt_location", 0)
        length = raw.get("stmt_len", 0)
        piece = data[start:start + length] if length else data[start:]
        out.append((raw["stmt"], piece.decode("utf-8").strip(SQL_WHITESPACE), data.count(b"\n", 0, start) + 1))
    return out


def count_statements(text):
    """How many statements PostgreSQL's parser reads in ``text``; None when it cannot parse it."""
    try:
        return len(parse_statements(text))
    except _Unparsable:
        return None


def _line_of(text, position):
    return text.count("\n", 0, position) + 1 if position is not None else None


def _unparsable_message(check, text, exc):
    where = ""
    if exc.position is not None and 0 <= exc.position <= len(text):
        where = " (line %d)" % _line_of(text, exc.position)
        line = text[text.rfind("\n", 0, exc.position) + 1:].split("\n", 1)[0].strip()
        if line.startswith("\\"):
            return ("%s: psql meta-command %s%s is not SQL; write plain SQL (nothing was run)"
                    % (check, line.split()[0], where))
    return "%s: PostgreSQL's parser cannot read it: %s%s (nothing was run)" % (check, exc.reason, where)


# ---------------------------------------------------------------------------------------------------------------
# Kinds
# ---------------------------------------------------------------------------------------------------------------

_SPECIAL_NAMES = {
    "SelectStmt": "SELECT", "InsertStmt": "INSERT", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE", "ExplainStmt": "EXPLAIN", "VariableShowStmt": "SHOW", "DoStmt": "DO", "CallStmt": "CALL",
    "CreateStmt": "CREATE TABLE", "IndexStmt": "CREATE INDEX", "ViewStmt": "CREATE VIEW",
    "CreateTableAsStmt": "CREATE TABLE AS", "CreateFunctionStmt": "CREATE FUNCTION", "RuleStmt": "CREATE RULE",
    "CreateTrigStmt": "CREATE TRIGGER", "CreateSeqStmt": "CREATE SEQUENCE", "AlterSeqStmt": "ALTER SEQUENCE",
    "CreateRoleStmt": "CREATE ROLE", "PrepareStmt": "PREPARE", "ExecuteStmt": "EXECUTE",
    "DeallocateStmt": "DEALLOCATE", "DeclareCursorStmt": "DECLARE CURSOR", "FetchStmt": "FETCH",
    "ClosePortalStmt": "CLOSE", "DiscardStmt": "DISCARD", "LockStmt": "LOCK", "TruncateStmt": "TRUNCATE",
    "CopyStmt": "COPY", "VacuumStmt": "VACUUM", "RenameStmt": "ALTER ... RENAME", "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE", "CommentStmt": "COMMENT",
}


def _words(node_type):
    """``AlterTableStmt`` -> ``ALTER TABLE``: a readable kind for nodes without a special name."""
    name = node_type[:-4] if node_type.endswith("Stmt") else node_type
    return " ".join(re.findall(r"[A-Z][a-z]*|[a-z]+", name)).upper()


def statement_kind(node):
    """A short, readable kind of a parse-tree statement node: ``SELECT``, ``COMMIT``, ``SET ROLE``, ``COPY TO FILE``."""
    node_type = next(iter(node))
    body = node[node_type] or {}
    if node_type == "TransactionStmt":
        return _TRANSACTION_KINDS.get(body.get("kind"), "transaction control")
    if node_type == "VariableSetStmt":
        kind = body.get("kind")
        name = body.get("name") or ""
        if kind == "VAR_RESET_ALL":
            return "RESET ALL"
        verb = "RESET" if kind == "VAR_RESET" else "SET"
        if name.lower() in ("role", "session_authorization"):
            return "%s %s" % (verb, name.upper().replace("_", " "))
        if name in ("TRANSACTION", "SESSION CHARACTERISTICS"):
            return "SET %s" % name
        return "%s %s" % (verb, name)
    if node_type == "CopyStmt":
        if body.get("filename") is None and not body.get("is_program"):
            return "COPY %s" % ("FROM STDIN" if body.get("is_from") else "TO STDOUT")
        return "COPY %s %s" % ("FROM" if body.get("is_from") else "TO", "PROGRAM" if body.get("is_program") else "FILE")
    if node_type == "VacuumStmt":
        return "VACUUM" if body.get("is_vacuumcmd") else "ANALYZE"
    if node_type == "SelectStmt" and body.get("intoClause"):
        return "SELECT INTO"
    if node_type == "ExplainStmt" and body.get("query"):
        return "EXPLAIN %s" % statement_kind(body["query"])
    if node_type == "CreateFunctionStmt" and body.get("is_procedure"):
        return "CREATE PROCEDURE"
    if node_type == "GrantStmt":
        return "GRANT" if body.get("is_grant") else "REVOKE"
    if node_type == "DropStmt":
        return "DROP %s" % (body.get("removeType") or "").replace("OBJECT_", "").replace("_", " ")
    if node_type in _OTHER_REFUSED:
        return _OTHER_REFUSED[node_type][0]
    return _SPECIAL_NAMES.get(node_type) or _words(node_type)


# ---------------------------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------------------------

def _setting_refusal(name, profile):
    """The reason a change of setting ``name`` is refused in ``profile``, or None."""
    lowered = (name or "").lower()
    if profile == SCRIPT and lowered in _SCRIPT_SETTINGS:
        return None
    return _REFUSED_SETTINGS.get(lowered)


def _const_text(node):
    """The text of a string constant (through casts), or None for anything computed."""
    while isinstance(node, dict) and "TypeCast" in node:
        node = node["TypeCast"].get("arg")
    if isinstance(node, dict) and "A_Const" in node:
        sval = node["A_Const"].get("sval")
        if isinstance(sval, dict):
            return sval.get("sval", "")
    return None


def _function_name(funccall):
    names = [part.get("String", {}).get("sval", "") for part in funccall.get("funcname") or []]
    return names[-1] if names else ""


def _walk(value):
    """Every (node type, body) pair below ``value`` in a pglast JSON tree, depth first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if isinstance(child, (dict, list)):
                    if key[:1].isupper() and isinstance(child, dict):
                        yield key, child
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)


def _nested_refusal(node, profile):
    """(kind, reason) for a function call or nested write inside ``node`` that the profile refuses, or None."""
    top = next(iter(node))
    for node_type, body in _walk(node[top] or {}):
        if node_type == "FuncCall":
            name = _function_name(body)
            if name in OUTLIVING_FUNCTIONS:
                return "%s()" % name, OUTLIVING_FUNCTIONS[name]
            if name == "set_config":
                args = body.get("args") or []
                setting = _const_text(args[0]) if args else None
                if setting is None:
                    return "set_config() of a computed setting name", "the guard cannot tell which setting it changes"
                reason = _setting_refusal(setting.strip(), profile)
                if reason:
                    return "set_config('%s')" % setting.strip(), reason
        elif profile == QUERY and node_type in _WRITE_NODES:
            return "%s with a data-modifying %s" % (statement_kind(node), statement_kind({node_type: body})), \
                _PROFILE_RULE[QUERY]
    return None


def _refusal(node, profile, allow):
    """(kind, reason) when ``node`` may not run as a statement of ``profile``; None when it may."""
    node_type = next(iter(node))
    body = node[node_type] or {}
    kind = statement_kind(node)
    if node_type == "TransactionStmt":
        return kind, _TRANSACTION_REASON
    if node_type == "VariableSetStmt":
        if body.get("kind") == "VAR_RESET_ALL":
            return kind, "it resets the check's role and settings"
        reason = _setting_refusal(body.get("name"), profile)
        if reason:
            return kind, reason
    if node_type == "CopyStmt" and (body.get("filename") is not None or body.get("is_program")):
        return kind, "it reads or writes a file, or runs a program, on the database server"
    if node_type == "VacuumStmt":
        return kind, "it cannot run inside the check's transaction and changes statistics other sessions use"
    if node_type in _OTHER_REFUSED:
        return kind, _OTHER_REFUSED[node_type][1]
    if node_type in ("DoStmt", "CallStmt") and kind.lower() not in allow:
        return kind, "the check does not declare it (allow: [%s])" % kind.lower()
    allowed = _PROFILE_KINDS[profile]
    if allowed is not None and node_type not in allowed and node_type not in ("DoStmt", "CallStmt"):
        return kind, _PROFILE_RULE[profile]
    if profile == QUERY and node_type == "SelectStmt" and body.get("intoClause"):
        return kind, "SELECT INTO creates a table; " + _PROFILE_RULE[QUERY]
    if node_type == "ExplainStmt" and body.get("query"):
        inner = _refusal(body["query"], profile, allow)
        if inner:
            return "EXPLAIN " + inner[0], inner[1]
    if profile == WRITE and node_type == "SelectStmt" and body.get("intoClause"):
        return kind, "SELECT INTO creates a table; " + _PROFILE_RULE[WRITE]
    return _nested_refusal(node, profile)


def _language(defelems):
    for item in defelems or []:
        elem = item.get("DefElem", {})
        if elem.get("defname") == "language":
            return (elem.get("arg", {}).get("String", {}).get("sval") or "").lower()
    return None


def _body_strings(defelems):
    for item in defelems or []:
        elem = item.get("DefElem", {})
        if elem.get("defname") == "as":
            arg = elem.get("arg", {})
            if "String" in arg:
                return [arg["String"].get("sval", "")]
            return [part.get("String", {}).get("sval", "") for part in arg.get("List", {}).get("items", [])]
    return []


def _dollar_quote(body):
    tag = "guard"
    while "$%s$" % tag in body:
        tag += "_"
    return "$%s$%s$%s$" % (tag, body, tag)


def _assignment_value(query):
    """The expression of a PL/pgSQL assignment ``target := expr`` (or ``target = expr``)."""
    for token in _pg.scan(query):
        if token.name in ("COLON_EQUALS", "ASCII_61"):
            return query[token.end + 1:]
    raise _Unparsable("cannot find the value of the assignment %r" % query)


class _Reader(object):
    """Applies the rules to one check's statements, following declared code bodies.

    ``where`` is a tuple of notes on the position (``statement 3, line 12``, ``in DO``) shown after the kind.
    """

    def __init__(self, check, profile, allow):
        if profile not in PROFILES:
            raise ValueError("unknown guard profile %r" % (profile,))
        allow = [allow] if isinstance(allow, str) else list(allow or ())
        unknown = [str(a) for a in allow if a not in DECLARABLE]
        if unknown:
            raise InvalidInput("%s: allow takes %s, got %s" % (check, " and ".join(DECLARABLE), ", ".join(unknown)))
        self.check = check
        self.profile = profile
        self.allow = frozenset(allow)

    def refuse(self, kind, reason, where=()):
        notes = " (%s)" % ", ".join(where) if where else ""
        raise StatementRefused("%s: %s%s is refused: %s" % (self.check, kind, notes, reason))

    def statement(self, node, text, where=(), depth=0):
        refusal = _refusal(node, self.profile, self.allow)
        if refusal:
            self.refuse(refusal[0], refusal[1], where)
        node_type = next(iter(node))
        body = node[node_type] or {}
        if node_type == "DoStmt":
            language = _language(body.get("args")) or "plpgsql"
            if language != "plpgsql":
                self.refuse("DO in language %s" % language, "the guard reads only PL/pgSQL code", where)
            source = "CREATE FUNCTION pg_temp.hotdash_guard_do() RETURNS void LANGUAGE plpgsql AS %s" \
                % _dollar_quote(_body_strings(body.get("args"))[0])
            self.plpgsql(source, "DO", where, depth)
        elif node_type == "CreateFunctionStmt" and not body.get("sql_body"):
            # BEGIN ATOMIC bodies are part of the parse tree and were walked with the statement.
            self.function(body, text, where, depth)

    def function(self, body, text, where, depth):
        """Read a CREATE FUNCTION/PROCEDURE body (only scripts allow it) with the same rules."""
        language = _language(body.get("options")) or "sql"
        kind = "CREATE PROCEDURE" if body.get("is_procedure") else "CREATE FUNCTION"
        if language == "plpgsql":
            self.plpgsql(text, kind, where, depth)
        elif language == "sql":
            for source in _body_strings(body.get("options"))[:1]:
                self.nested_sql(source, kind, where, depth, parse_as_expression=False)
        else:
            self.refuse("%s in language %s" % (kind, language), "the guard reads only PL/pgSQL and SQL code", where)

    def plpgsql(self, source, kind, where, depth):
        if depth >= _MAX_DEPTH:
            self.refuse(kind, "code nested more than %d levels deep is not followed" % _MAX_DEPTH, where)
        try:
            tree = json.loads(_pg.parse_plpgsql_json(source))
        except _pg.ParseError as exc:
            self.refuse(kind, "PostgreSQL's PL/pgSQL parser cannot read its body: %s"
                        % (exc.args[0] if exc.args else exc), where)
        inside = tuple(where) + ("in %s" % kind,)
        for node_type, body in _walk(tree):
            if node_type in ("PLpgSQL_stmt_dynexecute", "PLpgSQL_stmt_dynfors") or (
                    node_type in ("PLpgSQL_stmt_open", "PLpgSQL_stmt_return_query") and body.get("dynquery")):
                self.refuse("EXECUTE of a computed string", "nobody can read that statement before it runs", inside)
            elif node_type in ("PLpgSQL_stmt_commit", "PLpgSQL_stmt_rollback"):
                self.refuse("COMMIT" if node_type.endswith("commit") else "ROLLBACK", _TRANSACTION_REASON, inside)
            elif node_type == "PLpgSQL_expr":
                query = body.get("query") or ""
                mode = body.get("parseMode", 0)
                if mode == 0:
                    self.nested_sql(query, kind, where, depth, parse_as_expression=False)
                elif mode in (3, 4, 5):
                    try:
                        value = _assignment_value(query)
                    except _Unparsable as exc:
                        self.refuse(kind, "its body cannot be read: %s" % exc.reason, where)
                    self.nested_sql(value, kind, where, depth, parse_as_expression=True)
                else:
                    self.nested_sql(query, kind, where, depth, parse_as_expression=True)

    def nested_sql(self, source, kind, where, depth, parse_as_expression):
        inside = tuple(where) + ("in %s" % kind,)
        try:
            parsed = parse_statements("SELECT " + source if parse_as_expression else source)
        except _Unparsable as exc:
            self.refuse(kind, "its body cannot be read: %s" % exc.reason, where)
        for node, text, _line in parsed:
            self.statement(node, text, inside, depth + 1)


# ---------------------------------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------------------------------

_PYFORMAT = re.compile(r"%\((?P<name>[^)]*)\)s|%%")


def _substitute_placeholders(text):
    """psycopg2's ``%(name)s`` -> ``$n`` parameters (``%%`` -> ``%``) so the parser sees where values go."""
    numbers = []

    def replace(match):
        if match.group(0) == "%%":
            return "%"
        numbers.append(len(numbers) + 1)
        return "$%d" % numbers[-1]

    return _PYFORMAT.sub(replace, text), numbers


def _param_numbers(node):
    return sorted(body.get("number") for node_type, body in _walk(node) if node_type == "ParamRef")


def guard_statement(text, check, profile=QUERY, allow=(), placeholders=False):
    """The one statement of ``text`` as a :class:`Statement`; StatementRefused (one line) otherwise.

    ``check`` names the check in messages (``integrity check 'orders'``). ``placeholders=True`` reads
    psycopg2 ``%(name)s`` placeholders as values and requires each to stand where a value goes (not
    inside a string or comment); the returned text then keeps them for ``cursor.execute(text, params)``.
    """
    if not isinstance(text, str) or not text.strip():
        raise StatementRefused("%s: no SQL statement given" % check)
    parsed_text, numbers = _substitute_placeholders(text) if placeholders else (text, [])
    try:
        parsed = parse_statements(parsed_text)
    except _Unparsable as exc:
        raise StatementRefused(_unparsable_message(check, parsed_text, exc))
    if not parsed:
        raise StatementRefused("%s: no SQL statement, only comments or white space" % check)
    if len(parsed) > 1:
        kinds = ", ".join(statement_kind(node) for node, _t, _l in parsed[:6]) + (", ..." if len(parsed) > 6 else "")
        raise StatementRefused("%s: PostgreSQL reads %d statements here (%s); a check runs exactly one statement"
                               % (check, len(parsed), kinds))
    node, piece, line = parsed[0]
    _Reader(check, profile, allow).statement(node, piece)
    if placeholders:
        if _param_numbers(node) != numbers:
            raise StatementRefused("%s: a %%(name)s placeholder must stand where a value goes, not inside a string, "
                                   "identifier or comment, and $n parameters are not taken" % check)
        piece = text.strip(SQL_WHITESPACE)  # psycopg2 substitutes the values and turns %% into %
    return Statement(piece, statement_kind(node), node, 1, line)


def guard_setting_name(name, check):
    """A setting a check sets through ``set_config()`` (its ``settings:`` option); refused like ``SET`` of it."""
    reason = _setting_refusal(str(name).strip(), QUERY)
    if reason or not str(name).strip():
        raise StatementRefused("%s: setting %r is refused: %s" % (check, name, reason or "it has no name"))
    return str(name).strip()


def guard_statements(statements, check, profile=WRITE, allow=()):
    """Guard a list of statement texts (each exactly one statement), all before anything runs."""
    if isinstance(statements, str):
        statements = [statements]
    if not statements:
        raise StatementRefused("%s: no SQL statement given" % check)
    out = []
    for index, text in enumerate(statements, 1):
        label = "%s statement %d" % (check, index) if len(statements) > 1 else check
        statement = guard_statement(text, label, profile=profile, allow=allow)
        statement.index = index
        out.append(statement)
    return out


def guard_expression(text, check):
    """An SQL value expression (an RPC argument's ``sql:``) that cannot break out of its parentheses.

    It must read, alone in ``SELECT (<expression>)``, as exactly one SELECT of one value with no FROM,
    WHERE or other clause, and pass the QUERY rules. Returns the text to embed: the expression in
    parentheses on lines of its own, so a trailing ``--`` comment cannot swallow what follows.
    """
    if not isinstance(text, str) or not text.strip():
        raise StatementRefused("%s: no SQL expression given" % check)
    wrapped = "(\n%s\n)" % text
    statement = guard_statement("SELECT " + wrapped, check, profile=QUERY)
    body = statement.node.get("SelectStmt", {})
    clauses = [k for k in body if k not in ("targetList", "limitOption", "op")]
    if len(body.get("targetList") or []) != 1 or clauses:
        raise StatementRefused("%s: %r is not one SQL value expression (such as now() or 'x'::date)" % (check, text))
    return wrapped


def guard_script(text, check, allow=DECLARABLE):
    """Split a SQL or pgTAP test file with PostgreSQL's parser and guard every statement (profile SCRIPT).

    The file's own wrapper - a first BEGIN/START TRANSACTION and a last ROLLBACK or COMMIT - is dropped:
    the collection runs the file in its own transaction, always rolled back, and never sends them. Any
    other transaction control is refused. Returns the statements to run, numbered as in the file.
    """
    try:
        parsed = parse_statements(text)
    except _Unparsable as exc:
        raise StatementRefused(_unparsable_message(check, text, exc))
    reader = _Reader(check, SCRIPT, allow)
    statements = [Statement(piece, statement_kind(node), node, index, line)
                  for index, (node, piece, line) in enumerate(parsed, 1)]
    if statements and statements[0].kind in ("BEGIN", "START TRANSACTION"):
        statements = statements[1:]
    if statements and statements[-1].kind in ("ROLLBACK", "COMMIT"):
        statements = statements[:-1]
    for statement in statements:
        reader.statement(statement.node, statement.text, ("statement %d" % statement.index, "line %d" % statement.line))
    return statements


# ---------------------------------------------------------------------------------------------------------------
# Statement text in artifacts
# ---------------------------------------------------------------------------------------------------------------

MASKED_STATEMENT = "[statement text hidden: it mentions a password or secret]"
_SECRET_WORDS = re.compile(r"pass(?:word|wd)|\bpwd\b|secret|scram-sha-256\$|\bmd5[0-9a-f]{32}\b", re.IGNORECASE)
_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/@:]*:[^\s/]*@", re.IGNORECASE)
_SQUASHED_WORDS = re.compile(r"password|passwd|secret")
_ESCAPES = [
    (re.compile(r"\\U([0-9a-fA-F]{8})"), 16), (re.compile(r"\\u([0-9a-fA-F]{4})"), 16),
    (re.compile(r"\\\+([0-9a-fA-F]{6})"), 16), (re.compile(r"\\([0-9a-fA-F]{4})"), 16),
    (re.compile(r"\\x([0-9a-fA-F]{1,2})"), 16), (re.compile(r"\\([0-7]{1,3})"), 8),
]


def _decode_escapes(text):
    """Undo E'' and U&'' escapes everywhere (over-decoding only finds more, which is the safe side)."""
    for pattern, base in _ESCAPES:
        def replace(match, base=base):
            try:
                return chr(int(match.group(1), base))
            except (ValueError, OverflowError):
                return match.group(0)
        text = pattern.sub(replace, text)
    return text


def mentions_secret(text):
    """True when statement text may hold a password or secret, however it is quoted or escaped."""
    if not text:
        return False
    if re.search(r"\buescape\b", text, re.IGNORECASE):
        return True  # a custom escape character: do not try to decode, hide it
    decoded = _decode_escapes(text)
    for candidate in (text, decoded):
        if _SECRET_WORDS.search(candidate) or _URL_WITH_PASSWORD.search(candidate):
            return True
    # 'pass' || 'word', 'pass' 'word' (adjacent literals), p"ass"word: look at the letters alone.
    return bool(_SQUASHED_WORDS.search(re.sub(r"[^a-z0-9]", "", decoded.lower())))


def mask_statement_text(text):
    """``text`` unchanged, or :data:`MASKED_STATEMENT` when it mentions a password or secret."""
    return MASKED_STATEMENT if mentions_secret(text) else text


_QUOTED = re.compile(r"'(?:[^']|'')*'|\$([A-Za-z_0-9]*)\$.*?\$\1\$", re.DOTALL)
_LITERAL_PREFIX = re.compile(r"^(?:[EeNnBbXx]|[Uu]&)?(?='|\$)")


def statement_secrets(statements, minimum=4):
    """The string literals (``'...'``, ``E'...'``, dollar quotes) of the statements that mention a password or
    secret, as written and unquoted, for :func:`redact`: a tool that repeats a failing statement in its own
    words (the Supabase CLI's ``At statement``) shows them where :func:`mask_statement_text` cannot reach.
    Literals shorter than ``minimum`` are left out (masking them everywhere would garble every message)."""
    found = []
    for text in statements or ():
        if not mentions_secret(text):
            continue
        try:
            literals = [text[t.start:t.end + 1] for t in _pg.scan(text) if t.name in ("SCONST", "USCONST")]
        except Exception:  # pylint: disable=broad-except  # pglast missing or the text does not scan: quotes by hand
            literals = [m.group(0) for m in _QUOTED.finditer(text)]
        for literal in literals:
            body = literal[_LITERAL_PREFIX.match(literal).end():] if _LITERAL_PREFIX.match(literal) else literal
            if body.startswith("$"):
                tag = body[:body.index("$", 1) + 1]
                values = [body[len(tag):-len(tag)]]
            else:
                values = [body[1:-1], body[1:-1].replace("''", "'")]
            for value in values:
                if len(value) >= minimum and value not in found:
                    found.append(value)
                    # A body or string that holds SQL itself (DO $$ ... password '...' $$): its literals too.
                    found.extend(v for v in statement_secrets([value], minimum) if v not in found)
    return found


def statement_text_for_artifact(text, secrets=(), limit=200):
    """Statement text as reports keep it (``pg_stat_statements``, ``pg_stat_activity``, inspect rows): hidden whole
    when it mentions a password or secret, DSNs and known secrets redacted, on one line, at most ``limit`` long."""
    return clip(redact(" ".join(mask_statement_text(text or "").split()), secrets), limit)
