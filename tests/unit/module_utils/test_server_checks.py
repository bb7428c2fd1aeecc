from ansible_collections.hotdash.supabase.plugins.module_utils.server_checks import _describe_sessions


def test_session_description_is_bounded():
    rows = [{"pid": i, "user": "u", "duration_s": 1.0, "state": "active", "query": "q"} for i in range(5)]
    text = _describe_sessions(rows)
    assert text.count("pid ") == 3 and text.endswith("and 2 more")
