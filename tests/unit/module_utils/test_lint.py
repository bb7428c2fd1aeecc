from ansible_collections.hotdash.supabase.plugins.module_utils import lint


def test_parse_error_line_counts_from_one_and_handles_multibyte_text():
    text = "-- café ünïcode\nCREATE TABLE a (id int);\n\nSELEC 1;\n"
    assert lint.parse_errors(text, "f.sql") == [{"file": "f.sql", "line": 4,
                                                 "message": 'syntax error at or near "SELEC"'}]
    assert lint.parse_errors("SELECT 1;", "f.sql") == []


def test_tables_touched_are_qualified_when_written_so():
    sql = ("CREATE TABLE public.a (id int); ALTER TABLE b ADD COLUMN x int; CREATE INDEX ON s.c (x);"
           "INSERT INTO d SELECT * FROM e;")
    assert sorted(lint.tables_touched(sql)) == ["b", "d", "e", "public.a", "s.c"]
    assert lint.tables_touched("not sql at all") == []


def test_waiver_comments_need_a_reason():
    text = ("-- hotdash:lint-waive require-concurrent-index-creation reason: 200 rows, reviewed CHG-1\n"
            "-- hotdash:lint-waive ban-drop-column\n"
            "--hotdash:lint-waive Renaming-Column   reason:   legacy name\n")
    assert lint.waivers_in(text) == {"require-concurrent-index-creation": "200 rows, reviewed CHG-1",
                                     "renaming-column": "legacy name"}
    assert lint.unreviewed_waivers(text) == ["-- hotdash:lint-waive ban-drop-column"]


def test_lint_check_summarises_dangerous_findings_and_parse_errors():
    result = {"files": ["a.sql"], "parse_errors": [], "waived": [], "notes": [], "status": "fail",
              "dangerous": [{"file": "a.sql", "line": i, "rule": "ban-drop-column"} for i in range(1, 7)]}
    check = lint.lint_check(result, "production")
    assert check["status"] == "fail" and "6 dangerous operation(s) in 1 file(s) (production)" in check["detail"]
    assert check["detail"].endswith("(+2 more)")
    result.update(parse_errors=[{"file": "a.sql", "line": 2, "message": "syntax error"}])
    assert "a.sql line 2: syntax error" in lint.lint_check(result, "staging")["detail"]


def test_default_dangerous_rules_cover_the_runbook_cases():
    for rule in ("adding-required-field", "require-concurrent-index-creation", "changing-column-type",
                 "ban-drop-column", "renaming-column", "renaming-table"):
        assert rule in lint.DANGEROUS_RULES
