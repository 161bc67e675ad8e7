"""report.html's "Inside the network" section, from metrics.json's "diagnostics"."""

import html
import json
import re

import numpy as np
import pytest
from test_report import check_page, driver, write_metrics  # noqa: F401 (driver: a fixture)

import numpynn as nn
from numpynn import _network_report, report

HOSTILE = '<img src=x onerror="window.pwned=1">'


def diagnostics_of_a_run(**fit_args):
    """Diagnostics.results of a short real run on digits."""
    digits = nn.data.load_digits()
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Dense(32, activation="relu", input_dim=64), nn.Dense(10, activation="softmax")
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(
        digits.x, digits.y, epochs=3, verbose=0, callbacks=[nn.callbacks.Diagnostics()], **fit_args
    )
    return history.diagnostics


def page_with(tmp_path, diagnostics) -> str:
    write_metrics(tmp_path, diagnostics=diagnostics)
    return report.write_report(tmp_path).read_text()


def section_ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', page)


def test_a_healthy_run_has_its_charts_and_table_after_the_curves(tmp_path):
    found = diagnostics_of_a_run()
    assert found["diagnoses"] == []
    page = page_with(tmp_path, found)
    ids = section_ids(page)
    assert ids.index("inside-the-network") > ids.index("command-and-settings")
    assert "No problem found in these numbers." in page
    assert page.count('<svg class="chart"') == 2  # gradient flow and update ratio
    assert page.count("<polyline") == 4  # a line per layer in each
    assert "dense_1 <span" in page and "ReLU" in page


def test_diagnoses_come_first_on_the_page(tmp_path):
    digits = nn.data.load_digits()
    found = diagnostics_of_a_run(validation_data=(digits.x[:50], digits.y[:50]))
    found["diagnoses"] = [{"problem": "dead_units", "layer": "dense_1", "message": "Units died."}]
    page = page_with(tmp_path, found)
    assert section_ids(page)[0] == "inside-the-network"
    assert "Diagnostics found 1 problem:" in page and "<li>Units died.</li>" in page


def test_the_chart_puts_each_value_at_its_decade():
    chart = _network_report._chart([("a", [1e-2, 1e-1])], "epoch")
    # x from LEFT to WIDTH - RIGHT, log10 from -2 (the bottom) to -1 (the top)
    left, right = _network_report.LEFT, _network_report.WIDTH - _network_report.RIGHT
    bottom = _network_report.HEIGHT - _network_report.BOTTOM
    assert f'points="{left:.1f},{bottom:.1f} {right:.1f},{_network_report.TOP:.1f}"' in chart
    assert ">1e-2</text>" in chart and ">1e-1</text>" in chart


def test_gaps_and_non_positive_values_break_the_line():
    chart = _network_report._chart([("a", [1.0, None, 0.0, 2.0, float("inf"), 3.0])], "epoch")
    assert chart.count("<polyline") == 3 and chart.count("<circle") == 3  # three lone points
    assert "Nothing to draw" in _network_report._chart([("a", [0.0, None])], "epoch")


def test_recurrent_layers_get_a_chart_through_time(tmp_path):
    found = diagnostics_of_a_run()
    found["layers"][0]["grad_through_time"] = [None, [0.1, 0.5, 1.0], [0.2, 0.6, 1.0]]
    page = page_with(tmp_path, found)
    assert page.count('<svg class="chart"') == 3 and "Gradient through time" in page


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(layers="dense"),
        lambda d: d["layers"][0].update(grad_norm=["a lot"]),
        lambda d: d["layers"][0].update(grad_through_time=[[1.0, True]]),
        lambda d: d.update(diagnoses=[{"problem": "x", "layer": None}]),  # no message
        lambda d: d["layers"][0].update(name=""),
    ],
)
def test_damaged_diagnostics_are_named_and_left_out(tmp_path, damage):
    found = diagnostics_of_a_run()
    damage(found)
    page = page_with(tmp_path, found)
    assert "inside-the-network" not in section_ids(page)
    assert "'diagnostics' should be the layer statistics and diagnoses" in html.unescape(page)


def test_names_and_messages_are_escaped(tmp_path):
    found = diagnostics_of_a_run()
    found["layers"][0]["name"] = HOSTILE
    found["layers"][0]["activation"] = HOSTILE
    found["diagnoses"] = [{"problem": HOSTILE, "layer": HOSTILE, "message": HOSTILE}]
    page = page_with(tmp_path, found)
    assert "<img src=x" not in page and page.count(HOSTILE.replace("<", "&lt;")[:10]) >= 3


def test_the_section_in_chromium_at_both_widths(driver, tmp_path):  # noqa: F811
    found = diagnostics_of_a_run()
    found["layers"][0]["name"] = HOSTILE
    found["layers"][0]["grad_through_time"] = [[0.01, 0.1, 1.0]] * 3
    found["diagnoses"] = [{"problem": "p", "layer": None, "message": "A long message " * 20}]
    write_metrics(tmp_path, diagnostics=json.loads(json.dumps(found)))
    page = report.write_report(tmp_path)
    check_page(driver, page, tmp_path)  # contrast, no sideways overflow, nothing fetched
    assert driver.execute_script("return window.pwned") is None
    svgs = driver.execute_script(
        "return Array.from(document.querySelectorAll('svg.chart'), s => "
        "s.getBoundingClientRect().width)"
    )
    assert len(svgs) == 3 and all(np.asarray(svgs) > 250)  # at 390 px: the charts fill the row
