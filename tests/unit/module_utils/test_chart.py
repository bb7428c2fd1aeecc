"""The monitor chart is a real PNG, drawn without pyplot, with or without data."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import chart, monitor
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import MonitorOptions, Thresholds, judge

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def samples(rates):
    return [{"since_s": i * 15, "until_s": (i + 1) * 15, "since": "2025-10-19T02:%02d:%02d+00:00" % (i * 15 // 60, i * 15 % 60),
             "error_rate": None if r is None else {"errors": int(r * 1000), "total": 1000, "rate": r},
             "database_connections": {"usage": 0.1 + i / 100.0}, "warnings": [],
             "pool": {"usage": 0.5, "clients_waiting": 2 if i == 3 else 0},
             "probes": {"tiles": {"p95_ms": 100.0 * i}, "revenue": {"p95_ms": 700.0}}, "probe_p95_ms": 700.0}
            for i, r in enumerate(rates)]


def test_chart_is_a_png_with_the_trigger_query_2_probes_and_pool(tmp_path):
    data = samples([0.0] + [0.03] * 27)
    options = MonitorOptions()
    for index, sample in enumerate(data):
        sample["trigger"] = monitor.trigger_state(data[:index + 1], options.thresholds)
    judgement = judge(data, options)
    assert judgement["breached"]
    path = chart.render_chart(data, options.thresholds, str(tmp_path / "monitor.png"), judgement=judgement,
                              errors_per_minute=[{"minute": "2025-10-19T02:01:00+00:00", "errors": 27}])
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_MAGIC
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_chart_without_any_measurement_still_renders(tmp_path):
    data = [{"since_s": 0, "until_s": 1, "error_rate": None, "database_connections": None, "probe_p95_ms": None}]
    path = chart.render_chart(data, Thresholds(), str(tmp_path / "empty.png"))
    assert open(path, "rb").read(8) == PNG_MAGIC


def test_chart_where_it_cannot_be_written_is_a_clear_error(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    with pytest.raises(InvalidInput) as info:
        chart.render_chart(samples([0.0]), Thresholds(), str(tmp_path / "a-file" / "monitor.png"))
    assert "cannot write the monitor chart" in str(info.value) and "\n" not in str(info.value)


def test_without_matplotlib_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(chart, "HAS_MATPLOTLIB", False)
    with pytest.raises(InvalidInput) as info:
        chart.render_chart(samples([0.0]), Thresholds(), str(tmp_path / "monitor.png"))
    assert "pip install matplotlib" in str(info.value)
