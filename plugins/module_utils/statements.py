# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a migration file into statements exactly as the Supabase CLI records them.

The CLI stores ``statements text[]`` in ``supabase_migrations.schema_migrations`` for every
migration it applies; comparing that array with the local file is the only checksum the history
offers (supabase/cli#3491). For the comparison to mean anything our splitter must produce the
very same array, so this module reimplements the behaviour of the CLI's tokenizer (Go package
``pkg/parser``, ported to TypeScript in the 2.12x releases), quirks included. Pinned to what CLI
2.122.1 records (verified against the real CLI in tests/integration/test_cli_interop_info.py):

* a statement ends at a ``;`` outside quotes, ``$tag$`` bodies, comments, parentheses and
  ``BEGIN ATOMIC`` bodies; a ``--`` or ``/* */`` comment stays with the statement that follows;
* ``$`` right after an identifier character (letters, digits, ``_``, ``$``, any non-ASCII
  character) continues the identifier instead of opening a ``$tag$``;
* ``E'…'`` strings honour backslash escapes, other quotes only doubled quotes;
* ``(`` opens a group in which ``;`` does not split; a ``)`` closes it, and a nested group's
  ``)`` closes the outer one too (as the CLI does);
* a ``BEGIN ATOMIC`` body ends at an ``END`` that is the first word of an inner statement;
* a backslash outside quotes hides the next character;
* a byte-order mark at the start of the file is dropped; every piece is right-trimmed of ``;``
  and trimmed of white space as JavaScript's ``trim()`` defines it (U+FEFF included, U+0085
  not); empty pieces are dropped; a trailing piece without ``;`` is kept.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# JavaScript's String.prototype.trim(): WhiteSpace (incl. U+FEFF and Zs) and LineTerminator.
