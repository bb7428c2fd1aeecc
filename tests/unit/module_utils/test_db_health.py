from ansible_collections.hotdash.supabase.plugins.module_utils.db_health import describe_sessions


def test_session_description_is_bounded():
    rows = [{"pid": i, "user": "u", "duration_s": 1.0, "state": "active", "query": "q"} for i in range(5)]
    text = describe_sessions(rows)
    assert text.count("pid ") == 3 and text.endswith("(+2 more)")
