"""The HTML run report: its contents, its escaping, damaged run folders, and the page in a
real browser (contrast, layout at phone width, no script, nothing fetched)."""

import io
import json
import pathlib
import re
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import numpynn as nn
from numpynn import _run_folder, report

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


def contrast(foreground, background) -> float:
    """WCAG 2 contrast ratio of two sRGB colours given as 0..255 triples."""

    def luminance(rgb):
        c = np.asarray(rgb, dtype=float) / 255
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(c @ [0.2126, 0.7152, 0.0722])

    light, dark = sorted([luminance(foreground), luminance(background)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_bare_run_gets_a_page_that_says_what_is_missing(tmp_path):
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    assert '<span id="test-accuracy">0.8333</span>' in page
    for missing in ("model.npz", "mistakes.npz", "history.png", "timings"):
        assert f"Not recorded in this run ({missing})" in page
    assert "Problems" not in page and "Test samples" not in page


def test_per_class_scores_come_from_the_confusion_matrix(tmp_path):
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    # class 0: precision 3/3, recall 3/4, F1 6/7; class 1: precision 2/3, recall 1, F1 4/5
    rows = re.findall(r"<tr><td>(\d)</td>((?:<td class=\"num\">[^<]*</td>){4})</tr>", page)
    cells = {c: re.findall(r"<td class=\"num\">([^<]*)</td>", row) for c, row in rows}
    assert cells["0"] == ["1.000", "0.750", "0.857", "4"]
    assert cells["1"] == ["0.667", "1.000", "0.800", "2"]


HOSTILE = [
    "<script>window.pwned = 'script'; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.pwned = 'img'; document.title = 'pwned'\">",
    "\"><svg onload=window.pwned='attr'>",
]


def hostile_run(run: pathlib.Path, images: bool) -> pathlib.Path:
    """A run folder whose class names, CSV path, column names and settings carry markup."""
    run.mkdir(exist_ok=True)
    write_metrics(
        run,
        dataset="csv",
        class_names=[HOSTILE[0], HOSTILE[1]],
        csv=f"/data/{HOSTILE[2]}.csv",
        target=HOSTILE[1],
        feature_names=HOSTILE + ["b&c"],
        command=f"numpynn train --csv '{HOSTILE[0]}.csv'",
        settings={HOSTILE[1]: HOSTILE[2]},
        timings={HOSTILE[0]: 1.5},
    )
    x = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    probabilities = np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]] * 3)
    y = np.array([0, 0, 1, 1, 1, 0])
    report.save_mistakes(run, x, y, probabilities, (2, 2) if images else None)
    return report.write_report(run)


@pytest.mark.parametrize("images", [False, True])
def test_all_text_is_escaped_and_nothing_is_fetched(tmp_path, images):
    page = hostile_run(tmp_path, images).read_text()
    assert "<script" not in page and "<svg" not in page and "b&c" not in page
    assert page.count("<img") == page.count('<img class="')  # only the report's own images
    assert "&lt;script&gt;window.pwned = &#x27;script&#x27;" in page and "b&amp;c" in page
    assert "The 2 wrong predictions" in page  # the mistakes are shown, with the hostile names
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
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
        assert f["sample_x"].shape == (0, 2)  # not images: no grid of samples
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    assert "<td>2</td><td>1</td><td>0</td>" in page  # sample, true, predicted: a table


def test_images_keep_the_first_samples_and_a_perfect_run_saves_no_mistakes(tmp_path):
    x = np.arange(40, dtype=np.float32).reshape(10, 2, 2)
    y = np.arange(10) % 2
    probabilities = np.eye(2)[y]  # every prediction right
    report.save_mistakes(tmp_path, x, y, probabilities, (2, 2), samples=3)
    with np.load(tmp_path / "mistakes.npz", allow_pickle=False) as f:
        assert f["x"].shape == (0, 4) and f["true"].size == 0
        assert f["sample_x"].tolist() == x[:3].reshape(3, 4).tolist()
        assert f["sample_true"].tolist() == f["sample_predicted"].tolist() == [0, 1, 0]
    write_metrics(tmp_path)
    page = report.write_report(tmp_path).read_text()
    assert "No mistakes on the test set." in page
    assert "The first 3 test samples" in page and page.count('class="thumb"') == 3


def test_the_grey_png_decodes_to_the_scaled_pixels_high_values_light():
    from PIL import Image

    image = np.array([[0.0, 0.5], [1.0, 0.25], [0.75, 2.0]])
    decoded = np.asarray(Image.open(io.BytesIO(report._grey_png(image, 0.0, 1.0))))
    assert decoded.shape == (3, 2)
    assert decoded.tolist() == [[0, 128], [255, 64], [191, 255]]  # as the data: high is light


