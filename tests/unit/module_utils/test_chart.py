"""The monitor chart is a real PNG, drawn without pyplot, with or without data."""
import pytest

from ansible_collections.hotdash.supabase.plugins.module_utils import chart
from ansible_collections.hotdash.supabase.plugins.module_utils.errors import InvalidInput
from ansible_collections.hotdash.supabase.plugins.module_utils.monitor import MonitorOptions, Thresholds, judge

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def samples(rates):
    return [{"since_s": i, "until_s": i + 1, "error_rate": None if r is None else {"rate": r},
             "connections": {"usage": 0.1 + i / 100.0}, "slowest_p95_ms": 100.0 * i, "warnings": []}
            for i, r in enumerate(rates)]


def test_chart_is_a_png_with_breach_shading(tmp_path):
    data = samples([0.0, 0.02, 0.03, 0.04])
    options = MonitorOptions(window=3, interval=1, thresholds=Thresholds(sustain=1))
    path = chart.render_chart(data, options.thresholds, str(tmp_path / "monitor.png"),
                              verdicts=judge(data, options)["verdicts"])
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_MAGIC
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_chart_without_any_measurement_still_renders(tmp_path):
    data = [{"since_s": 0, "until_s": 1, "error_rate": None, "connections": None, "slowest_p95_ms": None}]
    path = chart.render_chart(data, Thresholds(), str(tmp_path / "empty.png"))
    assert open(path, "rb").read(8) == PNG_MAGIC


def test_chart_to_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInput) as info:
        chart.render_chart(samples([0.0]), Thresholds(), str(tmp_path / "nope" / "monitor.png"))
    assert "cannot write the monitor chart" in str(info.value) and "\n" not in str(info.value)


def test_without_matplotlib_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(chart, "HAS_MATPLOTLIB", False)
    with pytest.raises(InvalidInput) as info:
        chart.render_chart(samples([0.0]), Thresholds(), str(tmp_path / "monitor.png"))
    assert "pip install matplotlib" in str(info.value)
