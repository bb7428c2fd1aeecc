# -*- coding: utf-8 -*-
# Copyright: (c) 2026, HotDash data team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a migration file into statements exactly as the Supabase CLI records them.

The CLI stores ``statements text[]`` in ``supabase_migrations.schema_migrations`` for every
migration it applies; comparing that array with the local file is the only checksum the history
offers (supabase/cli#3491). For the comparison to mean anything our splitter must produce the
very same array, so this module reimplements the CLI's tokenizer (Go package ``pkg/parser``)
behaviour for behaviour, quirks included:

* a statement ends at a ``;`` outside quotes, ``$tag$`` bodies, comments and parentheses;
* a ``--`` or ``/* */`` comment stays with the statement that follows it;
* ``BEGIN ATOMIC`` opens a body that ends at the next ``END`` (case-insensitive, even inside a
  longer word) seen outside quotes; ``(`` opens a group that ends at the next ``)``, and nested
  groups both close at the first ``)`` (the CLI does this too);
* a backslash outside quotes hides the next character;
* ``$tag$`` names are ASCII letters, digits and ``_`` (the CLI steps byte by byte and drops out
  of a tag at the second byte of a non-ASCII letter);
* every piece is right-trimmed of ``;`` then trimmed of Unicode white space (Go's definition,
  which unlike Python's does not include U+001C..U+001F); empty pieces are dropped; a trailing
  piece without ``;`` is kept.

It is verified against rows written by the real CLI in tests/integration/test_cli_interop_info.py.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Go's unicode.IsSpace: the Unicode White_Space property.
GO_WHITESPACE = (u"\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                 u"\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

# In the ready state only these characters change anything; "c" matters only as the last
# letter of ATOMIC, hence the look-behind.
_READY_SPECIAL = re.compile(r"""[$'"\-/\\;(]|(?<=[Aa][Tt][Oo][Mm][Ii])[Cc]""")
_TAG_CHAR = re.compile(r"[A-Za-z0-9_]")

_READY, _COMMENT, _BLOCK, _QUOTE, _DOLLAR, _TAG, _ESCAPE, _ATOMIC = range(8)


def _is_identifier_char(ch):
    return ch.isalpha() or ch.isdecimal() or ch in "_$"


def _ends_with_begin_atomic(text, start, end):
    """True when text[start:end] ends with BEGIN <spaces> ATOMIC as separate words."""
    offset = end - 6
    if offset < start or text[offset:end].lower() != "atomic" or not text[offset:end].isascii():
        return False
    if offset > start and _is_identifier_char(text[offset - 1]):
        return False
    prefix_end = offset
    while prefix_end > start and text[prefix_end - 1] in GO_WHITESPACE:
        prefix_end -= 1
    begin = prefix_end - 5
    if begin < start or text[begin:prefix_end].lower() != "begin" or not text[begin:prefix_end].isascii():
        return False
    return begin == start or not _is_identifier_char(text[begin - 1])


class _State(object):
    """One tokenizer state; ``kind`` is one of the module constants."""

    __slots__ = ("kind", "delimiter", "escape", "depth", "offset", "prev")

    def __init__(self, kind, delimiter=None, offset=0, prev=None):
        self.kind = kind
        self.delimiter = delimiter
        self.escape = False
        self.depth = 0
        self.offset = offset
        self.prev = prev


_READY_STATE = _State(_READY)


def _ready_next(ch, text, start, end):
    """Transition out of the ready state for character ``ch`` ending at ``end``; None emits."""
    if ch == "$":
        return _State(_TAG, offset=end - 1)
    if ch == "'" or ch == '"':
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
        return _State(_ATOMIC, delimiter=")", prev=_READY_STATE)
    if ch in "cC" and _ends_with_begin_atomic(text, start, end):
        return _State(_ATOMIC, delimiter="END", prev=_READY_STATE)
    return _READY_STATE


def _window_is(text, start, end, delimiter):
    size = len(delimiter)
    return end - size >= start and text[end - size:end] == delimiter


def _next(state, ch, text, start, end):
    """The state after reading ``ch`` (text[end - 1]); None means: emit the statement here."""
    kind = state.kind
    if kind == _READY:
        return _ready_next(ch, text, start, end)
    if kind == _COMMENT:
        if ch == "-":
            return _State(_DOLLAR, delimiter="\n")
        return _ready_next(ch, text, start, end)
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
        if state.escape:
            if ch == state.delimiter:
                state.escape = False
                return state
            return _ready_next(ch, text, start, end)
        if ch == state.delimiter:
            state.escape = True
        return state
    if kind == _DOLLAR:
        if _window_is(text, start, end, state.delimiter):
            return _READY_STATE
        return state
    if kind == _TAG:
        if ch == "$":
            return _State(_DOLLAR, delimiter=text[state.offset:end])
        if _TAG_CHAR.match(ch):
            return state
        return _ready_next(ch, text, start, end)
    if kind == _ESCAPE:
        return _READY_STATE
    # _ATOMIC: run the inner state; a ";" inside is not a statement end.
    inner = _next(state.prev, ch, text, start, end)
    if inner is not None:
        state.prev = inner
    if state.prev.kind == _READY:
        size = len(state.delimiter)
        window = text[end - size:end] if end - size >= start else ""
        if window.isascii() and window.upper() == state.delimiter:
            return _READY_STATE
    return state


def _pieces(text):
    """Yield the raw pieces (statement text including its ';') the CLI's scanner emits."""
    length = len(text)
    start = 0
    pos = 0
    state = _READY_STATE
    while pos < length:
        kind = state.kind
        # Fast paths: jump over characters that cannot change the state.
        if kind == _READY:
            match = _READY_SPECIAL.search(text, pos)
            if match is None:
                break
            pos = match.start()
        elif kind == _QUOTE and not state.escape:
            found = text.find(state.delimiter, pos)
            if found < 0:
                break
            pos = found
        elif kind == _DOLLAR:
            # The window is checked from the first character after the opening delimiter on,
            # so the closing one may overlap the opening one ("$$$" closes at the third "$").
            found = text.find(state.delimiter, max(pos + 1 - len(state.delimiter), start))
            if found < 0:
                break
            pos = max(found + len(state.delimiter) - 1, pos)
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
    statements = []
    for piece in _pieces(sql_text):
        trimmed = piece.rstrip(";").strip(GO_WHITESPACE)
        if trimmed:
            statements.append(trimmed)
    return statements