def test_every_confusion_shade_keeps_its_text_readable():
    ink, white = (0x1D, 0x23, 0x30), (255, 255, 255)
    for share in np.linspace(0, 1, 1001):
        background, dark = report._shade(share)
        rgb = [int(background[i : i + 2], 16) for i in (1, 3, 5)]
        assert contrast(white if dark else ink, rgb) >= 4.5, (share, background, dark)
    assert report._shade(0.571)[1] and not report._shade(0.4)[1]  # more than half the row: dark


@pytest.mark.parametrize(
    "seconds, shown",
    [
        (0.0004, "under 1 ms"),
        (0.048, "48 ms"),
        (0.9996, "1.0 s"),
        (3.24, "3.2 s"),
        (59.97, "1 min 0 s"),
        (125, "2 min 5 s"),
        (7300, "2 h 1 min"),
    ],
)
def test_the_training_time_is_shown_to_a_readable_precision(tmp_path, seconds, shown):
    write_metrics(tmp_path, timings={"train": seconds})
    page = report.write_report(tmp_path).read_text()
    assert f"<div>Training time</div><b>{shown}</b>" in page


def test_a_csv_run_shows_the_file_name_and_the_column_names(tmp_path):
    names = ["sepal length", "sepal width", "petal length"]
    write_metrics(tmp_path, dataset="csv", csv="/data/my flowers.csv", target="species")
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    report.save_mistakes(tmp_path, x, np.array([0, 1, 0, 1]), np.eye(2)[[1, 0, 0, 1]])
    page = report.write_report(tmp_path).read_text()
    assert "<div>Data set</div><b>my flowers.csv</b>" in page and "/data/my flowers.csv" in page
    assert "<title>numpynn report: my flowers.csv," in page and "<b>species</b>" in page
    assert '<th class="num">feature 1</th>' in page  # no names recorded: numbered
    write_metrics(tmp_path, dataset="csv", csv="/data/my flowers.csv", feature_names=names)
    page = report.write_report(tmp_path).read_text()
    assert "".join(f'<th class="num">{n}</th>' for n in names) in page
    assert '<td class="num">3</td><td class="num">4</td><td class="num">5</td>' in page


def test_the_csv_file_and_columns_come_from_the_model_when_metrics_json_lacks_them(tmp_path):
    model = nn.Sequential(nn.Dense(2, input_dim=3, activation="softmax"))
    columns = ["alcohol", "ash", "hue"]
    model.metadata = {"dataset": "csv", "csv": "/tmp/wine.csv", "target": None, "columns": columns}
    model.save(tmp_path / "model.npz")
    write_metrics(tmp_path, dataset="csv")
    page = report.write_report(tmp_path).read_text()
    assert "<div>Data set</div><b>wine.csv</b>" in page and "Problems" not in page
    assert "<p>3 features: alcohol, ash, hue</p>" in page


# --- damaged run folders -----------------------------------------------------------------------

DAMAGED = {
    "test_accuracy": ("0.97", "a number from 0 to 1"),
    "epochs": (2.5, "a whole number"),
    "class_names": (list(range(2)), "a list of at most"),
    "confusion_matrix": ([[1, 2], [3]], "a square table of counts"),
    "timings": ({"train": "fast"}, "an object of seconds"),
    "split": (["train", 10], "an object of sample counts"),
    "settings": ("lr=0.1", "an object of settings"),
    "versions": ({"numpy": 2}, "an object of version texts"),
    "dataset": ({"name": "x"}, "a name"),
}


@pytest.mark.parametrize("key", DAMAGED)
def test_a_hand_edited_value_is_named_on_the_page_not_raised(tmp_path, key):
    value, what = DAMAGED[key]
    write_metrics(tmp_path, **{key: value})
    page = report.write_report(tmp_path).read_text()
    problems = page[page.index("Problems with this run") : page.index("Command and settings")]
    assert f"metrics.json: &#x27;{key}&#x27; should be {what}" in problems


def test_huge_lists_and_non_numbers_are_refused_without_drawing_them(tmp_path):
    count = _run_folder.LIST_LIMIT + 1
    write_metrics(tmp_path, class_names=["c"] * count, test_accuracy=float("nan"))
    page = report.write_report(tmp_path).read_text()
    assert f"it holds a list of {count:,} entries" in page and page.count("<li>") == 2
    assert "NaN" in page and '<span id="test-accuracy">?</span>' in page
    write_metrics(tmp_path, confusion_matrix=[[10**12, 0], [0, 1]])  # would expand to 8 TB
    assert (
        "at most 1000 classes and 10,000,000 samples" in report.write_report(tmp_path).read_text()
    )
    write_metrics(tmp_path, confusion_matrix=np.ones((60, 60), int).tolist())
    page = report.write_report(tmp_path).read_text()
    assert "60 classes: too many to draw as a table." in page  # the per-class table remains


