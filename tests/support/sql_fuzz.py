"""Differential fuzz of the check guard (plugins/module_utils/sql_guard.py) against PostgreSQL's parser.

Generates seeded strings out of the pieces that decide where a statement ends - dollar quotes (tagged,
nested, unterminated), ``--`` and nested or unterminated ``/* */`` comments, ``'...'``, ``E'...'``
(backslash escapes), ``U&'...'`` strings, quoted identifiers, ``BEGIN ATOMIC`` bodies, parentheses,
backslashes, non-ASCII text, and semicolons inside each - and compares, for every string:

- the number of statements pglast's parser reads (or that it cannot parse),
- the statements the guard reads (the same number, each piece re-parsing alone as the same statement),
- whether ``guard_statement`` accepts the string (only when the parser reads exactly one statement),
- and, for the figures only, what the CLI-compatible splitter behind the old ``single_statement`` said.

  .venv/bin/python tests/support/sql_fuzz.py [--strings 100000] [--seed 20261130]

prints the figures; tests/unit/module_utils/test_sql_guard_fuzz.py runs the same comparison in make test.
"""
import os
import random
import re
import sys
import time

# Values that may hide a ';' (or a quote, a comment opener) from a splitter that reads them wrongly.
LITERALS = [
    "1", "'a;b'", "''''", "'''; '", "'\\'", "E'\\';'", "e'\\\\'", "E'\\x3b'", "U&'\\0041;'",
    "$$;$$", "$$ ' $$", "$a$ ; $b$ $a$", "$_$x;$_$", "$a$$$a$", "'\u00e9;'", "b'01'", "x'3b'", "n'x;'",
    '"x;y"', 'U&"a;"', "a$$", "\u00e9$$", "(1)", "((1))", "(select 1)", "$1", "1::text",
]
COMMENTS = [
    "-- c;\n", "--;\r", "/* ; */", "/* /* ; */ */", "/*/ ( */", "/* /* */* */", "/**/", "/* ' */", "/* $$ */",
    "-- $$\n", "/*-- ; */",
]
STATEMENTS = [
    "select {0}", "select {0}, {1}", "select ({0})", "select {0} as x", "insert into t values ({0})",
    "select * from f(({0}))", "update t set a = {0}", "commit", "begin", "end", "rollback", "savepoint s",
    "create function f() returns int language sql begin atomic select {0}; select {1}; end",
    "create procedure p() language sql begin atomic select {0}; end",
    "with begin as (select {0}) select * from begin atomic", "select case when true then {0} end",
    "select legend from t", "do $g$ begin perform {0}; end $g$", "copy (select {0}) to stdout",
    "set local role anon", "select set_config('role', {0}, true)", "values ({0}), ({1})",
]
# Raw pieces spliced in at random places: they open, close or confuse quotes, comments and bodies.
RAW = [
    ";", "'", '"', "$$", "$a$", "/*", "*/", "/*/", "*/*", "--", "\n", "(", ")", "\\", "E'", "U&'", "e", "$1$",
    "begin atomic", "BEGIN ATOMIC", "end", "\u65e5\u672c", "\ufeff",
]
WHITESPACE = [" ", " ", "", "\n", "\t", "\r\n", "\f"] * 4 + ["\u00a0", "\ufeff"]  # the last two are not SQL white space


SQL_WHITESPACE = [" ", "\n", "\t", "\r\n", "\f"]


def _statement(rng):
    text = rng.choice(STATEMENTS).format(rng.choice(LITERALS), rng.choice(LITERALS))
    spaces = [i for i, ch in enumerate(text) if ch == " "]
    if spaces and rng.random() < 0.5:
        position = rng.choice(spaces)
        text = text[:position] + rng.choice(SQL_WHITESPACE + COMMENTS) + text[position:]
    return text