JS_WHITESPACE = (u"\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                 u"\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
# PostgreSQL's lexer white space (used between BEGIN and ATOMIC and in an END's prefix).
SQL_WHITESPACE = " \t\n\r\f\v"
BOM = u"\ufeff"

# In the ready state only these characters change anything; "c" matters only as the last
# letter of ATOMIC, hence the look-behind.
_READY_SPECIAL = re.compile(r"""[$'"\-/\\;(]|(?<=[Aa][Tt][Oo][Mm][Ii])[Cc]""")
# Inside a parenthesis group ")" matters too; inside a BEGIN ATOMIC body the "d" of END.
_PAREN_SPECIAL = re.compile(r"""[$'"\-/\\;()]|(?<=[Aa][Tt][Oo][Mm][Ii])[Cc]""")
_ATOMIC_SPECIAL = re.compile(r"""[$'"\-/\\;(dD]|(?<=[Aa][Tt][Oo][Mm][Ii])[Cc]""")

_READY, _COMMENT, _BLOCK, _QUOTE, _DOLLAR, _TAG, _ESCAPE, _PAREN, _ATOMIC, _LINE = range(10)
_LINE_END = re.compile(r"[\r\n]")


def _is_identifier_char(ch):
    """PostgreSQL's identifier class as the CLI sees it: any non-ASCII, letters, digits, _ and $."""
    return ch >= u"\x80" or ch.isalnum() or ch == "_" or ch == "$"


def _identifier_before(text, start, offset):
    return offset > start and _is_identifier_char(text[offset - 1])


def _ends_with_keyword(text, start, end, keyword):
    """text[start:end] ends with ``keyword`` (ASCII, any case) not glued to a preceding identifier."""
    offset = end - len(keyword)
    if offset < start:
        return False
    word = text[offset:end]
    if not word.isascii() or word.upper() != keyword:
        return False
    return not _identifier_before(text, start, offset)


def _ends_with_begin_atomic(text, start, end):
    if not _ends_with_keyword(text, start, end, "ATOMIC"):
        return False
    prefix_end = end - 6
    while prefix_end > start and text[prefix_end - 1] in SQL_WHITESPACE:
        prefix_end -= 1
    return _ends_with_keyword(text, start, prefix_end, "BEGIN")


def _only_comments_and_whitespace(text):
    """True when text has no statement content: only SQL white space and -- or /* */ comments."""
    i = 0
    length = len(text)
    while i < length:
        if text[i] in SQL_WHITESPACE:
            i += 1
        elif text.startswith("--", i):
            newline = _LINE_END.search(text, i + 2)
            if newline is None:
                return True
            i = newline.start() + 1
        elif text.startswith("/*", i):
            # The same sliding two-character window as the block-comment state.
            depth = 1
            i += 2
            while i < length and depth > 0:
                if text.startswith("/*", i - 1):
                    depth += 1
                elif text.startswith("*/", i - 1):
                    depth -= 1
                i += 1
            if depth > 0:
                return True
        else:
            return False
    return True


class _State(object):
    """One tokenizer state; ``kind`` is one of the module constants."""

    __slots__ = ("kind", "delimiter", "escape", "backslash", "skip", "depth", "offset", "prev",
                 "pending_end", "statement_start", "has_content")

    def __init__(self, kind, delimiter=None, offset=0, prev=None, backslash=False):
        self.kind = kind
        self.delimiter = delimiter
        self.escape = False
        self.backslash = backslash
        self.skip = False
        self.depth = 0
        self.offset = offset
        self.prev = prev
        self.pending_end = False
        self.statement_start = offset
        self.has_content = False


_READY_STATE = _State(_READY)


def _ready_next(ch, text, start, end):
    """Transition out of the ready state for character ``ch`` (text[end - 1]); None emits."""
    if ch == "$":
        if _identifier_before(text, start, end - 1):
            return _READY_STATE
        return _State(_TAG, offset=end - 1)
    if ch == "'":
        # E'...' (not xE'...'): backslash escapes apply.
        estring = (end - 2 >= start and text[end - 2] in "eE" and not _identifier_before(text, start, end - 2))
        return _State(_QUOTE, delimiter=ch, backslash=estring)
    if ch == '"':
        return _State(_QUOTE, delimiter=ch)
    if ch == "-":
        return _State(_COMMENT)
    if ch == "/":
        return _State(_BLOCK)
    if ch == "\\":
        return _State(_ESCAPE)
    if ch == ";":
        return None
    if ch == "(":
        return _State(_PAREN, prev=_READY_STATE)
    if ch in "cC" and _ends_with_begin_atomic(text, start, end):
        return _State(_ATOMIC, prev=_READY_STATE, offset=end)
    return _READY_STATE


def _window_is(text, start, end, delimiter):
    size = len(delimiter)
    return end - size >= start and text[end - size:end] == delimiter


def _next(state, ch, text, start, end):
    """The state after reading ``ch`` (text[end - 1]); None means: the statement ends here."""
    kind = state.kind
    if kind == _READY:
        return _ready_next(ch, text, start, end)
    if kind == _COMMENT:
        if ch == "-":
            return _State(_LINE)
        return _ready_next(ch, text, start, end)
    if kind == _LINE:
        # A line comment ends at a line feed or a carriage return (CLI 2.122.1).
        return _READY_STATE if ch in "\r\n" else state
    if kind == _BLOCK:
        if _window_is(text, start, end, "/*"):
            state.depth += 1
            return state
        if state.depth == 0:
            return _ready_next(ch, text, start, end)
        if _window_is(text, start, end, "*/"):
            state.depth -= 1
            if state.depth == 0:
                return _READY_STATE
        return state
    if kind == _QUOTE:
        if state.skip:
            state.skip = False
            return state
        if state.escape:
            if ch == state.delimiter:
                state.escape = False
                return state
            return _ready_next(ch, text, start, end)
        if ch == state.delimiter:
            state.escape = True
        elif state.backslash and ch == "\\":
            state.skip = True
        return state
    if kind == _DOLLAR:
        if _window_is(text, start, end, state.delimiter):
            return _READY_STATE
        return state
    if kind == _TAG:
        if ch == "$":
            return _State(_DOLLAR, delimiter=text[state.offset:end])
        if _is_identifier_char(ch):
            return state
        return _ready_next(ch, text, start, end)
    if kind == _ESCAPE:
        return _READY_STATE
    if kind == _PAREN:
        inner = _next(state.prev, ch, text, start, end)
        # A ';' inside parentheses does not end the statement.
        state.prev = _READY_STATE if inner is None else inner
        if state.prev.kind == _READY and ch == ")":
            return _READY_STATE
        return state
    # _ATOMIC
    pending_end, state.pending_end = state.pending_end, False
    if pending_end and not _is_identifier_char(ch):
        return _ready_next(ch, text, start, end)
    inner = _next(state.prev, ch, text, start, end)
    if inner is None:
        # A body-level ';': the next inner statement starts after it.
        state.prev = _READY_STATE
        state.statement_start = end
        state.has_content = False
        return state
    state.prev = inner
    if inner.kind != _READY:
        return state
    # The body's END is the first word of an inner statement; a later END (CASE … END) is not.
    if not state.has_content and _ends_with_keyword(text, start, end, "END"):
        if _only_comments_and_whitespace(text[state.statement_start:end - 3]):
            state.pending_end = True
        else:
            state.has_content = True
    return state


def _skip_to(state, text, start, pos):
    """The next position whose character may change ``state``; -1 when none is left; pos when unsure.

    Only the innermost state (inside any parenthesis groups and BEGIN ATOMIC bodies) decides, since
    an enclosing group only looks at characters while its inner state is ready.
    """
    container = None
    leaf = state
    while leaf.kind == _PAREN or leaf.kind == _ATOMIC:
        if leaf.pending_end:
            return pos
        container = leaf
        leaf = leaf.prev
    kind = leaf.kind
    if kind == _READY:
        if container is None:
            pattern = _READY_SPECIAL
        elif container.kind == _PAREN:
            pattern = _PAREN_SPECIAL
        else:
            pattern = _ATOMIC_SPECIAL
        match = pattern.search(text, pos)
        return match.start() if match else -1
    if kind == _QUOTE and not (leaf.escape or leaf.skip or leaf.backslash):
        return text.find(leaf.delimiter, pos)
    if kind == _LINE:
        match = _LINE_END.search(text, pos)
        return match.start() if match else -1
    if kind == _DOLLAR:
        # The window is checked from the first character after the opening delimiter on, so a
        # closing delimiter may overlap the opening one ("$$$" closes at the third "$").
        size = len(leaf.delimiter)
        found = text.find(leaf.delimiter, max(pos + 1 - size, start))
        return max(found + size - 1, pos) if found >= 0 else -1
    return pos


def _pieces(text):
    """Yield the raw pieces (statement text including its ';') the CLI's scanner emits."""
    length = len(text)
    start = 0
    pos = 0
    state = _READY_STATE
    while pos < length:
        pos = _skip_to(state, text, start, pos)
        if pos < 0:
            break
        ch = text[pos]
        pos += 1
        state = _next(state, ch, text, start, pos)
        if state is None:
            yield text[start:pos]
            start = pos
            state = _READY_STATE
    if start < length:
        yield text[start:]


def split_statements(sql_text):
    """The statements the Supabase CLI records for a migration file with this text."""
    if sql_text.startswith(BOM):
        sql_text = sql_text[1:]
    statements = []
    for piece in _pieces(sql_text):
        trimmed = piece.rstrip(";").strip(JS_WHITESPACE)
        if trimmed:
            statements.append(trimmed)
    return statements