@pytest.mark.parametrize(
    "text, error",
    [
        ('{"dataset": "toy", ', r"metrics.json is not readable JSON \(.*line 1"),
        ("[1, 2, 3]", "holds a JSON list, not an object of results"),
        ("\xff\xfe not utf-8", "is not readable JSON"),
        ("[" * 100_000, "is not readable JSON"),
    ],
)
def test_unreadable_metrics_json_is_a_clear_error(tmp_path, text, error):
    (tmp_path / "metrics.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=error):
        report.write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


def test_a_folder_without_metrics_json_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json in .*numpynn train"):
        report.write_report(tmp_path)


def test_damaged_model_mistakes_and_images_are_named_and_skipped(tmp_path):
    write_metrics(tmp_path)
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "history.png").write_text("<svg onload=alert(1)>")
    np.savez(tmp_path / "mistakes.npz", x=np.zeros((1, 4)), true=[5], predicted=[0],
             confidence=[0.9], index=[0], image_shape=[2, 2])  # fmt: skip
    page = report.write_report(tmp_path).read_text()
    problems = page[page.index("Problems with this run") : page.index("Command and settings")]
    assert "model.npz could not be read" in problems
    assert "history.png is not a PNG image" in problems and "<svg" not in page
    assert "mistakes.npz: true holds classes outside 0..1" in problems
    (tmp_path / "mistakes.npz").write_bytes(b"garbage")
    assert "mistakes.npz could not be read" in report.write_report(tmp_path).read_text()
    with zipfile.ZipFile(tmp_path / "mistakes.npz", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            for _ in range(129):  # 129 MB of zeros, a few hundred KB packed
                member.write(bytes(2**20))
    page = report.write_report(tmp_path).read_text()
    assert "mistakes.npz could not be read: it unpacks to 135,266,304 bytes" in page


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from([*_run_folder._RESULTS, "history"]), JSON))
def test_any_json_object_gives_a_page(tmp_path, results):
    (tmp_path / "metrics.json").write_text(json.dumps(results))
    page = report.write_report(tmp_path).read_text()
    assert page.endswith("</main></body></html>\n")


def test_split_sizes_follow_fit():
    assert report.split_sizes(1346, 451, 0.1) == {"train": 1211, "validation": 135, "test": 451}
    assert report.split_sizes(100, 20) == {"train": 100, "validation": 0, "test": 20}


def test_the_model_summary_is_a_table_and_versions_are_shown(tmp_path):
    model = nn.Sequential(nn.Dense(3, input_dim=4), nn.Dense(2, activation="softmax"))
    model.metadata = {"class_names": ["setosa", "other"]}
    model.save(tmp_path / "model.npz")
    write_metrics(tmp_path, versions={"python": "3.0.0", "numpy": "1.0", "numpynn": "0.0.1"})
    page = report.write_report(tmp_path).read_text()
    assert "Total params: 23" in page and "setosa" in page
    assert '<td>dense_1 (Dense)</td><td>(None, 3)</td><td class="num">15</td>' in page
    assert "<td>numpy</td><td>1.0</td>" in page and np.__version__ in page


# --- the page in a real browser -----------------------------------------------------------------


def train_run(out: pathlib.Path, *options) -> pathlib.Path:
    """A real short run of ``numpynn train`` in a subprocess; its report's path."""
    argv = ["train", "--epochs", "2", "--out", str(out), "--quiet", *options]
    subprocess.run([sys.executable, "-m", "numpynn", *argv], check=True, timeout=300)
    return out / "report.html"


def csv_file(path: pathlib.Path) -> pathlib.Path:
    """Iris as a CSV file with named columns."""
    iris = nn.data.load_iris()
    head = "sepal length,sepal width,petal length,petal width,species\n"
    rows = [",".join(f"{v:.2f}" for v in x) + f",kind {y}\n" for x, y in zip(iris.x, iris.y)]
    path.write_text(head + "".join(rows))
    return path


@pytest.fixture(scope="module")
def driver():
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
    chromium = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield chromium
    chromium.quit()


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


