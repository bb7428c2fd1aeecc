"""maintenance_window_info: inside, outside, wrap-around and override, with an explicit 'now'."""


def check(result):
    return result["checks"][0]


def test_production_default_window_excludes_midday(run_module):
    result = run_module("maintenance_window_info", dict(environment="production", now="2026-11-26T12:00:00Z"))
    assert result["changed"] is False and result["inside"] is False
    assert check(result)["status"] == "fail" and "02:00-04:00 UTC" in check(result)["detail"]
    assert result["next_window_start"] == "2026-11-27T02:00:00Z"


def test_production_default_window_includes_0230(run_module):
    result = run_module("maintenance_window_info", dict(environment="production", now="2026-11-26T02:30:00Z"))
    assert check(result)["status"] == "ok" and result["inside"] is True


def test_real_clock_outside_a_window_that_excludes_now(run_module):
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now + datetime.timedelta(hours=2)).strftime("%H:%M")
    end = (now + datetime.timedelta(hours=3)).strftime("%H:%M")
    result = run_module("maintenance_window_info", dict(environment="production", windows=["%s-%s" % (start, end)]))
    assert check(result)["status"] == "fail"


def test_override_reason_waives_and_is_recorded(run_module):
    result = run_module("maintenance_window_info", dict(environment="production", now="2026-11-26T12:00:00Z",
                                                        override_reason="CHG-42 hotfix, approved by maria"))
    assert check(result)["status"] == "waived" and "CHG-42" in check(result)["detail"]


def test_staging_needs_no_window_and_wraparound_with_days(run_module):
    assert check(run_module("maintenance_window_info", dict(environment="staging",
                                                            now="2026-11-26T12:00:00Z")))["status"] == "ok"
    # 2026-11-26 is a Thursday; 01:00 Friday is inside a window that starts Thursday 22:00
    args = dict(environment="staging", windows=[{"start": "22:00", "end": "02:00", "days": ["thu"]}],
                now="2026-11-27T01:00:00Z")
    assert check(run_module("maintenance_window_info", args))["status"] == "ok"
    assert check(run_module("maintenance_window_info", dict(args, now="2026-11-28T01:00:00Z")))["status"] == "fail"


def test_bad_window_is_a_one_line_error(run_module):
    result = run_module("maintenance_window_info", dict(environment="staging", windows=["2am-4am"]))
    assert result["failed"] is True and "\n" not in result["msg"]
    assert result["msg"] == "maintenance window '2am-4am': '2am' is not a HH:MM time (UTC, 00:00-23:59)"
