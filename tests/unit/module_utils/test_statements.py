"""split_statements: the statements CLI 2.122.1 records (each expectation was checked against the real CLI)."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils.statements import split_statements

CASES = [
    ("select 1; select 2", ["select 1", "select 2"]),
    ("-- c\nselect 1;\n\n;;  select $$ a;b $$;", ["-- c\nselect 1", "select $$ a;b $$"]),
    ("select 'a;''b'; select \"x;y\";", ["select 'a;''b'", 'select "x;y"']),
    ("create function g() returns text as $body$ begin return 'x;'; end $body$ language plpgsql;",
     ["create function g() returns text as $body$ begin return 'x;'; end $body$ language plpgsql"]),
    ("select 1;\r\nselect 2;\r\n-- trailing\r\n", ["select 1", "select 2", "-- trailing"]),
    # BEGIN ATOMIC ends at an END that starts an inner statement, not at CASE ... END or "legend".
    ("begin atomic select case when true then 1 end; select 2; end; q",
     ["begin atomic select case when true then 1 end; select 2; end", "q"]),
    ("begin atomic select legend from t; select 5; end; select 6;",
     ["begin atomic select legend from t; select 5; end", "select 6"]),
    ("begin atomic select 1; endx; q; end; r", ["begin atomic select 1; endx; q; end", "r"]),
    ("create function f() returns int language sql BEGIN  ATOMIC select 1; END; x_begin atomic; y;",
     ["create function f() returns int language sql BEGIN  ATOMIC select 1; END", "x_begin atomic", "y"]),
    # Parentheses hold ';'; a nested group's ')' also closes the outer one (the CLI's quirk).
    ("x (a;b) y; z", ["x (a;b) y", "z"]),
    ("select (1, (2); 3); select 4;", ["select (1, (2)", "3)", "select 4"]),
    # E'' strings honour backslashes; other strings and xE'' do not.
    ("select E'a\\'; q';", ["select E'a\\'; q'"]),
    ("select 'a\\'; q';", ["select 'a\\'", "q'"]),
    ("select xE'a\\'; q';", ["select xE'a\\'", "q'"]),
    # $ after an identifier character is not a dollar quote.
    ("1$$a;b$$;", ["1$$a", "b$$"]),
    ("\u00e9$$a;b$$;", ["\u00e9$$a", "b$$"]),
    ("select $\u00e9$a;b$\u00e9$; select $ok_1$a;b$ok_1$;", ["select $\u00e9$a;b$\u00e9$", "select $ok_1$a;b$ok_1$"]),
    ("select $a$ x $a$$a$ y $a$; z", ["select $a$ x $a$$a$ y $a$; z"]),
    ("select $$$ ; $$ ;", ["select $$$", "$$"]),
    # Comments: nested blocks, /*/ closes early, line comments end at CR too.
    ("/* a; /* b; */ c; */ select 1; /*/ x; */ select 3;", ["/* a; /* b; */ c; */ select 1", "/*/ x", "*/ select 3"]),
    ("select 1 -- x;\ry; z", ["select 1 -- x;\ry", "z"]),
    ("select 1 \\; select 2;", ["select 1 \\; select 2"]),
    # BOM: dropped at the start of the file; elsewhere trimmed like JavaScript's trim().
    ("\ufeff$$a;b$$;", ["$$a;b$$"]),
    ("select 1;\n\ufeff$$a;b$$;", ["select 1", "$$a", "b$$"]),
    ("\x85select 1\x85;", ["\x85select 1\x85"]),
    ("select 1;\n\u2003\n;\u2003select 2\u2003;\xa0", ["select 1", "select 2"]),
    ("select 1;\x1c\x1d;", ["select 1", "\x1c\x1d"]),
    # Unterminated constructs run to the end of the file.
    ("select 'unterminated; x\n", ["select 'unterminated; x"]),
    (";;\n  ;\t", []),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_split_statements_matches_cli(text, expected):
    assert split_statements(text) == expected


def test_trailing_statement_without_semicolon_is_kept():
    assert split_statements("create table t (id int);\ninsert into t values (1)\n") == [
        "create table t (id int)", "insert into t values (1)"]


def test_comment_travels_with_the_next_statement():
    text = "select 1; -- about two\nselect 2;"
    assert split_statements(text) == ["select 1", "-- about two\nselect 2"]


def test_crlf_is_preserved_inside_statements():
    assert split_statements("select\r\n 1;\r\n") == ["select\r\n 1"]


def test_large_input_is_linear_enough():
    # 5,000 statements in one file: must not be quadratic (this finishes in well under a second).
    text = "".join("insert into t values (%d, 'a;b'); -- c\n" % i for i in range(5000))
    statements = split_statements(text)
    # The trailing comment is a statement of its own, as the CLI records it.
    assert len(statements) == 5001 and statements[-1] == "-- c"