# every visible piece of text: its element, colour, and the backgrounds from it up to the root
TEXTS = """
const found = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walk.nextNode()) {
  const text = walk.currentNode.textContent.trim(), element = walk.currentNode.parentElement;
  if (!text || !element.getClientRects().length) continue;
  const layers = [];
  for (let e = element; e; e = e.parentElement) layers.push(getComputedStyle(e).backgroundColor);
  found.push([element.tagName, text.slice(0, 40), getComputedStyle(element).color, layers]);
}
return found;
"""


def rgba(css: str):
    values = [float(v) for v in re.findall(r"[\d.]+", css)]
    return np.array(values[:3]), (values[3] if len(values) > 3 else 1.0)


def text_contrasts(driver):
    """(ratio, element, text) of every visible text, its colour composited over the
    backgrounds below it (a white canvas first)."""
    found = []
    for tag, text, color, layers in driver.execute_script(TEXTS):
        ground = np.array([255.0, 255.0, 255.0])
        for layer in reversed(layers):  # the root first
            rgb, alpha = rgba(layer)
            ground = alpha * rgb + (1 - alpha) * ground
        rgb, alpha = rgba(color)
        found.append((contrast(alpha * rgb + (1 - alpha) * ground, ground), tag, text))
    return found


# what scrolls sideways, and what sticks out of the screen outside a scrolling box
SIDEWAYS = """
const all = Array.from(document.querySelectorAll('body *'));
const scrolls = all.filter(e => e.scrollWidth > e.clientWidth + 1
    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
const out = all.filter(e => !e.closest('.scroll')
    && e.getBoundingClientRect().right > innerWidth + 1);
const describe = e => [e.tagName, e.className, Array.from(e.children, c => c.tagName).join(' ')];
return [scrolls.map(describe), out.map(describe)];
"""


def check_page(driver, page: pathlib.Path, shots: pathlib.Path):
    """What every report must do in Chromium, at 1280 and 390 pixels."""
    driver.get(page.resolve().as_uri())
    images = driver.execute_script(
        "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert all(complete and width > 0 for _, complete, width in images), images
    fetched = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(name => !name.startsWith('data:'))"
    )
    assert fetched == []  # the page loads nothing beyond itself
    for width, mobile in ((1280, False), (390, True)):
        assert full_page_screenshot(driver, shots / f"{width}.png", width, mobile) <= width
        poor = [c for c in text_contrasts(driver) if c[0] < 4.5]
        assert poor == [], poor  # WCAG AA for normal text
    scrolls, sticking_out = driver.execute_script(SIDEWAYS)
    assert sticking_out == []
    assert all(s == ["DIV", "scroll", "TABLE"] for s in scrolls), scrolls  # wide tables only
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    return images, scrolls


def test_the_report_of_an_image_run_in_chromium(driver, tmp_path):
    page = train_run(tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    images, _ = check_page(driver, page, tmp_path)
    assert driver.title == f"numpynn report: digits, test accuracy {metrics['test_accuracy']:.4f}"
    shown = driver.find_element("id", "test-accuracy").text
    assert float(shown) == round(metrics["test_accuracy"], 4)
    alts = [alt for alt, _, _ in images]
    assert "training curves" in alts and alts.count("test sample 0") >= 1
    assert len(alts) >= 2 + 32  # the curves, the mistakes and the 32 test samples


def test_the_report_of_a_csv_run_in_chromium(driver, tmp_path):
    data = csv_file(tmp_path / "my flowers.csv")
    page = train_run(tmp_path / "run", "--csv", str(data), "--target", "species")
    _, scrolls = check_page(driver, page, tmp_path)
    assert scrolls  # the worst mistakes with a column per feature: a wide table
    assert driver.title.startswith("numpynn report: my flowers.csv, test accuracy")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["csv"] == str(data.resolve()) and metrics["target"] == "species"
    (tmp_path / "run" / "model.npz").unlink()  # metrics.json alone names the file
    assert "<b>my flowers.csv</b>" in report.write_report(tmp_path / "run").read_text()


@pytest.mark.parametrize("images", [False, True])
def test_markup_in_names_shows_as_text_and_runs_nothing(driver, tmp_path, images):
    page = hostile_run(tmp_path, images)
    check_page(driver, page, tmp_path)
    assert driver.execute_script("return window.pwned") is None
    assert driver.title == f"numpynn report: {HOSTILE[2]}.csv, test accuracy 0.8333"
    assert driver.execute_script("return document.querySelectorAll('script, svg').length") == 0
    text = driver.find_element("tag name", "body").text
    for name in (HOSTILE[0], HOSTILE[1]):
        assert name in text  # the literal markup is what the reader sees
    assert "b&c" in text
