"""The HTML run report: its contents, its escaping, and the page in a real browser."""

import io
import json
import pathlib
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import numpynn as nn
from numpynn import report

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def write_metrics(run, **extra):
    metrics = {
        "dataset": "toy",
        "test_accuracy": 5 / 6,
        "test_samples": 6,
        "epochs": 3,
        "confusion_matrix": [[3, 1], [0, 2]],
        **extra,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    return metrics


def test_a_bare_run_gets_a_page_that_says_what_is_missing(tmp_path):
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    assert '<span id="test-accuracy">0.8333</span>' in page
    for missing in ("model.npz", "mistakes.npz", "history.png", "timings"):
        assert f"Not recorded in this run ({missing})" in page


def test_per_class_scores_come_from_the_confusion_matrix(tmp_path):
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    # class 0: precision 3/3, recall 3/4, F1 6/7; class 1: precision 2/3, recall 1, F1 4/5
    rows = re.findall(r"<tr><td>(\d)</td>((?:<td class=\"num\">[^<]*</td>){4})</tr>", page)
    cells = {c: re.findall(r"<td class=\"num\">([^<]*)</td>", row) for c, row in rows}
    assert cells["0"] == ["1.000", "0.750", "0.857", "4"]
    assert cells["1"] == ["0.667", "1.000", "0.800", "2"]


def test_all_text_is_escaped_and_nothing_is_fetched(tmp_path):
    hostile = '<script>alert("x")</script>'
    write_metrics(
        tmp_path,
        class_names=[hostile, "b&c"],
        command=f"numpynn train --csv '{hostile}.csv'",
        settings={"csv": hostile},
    )
    x = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    probabilities = np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]] * 3)
    report.save_mistakes(tmp_path, x, np.array([0, 0, 1, 1, 1, 0]), probabilities, (2, 2))
    page = report.write_report(tmp_path).read_text()
    assert "<script" not in page and "b&c" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page and "b&amp;c" in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http:" not in page and "https:" not in page and "<link" not in page


def test_save_mistakes_keeps_the_most_confident_wrong_predictions(tmp_path):
    probabilities = np.array([[0.6, 0.4], [0.1, 0.9], [0.95, 0.05], [0.3, 0.7], [0.8, 0.2]])
    y = np.array([1, 1, 1, 0, 0])  # wrong: sample 0 (0.6), 2 (0.95), 3 (0.7)
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    report.save_mistakes(tmp_path, x, y, probabilities, count=2)
    with np.load(tmp_path / "mistakes.npz", allow_pickle=False) as f:
        assert f["index"].tolist() == [2, 3]
        assert f["true"].tolist() == [1, 0] and f["predicted"].tolist() == [0, 1]
        assert f["x"].tolist() == [[4, 5], [6, 7]] and f["image_shape"].size == 0
        assert np.allclose(f["confidence"], [0.95, 0.7])
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    assert "<td>2</td><td>1</td><td>0</td>" in page  # sample, true, predicted: a table


def test_the_grey_png_decodes_to_the_scaled_pixels():
    from PIL import Image

    image = np.array([[0.0, 0.5], [1.0, 0.25], [0.75, 0.0]])
    decoded = np.asarray(Image.open(io.BytesIO(report._grey_png(image))))
    assert decoded.shape == (3, 2)
    assert decoded.tolist() == [[255, 127], [0, 191], [64, 255]]  # high values dark


def test_split_sizes_follow_fit():
    assert report.split_sizes(1346, 451, 0.1) == {"train": 1211, "validation": 135, "test": 451}
    assert report.split_sizes(100, 20) == {"train": 100, "validation": 0, "test": 20}


def test_the_model_summary_and_versions_are_shown(tmp_path):
    model = nn.Sequential(nn.Dense(3, input_dim=4), nn.Dense(2, activation="softmax"))
    model.metadata = {"class_names": ["setosa", "other"]}
    model.save(tmp_path / "model.npz")
    write_metrics(tmp_path, versions={"python": "3.0.0", "numpy": "1.0", "numpynn": "0.0.1"})
    page = report.write_report(tmp_path).read_text()
    assert "Total params: 23" in page and "setosa" in page
    assert "<td>numpy</td><td>1.0</td>" in page and np.__version__ in page


# --- the page in a real browser -----------------------------------------------------------------


def make_run(out: pathlib.Path) -> pathlib.Path:
    """A real short run: ``numpynn train`` in a subprocess, plus what the report adds
    (mistakes.npz and the run details that cli.train is to record)."""
    from numpynn.cli.userfiles import load_split
    from numpynn.io import load_model

    argv = ["train", "--epochs", "2", "--out", str(out), "--quiet"]
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "numpynn", *argv], check=True, timeout=300)
    seconds = time.perf_counter() - start
    model = load_model(out / "model.npz")
    x_train, _, x_test, y_test, _, image_shape = load_split("digits", model.metadata["seed"])
    report.save_mistakes(out, x_test, y_test, model.predict(x_test), image_shape)
    metrics = json.loads((out / "metrics.json").read_text())
    split = report.split_sizes(len(x_train), len(x_test), 0.1)
    metrics.update(report.run_details(argv, {"epochs": 2}, split, {"train": seconds}))
    (out / "metrics.json").write_text(json.dumps(metrics))
    return report.write_report(out)


def chromium_driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install)")
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
        "--disable-component-update --no-first-run"
    ).split():
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def full_page_screenshot(driver, path, width, mobile=False):
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": mobile},
    )
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )
    assert driver.save_screenshot(str(path))
    return driver.execute_script("return document.documentElement.scrollWidth")


def test_the_report_in_chromium(tmp_path):
    driver = chromium_driver()
    try:
        page = make_run(tmp_path / "run")
        metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
        driver.get(page.resolve().as_uri())
        assert (
            driver.title == f"numpynn report: digits, test accuracy {metrics['test_accuracy']:.4f}"
        )
        shown = driver.find_element("id", "test-accuracy").text
        assert float(shown) == round(metrics["test_accuracy"], 4)
        images = driver.execute_script(
            "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth])"
        )
        assert len(images) >= 3  # the curves, the samples and the mistakes
        assert all(complete and width > 0 for _, complete, width in images), images
        fetched = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(name => !name.startsWith('data:'))"
        )
        assert fetched == []  # the page loads nothing beyond itself
        assert full_page_screenshot(driver, tmp_path / "desktop.png", 1280) <= 1280
        # at phone width nothing makes the page itself wider than the screen
        assert full_page_screenshot(driver, tmp_path / "phone.png", 390, mobile=True) <= 390
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        driver.quit()