def generate(count, seed):
    """``count`` seeded strings: 1-4 statements with tricky values and comments, often spliced with raw pieces."""
    rng = random.Random(seed)
    for _i in range(count):
        parts = []
        for _j in range(rng.randint(1, 4)):
            parts.append(_statement(rng))
            parts.append(rng.choice(WHITESPACE + COMMENTS + [""]))
            parts.append(rng.choice([";", ";", ";", "", ";;", " ;\n"]))
            parts.append(rng.choice(WHITESPACE))
        text = "".join(parts)
        for _k in range(rng.choice([0, 0, 0, 0, 1, 2])):
            position = rng.randint(0, len(text))
            text = text[:position] + rng.choice(RAW + COMMENTS) + text[position:]
        yield text


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ServerParser(object):
    """The statements a real PostgreSQL server reads in a text, asked without running anything.

    libpq's ``PQprepare`` sends one Parse message (the extended protocol; psycopg2 only speaks the simple one):
    the server runs its own parser on the text and answers ``cannot insert multiple commands into a prepared
    statement`` when it reads several statements, an error from its grammar (source file ``scan.l``, ``gram.y``,
    ``parser.c``) when it cannot read the text, and otherwise prepares it - parse analysis may still fail (an
    unknown table), which means it read one statement. A Parse message never executes anything, and every call
    is its own implicit transaction. :meth:`read` -> ``(SEVERAL | ONE_OR_NONE | None, the server's message)``.
    """

    _GRAMMAR_FILES = ("scan.l", "gram.y", "parser.c", "scansup.c")
    _PG_DIAG_MESSAGE_PRIMARY = ord("M")
    _PG_DIAG_SOURCE_FILE = ord("F")
    _PGRES_COMMAND_OK = 1
    _CONNECTION_OK = 0

    def __init__(self, conninfo):
        import ctypes
        import ctypes.util
        self._lib = lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
        lib.PQconnectdb.restype = ctypes.c_void_p
        lib.PQconnectdb.argtypes = [ctypes.c_char_p]
        lib.PQstatus.argtypes = [ctypes.c_void_p]
        lib.PQerrorMessage.restype = ctypes.c_char_p
        lib.PQerrorMessage.argtypes = [ctypes.c_void_p]
        lib.PQprepare.restype = ctypes.c_void_p
        lib.PQprepare.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
        lib.PQresultStatus.argtypes = [ctypes.c_void_p]
        lib.PQresultErrorField.restype = ctypes.c_char_p
        lib.PQresultErrorField.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.PQclear.argtypes = [ctypes.c_void_p]
        lib.PQfinish.argtypes = [ctypes.c_void_p]
        # Notices (an identifier truncated to 63 bytes) would go to stderr: not asked for.
        self._conn = lib.PQconnectdb((conninfo + " options='-c client_min_messages=error'").encode())
        if lib.PQstatus(self._conn) != self._CONNECTION_OK:
            message = lib.PQerrorMessage(self._conn).decode(errors="replace").strip()
            self.close()
            raise RuntimeError("cannot connect: %s" % message)

    def read(self, text):
        lib = self._lib
        result = lib.PQprepare(self._conn, b"", text.encode("utf-8"), 0, None)
        if not result:
            raise RuntimeError("PQprepare: %s" % lib.PQerrorMessage(self._conn).decode(errors="replace").strip())
        try:
            if lib.PQresultStatus(result) == self._PGRES_COMMAND_OK:
                return ONE_OR_NONE, ""
            message = (lib.PQresultErrorField(result, self._PG_DIAG_MESSAGE_PRIMARY) or b"").decode(errors="replace")
            source = (lib.PQresultErrorField(result, self._PG_DIAG_SOURCE_FILE) or b"").decode(errors="replace")
        finally:
            lib.PQclear(result)
        if message == "cannot insert multiple commands into a prepared statement":
            return SEVERAL, message
        if source in self._GRAMMAR_FILES:
            return None, message
        return ONE_OR_NONE, message  # read as one statement; parse analysis refused it (unknown table, ...)

    def close(self):
        if self._conn:
            self._lib.PQfinish(self._conn)
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SplitterGuard(object):
    """A guard built on the CLI-compatible splitter, like the old ``single_statement``: what a comparison must catch.

    Give it the real guard module (for its profiles and exceptions); it reads statements with ``split_statements``.
    """

    def __init__(self, guard):
        self.SCRIPT = guard.SCRIPT  # pylint: disable=invalid-name
        self.DECLARABLE = guard.DECLARABLE  # pylint: disable=invalid-name
        self.StatementRefused = guard.StatementRefused  # pylint: disable=invalid-name
        self._Unparsable = guard._Unparsable  # pylint: disable=protected-access,invalid-name
        self._guard = guard

    def parse_statements(self, text):
        from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements
        return [(None, piece, 1) for piece in split_statements(text) if self._guard.count_statements(piece) != 0]

    def guard_statement(self, text, check, profile=None, allow=()):
        raise self.StatementRefused(check)  # only the statement count is compared


SEVERAL = "several statements"
ONE_OR_NONE = "one statement or none"


def compare_with_server(text, guard, server):
    """``(problems, differences)`` between the guard and the server's own parser on one string.

    problems (what would let a check run more than it was allowed): the server reads several statements where
    the guard reads one or none, or the one statement ``guard_statement`` accepts (the text the collection sends)
    is not one statement for the server. differences (both refuse, nothing runs; the parsers' versions differ):
    only one side cannot read the text, with the server's message.
    """
    if "\x00" in text:
        return [], []  # libpq stops at a NUL; the guard refuses any text holding one
    try:
        count = len(guard.parse_statements(text))
    except guard._Unparsable:  # pylint: disable=protected-access
        count = None
    mine = None if count is None else SEVERAL if count > 1 else ONE_OR_NONE
    theirs, message = server.read(text)
    problems, differences = [], []
    if theirs == SEVERAL and mine == ONE_OR_NONE:
        problems.append("the guard reads one statement or none, the server several")
    elif mine != theirs:
        server_reads = theirs or "a parse error: %s" % message
        differences.append("the guard reads %s, the server %s" % (mine or "a parse error", server_reads))
    try:
        sent = guard.guard_statement(text, "fuzz", profile=guard.SCRIPT, allow=guard.DECLARABLE).text
    except guard.StatementRefused:
        sent = None
    if sent is not None:
        kind, message = server.read(sent)
        if kind == SEVERAL:
            problems.append("the statement the guard would send, %r, is several statements for the server" % sent)
        elif kind is None:
            differences.append("the server cannot read the statement the guard would send: %s" % message)
    return problems, differences


# Positions differ between a statement parsed in place and alone; everything else must be identical.
_POSITIONS = re.compile(r',?"(?:stmt_len|[A-Za-z_]*location)":-?\d+')
_STATEMENT = '{"stmt":'


def _statements_json(raw):
    """The comma-joined statement entries of a parse_sql_json result, positions removed."""
    body = _POSITIONS.sub("", raw)
    start = body.find('"stmts":[')
    return "" if start < 0 else body[start + 9:body.rindex("]")]


def compare(text, guard, pg_parser):
    """``(statements, problems)`` for one string: the parser's count (None: cannot parse) and disagreements.

    The guard must read the same number of statements as the parser, and each of its pieces, parsed
    alone (as it is sent to the server), must be exactly one statement identical to the parser's
    statement in place; guard_statement must refuse every string that is not exactly one statement.
    """
    try:
        whole = None if "\x00" in text else pg_parser.parse_sql_json(text)
    except pg_parser.ParseError:
        whole = None
    try:
        pieces = [piece for _node, piece, _line in guard.parse_statements(text)]
    except guard._Unparsable:  # pylint: disable=protected-access
        pieces = None
    if whole is None or pieces is None:
        if whole is not None or pieces is not None:
            return None, ["only the %s could parse it" % ("guard" if pieces is not None else "parser")]
        expected = None
    else:
        alone = []
        for piece in pieces:
            try:
                raw = pg_parser.parse_sql_json(piece)
            except pg_parser.ParseError:
                raw = ""
            if raw.count(_STATEMENT) != 1:
                return None, ["piece %r does not parse alone as one statement" % piece]
            alone.append(_statements_json(raw))
        if ",".join(alone) != _statements_json(whole):
            return None, ["the pieces %r are not the statements the parser reads" % (pieces,)]
        expected = len(pieces)
    if expected != 1:
        try:
            guard.guard_statement(text, "fuzz", profile=guard.SCRIPT, allow=guard.DECLARABLE)
            return expected, ["guard_statement accepted a string of %s statements" % expected]
        except guard.StatementRefused:
            pass
    return expected, []


def run(count, seed, with_old_splitter=False):
    """Figures of one fuzz run: strings, disagreements (guard vs parser), old splitter vs parser, seconds."""
    from pglast import parser as pg_parser
    from ansible_collections.hotdash.supabase.plugins.module_utils import sql_guard as guard
    from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

    started = time.monotonic()
    disagreements = []
    old = {"one_for_many": 0, "many_for_one": 0, "examples": []}
    counts = {"parse_errors": 0, "one": 0, "several": 0, "none": 0}
    for text in generate(count, seed):
        expected, problems = compare(text, guard, pg_parser)
        if problems:
            disagreements.append((text, problems))
        counts["parse_errors" if expected is None else "none" if expected == 0 else
               "one" if expected == 1 else "several"] += 1
        if with_old_splitter and expected is not None and expected > 0:
            # What the old single_statement() counted: the CLI splitter's pieces that are not only comments.
            seen = len([s for s in split_statements(text) if guard.count_statements(s) != 0])
            if seen == 1 and expected > 1:
                old["one_for_many"] += 1
                if len(old["examples"]) < 5:
                    old["examples"].append(text)
            elif seen > 1 and expected == 1:
                old["many_for_one"] += 1
    return {"strings": count, "seed": seed, "disagreements": disagreements, "counts": counts, "old_splitter": old,
            "seconds": round(time.monotonic() - started, 2)}


def main(argv):
    import argparse
    collections = os.path.join(ROOT, ".build", "collections")
    sys.path.insert(0, collections)
    args = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    args.add_argument("--strings", type=int, default=100000)
    args.add_argument("--seed", type=int, default=20261130)
    opts = args.parse_args(argv)
    figures = run(opts.strings, opts.seed, with_old_splitter=True)
    old = figures["old_splitter"]
    print("strings: %d (seed %d), parser reads: %s" % (figures["strings"], figures["seed"], figures["counts"]))
    print("guard vs parser disagreements: %d" % len(figures["disagreements"]))
    for text, problems in figures["disagreements"][:5]:
        print("  %r: %s" % (text, "; ".join(problems)))
    print("old single_statement vs parser: %d strings it took for one statement that PostgreSQL reads as several, "
          "%d the other way round" % (old["one_for_many"], old["many_for_one"]))
    for text in old["examples"]:
        print("  e.g. %r" % text)
    print("seconds: %.2f (including the old splitter's comparison)" % figures["seconds"])
    return 1 if figures["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
