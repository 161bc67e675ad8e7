"""The HTML report of a training run: one self-contained page from a run folder's files.

``numpynn train`` writes ``model.npz``, ``metrics.json`` and the PNG plots to a run folder;
``write_report(run_dir)`` turns them into ``report.html`` beside them: the command and
settings, the data and its split, the model summary, the curves, the confusion matrix, the
per-class scores, the worst mistakes, timings and versions. Images are inline (base64
``data:`` URIs), there is no script and nothing is fetched, so the file can be mailed,
archived or opened offline. Every piece of text is escaped.

Two helpers give the training command what the page needs beyond today's files:
``run_details(...)`` (a dict to merge into ``metrics.json``) and ``save_mistakes(...)``
(``mistakes.npz``: the most confident wrong predictions). A run without them still gets a
report; those sections then say they were not recorded.

Examples:
    >>> import json, pathlib, tempfile
    >>> from numpynn.report import write_report
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> metrics = {"dataset": "toy", "test_accuracy": 0.5, "confusion_matrix": [[1, 1], [0, 0]]}
    >>> _ = (run / "metrics.json").write_text(json.dumps(metrics))
    >>> path = write_report(run)
    >>> path.name, "0.5000" in path.read_text()
    ('report.html', True)
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
import pathlib
import platform
import shlex
import struct
import zlib

import numpy as np

from numpynn import metrics
from numpynn._files import atomic_write

REPORT = "report.html"
MISTAKES = "mistakes.npz"


# --- what the training command records ---------------------------------------------------------


def versions() -> dict:
    """The versions of Python, NumPy and numpynn, and the platform."""
    import numpynn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpynn": numpynn.__version__,
        "platform": platform.platform(),
    }


def split_sizes(train: int, test: int, validation_split: float = 0.0) -> dict:
    """Sample counts of the three parts, with ``fit``'s rule: the validation set is the
    last ``train - floor(train * (1 - validation_split))`` training samples."""
    fit = math.floor(train * (1 - validation_split)) if validation_split else train
    return {"train": fit, "validation": train - fit, "test": test}


def run_details(argv, settings: dict, split: dict, timings: dict) -> dict:
    """What the report shows beyond the metrics, to merge into ``metrics.json``.

    Args:
        argv: the command's arguments (``sys.argv[1:]``).
        settings: the resolved settings (dataset, model, hidden sizes, epochs, ...).
        split: sample counts, e.g. from ``split_sizes``.
        timings: seconds per phase, e.g. ``{"load data": 0.1, "train": 4.2}``.

    Examples:
        >>> from numpynn.report import run_details
        >>> details = run_details(["train", "--epochs", "2"], {"epochs": 2}, {"test": 450}, {})
        >>> details["command"], sorted(details["versions"])
        ('numpynn train --epochs 2', ['numpy', 'numpynn', 'platform', 'python'])
    """
    return {
        "command": shlex.join(["numpynn", *map(str, argv)]),
        "settings": settings,
        "split": split,
        "timings": {name: round(float(s), 3) for name, s in timings.items()},
        "versions": versions(),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def save_mistakes(run_dir, x, y_true, probabilities, image_shape=None, count: int = 24):
    """Write ``mistakes.npz``: the ``count`` wrong predictions made with the highest
    confidence, with their inputs, true and predicted classes and that confidence.

    Args:
        run_dir: the run folder.
        x: the test inputs, (N, ...).
        y_true: their classes, (N,) integers.
        probabilities: the model's outputs, (N, C).
        image_shape: (H, W) when the inputs are images, to draw them.
        count: how many to keep.
    """
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    path = pathlib.Path(run_dir) / MISTAKES
    with atomic_write(path) as f:
        np.savez(
            f,
            x=np.asarray(x)[worst].reshape(len(worst), -1).astype(np.float32),
            true=np.asarray(y_true)[worst].astype(np.int64),
            predicted=predicted[worst].astype(np.int64),
            confidence=confidence[worst].astype(np.float32),
            index=worst.astype(np.int64),
            image_shape=np.asarray(image_shape or [], dtype=np.int64),
        )
    return path


# --- the page ---------------------------------------------------------------------------------


def write_report(run_dir) -> pathlib.Path:
    """Build ``report.html`` in ``run_dir`` from its files and return its path.

    ``metrics.json`` is required; ``model.npz``, the PNGs and ``mistakes.npz`` are shown
    when present.
    """
    run = pathlib.Path(run_dir)
    metrics_path = run / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"no metrics.json in {run}: is it a folder from numpynn train?")
    results = json.loads(metrics_path.read_text())
    meta, summary = _model_facts(run / "model.npz")
    class_names = results.get("class_names") or meta.get("class_names")
    matrix = np.asarray(results.get("confusion_matrix") or [[]], dtype=np.int64)
    if not class_names or len(class_names) != len(matrix):
        class_names = [str(i) for i in range(len(matrix))]
    class_names = [str(c) for c in class_names]
    page = _page(run, results, meta, summary, class_names, matrix)
    path = run / REPORT
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _model_facts(path: pathlib.Path):
    """(metadata, summary text) of the saved model, or ({}, None) without one."""
    if not path.is_file():
        return {}, None
    from numpynn.io import load_model

    model = load_model(path, compile=False)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    return model.metadata or {}, "\n".join(lines)


def _page(run, results, meta, summary, class_names, matrix) -> str:
    e = html.escape
    dataset = str(results.get("dataset") or meta.get("dataset") or "?")
    accuracy = results.get("test_accuracy")
    shown = "?" if accuracy is None else f"{accuracy:.4f}"
    timings = results.get("timings") or {}
    cards = [
        ("Test accuracy", f'<span id="test-accuracy">{e(shown)}</span>'),
        ("Data set", e(dataset)),
        ("Epochs", e(str(results.get("epochs", "?")))),
        ("Training time", e(f"{timings['train']:.1f} s") if "train" in timings else "?"),
    ]
    sections = [
        _section("Command and settings", _command(results)),
        _section("Data", _data(results, dataset, class_names)),
        _section("Model", f"<pre>{e(summary)}</pre>" if summary else _missing("model.npz")),
        _section("Training curves", _image(run / "history.png", "training curves")),
        _section("Confusion matrix", _confusion(matrix, class_names)),
        _section("Per-class report", _per_class(matrix, class_names)),
        _section("Worst mistakes", _mistakes(run / MISTAKES, class_names)),
    ]
    if (run / "samples.png").is_file():
        sections.append(_section("Test samples", _image(run / "samples.png", "test samples")))
    timing_rows = [[phase, f"{seconds:.2f}"] for phase, seconds in timings.items()]
    sections += [
        _section(
            "Timings", _table(["phase", "seconds"], timing_rows) if timings else _missing("timings")
        ),
        _section("Versions", _versions(results)),
    ]
    title = f"numpynn report: {dataset}, test accuracy {shown}"
    card_html = "".join(f'<div class="card"><div>{k}</div><b>{v}</b></div>' for k, v in cards)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_CSS}</style></head>\n<body><main>\n"
        f'<h1>numpynn run report</h1>\n<p class="where">{e(str(run.resolve()))}</p>\n'
        f'<div class="cards">{card_html}</div>\n'
        + "\n".join(sections)
        + "\n</main></body></html>\n"
    )


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="{anchor}"><h2>{html.escape(title)}</h2>\n{body}</section>'


def _missing(what: str) -> str:
    return f'<p class="missing">Not recorded in this run ({html.escape(what)}).</p>'


def _table(head, rows, numeric_from: int = 1) -> str:
    """An HTML table of text cells (escaped); columns from ``numeric_from`` align right."""
    e = html.escape
    cls = [' class="num"' if i >= numeric_from else "" for i in range(len(head))]
    top = "".join(f"<th{c}>{e(str(h))}</th>" for h, c in zip(head, cls))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{e(str(v))}</td>" for v, c in zip(row, cls)) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _command(results) -> str:
    settings = results.get("settings")
    if not settings and not results.get("command"):
        return _missing("command and settings")
    command = results.get("command")
    out = f'<pre class="command">{html.escape(command)}</pre>' if command else ""
    if settings:
        out += _table(["setting", "value"], [[k, _text(v)] for k, v in settings.items()], 9)
    return out


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _data(results, dataset, class_names) -> str:
    split = results.get("split") or {}
    if not split and "test_samples" in results:
        split = {"test": results["test_samples"]}
    rows = [[part, f"{count:,}"] for part, count in split.items()]
    classes = f"<p>{len(class_names)} classes: {html.escape(', '.join(class_names))}</p>"
    return (
        f"<p>Data set: <b>{html.escape(dataset)}</b></p>"
        + classes
        + _table(["part", "samples"], rows)
    )


def _image(path: pathlib.Path, alt: str) -> str:
    if not path.is_file():
        return _missing(path.name)
    return f'<div class="scroll">{_img_tag(path.read_bytes(), alt, "plot")}</div>'


def _img_tag(png: bytes, alt: str, cls: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _confusion(matrix, class_names) -> str:
    """The matrix as a table, each cell shaded by its share of the row (the true class)."""
    if matrix.size == 0:
        return _missing("confusion_matrix")
    e = html.escape
    rows = []
    for i, row in enumerate(matrix):
        total = max(int(row.sum()), 1)
        cells = "".join(
            f'<td class="num{" diag" if i == j else ""}{" dark" if v / total > 0.5 else ""}" '
            f'style="--share:{v / total:.3f}">{v}</td>'
            for j, v in enumerate(row)
        )
        rows.append(f"<tr><th>{e(class_names[i])}</th>{cells}</tr>")
    head = "".join(f'<th class="num">{e(n)}</th>' for n in class_names)
    return (
        '<p class="note">Rows: true class; columns: predicted class.</p>'
        f'<div class="scroll"><table class="confusion"><thead><tr><th>true \\ predicted</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _per_class(matrix, class_names) -> str:
    """Precision, recall, F1 and support per class, from the confusion matrix."""
    if matrix.size == 0:
        return _missing("confusion_matrix")
    count = len(matrix)
    pairs = np.repeat(np.arange(count * count), matrix.ravel())  # one entry per test sample
    y_true, y_pred = pairs // count, pairs % count
    p, r, f = metrics.precision_recall_f1(y_true, y_pred, None, num_classes=count)
    support = matrix.sum(axis=1)
    rows = [
        [name, f"{p[i]:.3f}", f"{r[i]:.3f}", f"{f[i]:.3f}", int(support[i])]
        for i, name in enumerate(class_names)
    ]
    macro = metrics.precision_recall_f1(y_true, y_pred, "macro", num_classes=count)
    rows.append(["macro average", *(f"{v:.3f}" for v in macro), int(support.sum())])
    return _table(["class", "precision", "recall", "F1", "support"], rows)


def _mistakes(path: pathlib.Path, class_names) -> str:
    if not path.is_file():
        return _missing(MISTAKES)
    with np.load(path, allow_pickle=False) as f:
        x, true, predicted = f["x"], f["true"], f["predicted"]
        confidence, index, shape = f["confidence"], f["index"], tuple(f["image_shape"].tolist())
    if len(true) == 0:
        return "<p>No mistakes on the test set.</p>"
    intro = (
        f'<p class="note">The {len(true)} wrong predictions made with the highest '
        "confidence, most confident first.</p>"
    )
    if not shape:
        head = ["test sample", "true", "predicted", "confidence", "features"]
        more = " ..." if x.shape[1] > 12 else ""
        rows = [
            [
                int(index[i]),
                class_names[true[i]],
                class_names[predicted[i]],
                f"{confidence[i]:.3f}",
                " ".join(f"{v:.3g}" for v in x[i][:12]) + more,
            ]
            for i in range(len(true))
        ]
        return intro + _table(head, rows, 9)
    figures = []
    for i in range(len(true)):
        png = _grey_png(x[i].reshape(shape))
        caption = (
            f'<span class="true">true: {html.escape(class_names[true[i]])}</span>'
            f'<span class="pred">predicted: {html.escape(class_names[predicted[i]])} '
            f"({confidence[i]:.2f})</span>"
        )
        alt = f"test sample {index[i]}"
        figures.append(
            f"<figure>{_img_tag(png, alt, 'digit')}<figcaption>{caption}</figcaption></figure>"
        )
    return intro + f'<div class="grid">{"".join(figures)}</div>'


def _grey_png(image: np.ndarray) -> bytes:
    """A greyscale PNG of a 2-D array scaled from its own range, high values dark (ink on
    paper, as ``plot.plot_images`` draws the samples)."""
    low, high = float(image.min()), float(image.max())
    pixels = 255 - np.round((image - low) / ((high - low) or 1) * 255).astype(np.uint8)
    height, width = pixels.shape
    rows = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))  # filter 0 per row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _versions(results) -> str:
    recorded = results.get("versions")
    now = versions()
    rows = [[k, (recorded or {}).get(k, "not recorded"), now[k]] for k in now]
    return _table(["", "at training", "at this report"], rows, 9)


_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --accent: #2f6fdb; --bad: #c43d3d; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { margin: 0 0 4px; font-size: 1.6rem; }
h2 { font-size: 1.15rem; margin: 0 0 12px; }
.where { color: var(--muted); margin: 0 0 16px; word-break: break-all; font-size: .85rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
         margin-bottom: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card div { color: var(--muted); font-size: .8rem; }
.card b { font-size: 1.3rem; overflow-wrap: anywhere; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px;
          margin-bottom: 16px; }
pre { background: #f1f3f6; padding: 10px; border-radius: 6px; overflow-x: auto; font-size: .8rem;
      margin: 0 0 12px; }
pre.command { white-space: pre-wrap; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.confusion td { background: rgb(47 111 219 / calc(var(--share) * 0.85)); }
table.confusion td.diag { font-weight: 600; }
table.confusion td.dark { color: #fff; }
img.plot { max-width: 100%; height: auto; display: block; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); gap: 10px; }
figure { margin: 0; text-align: center; font-size: .75rem; }
img.digit { width: 72px; height: 72px; image-rendering: pixelated; border: 1px solid var(--line); }
figcaption span { display: block; }
.pred { color: var(--bad); }
.note, .missing { color: var(--muted); font-size: .85rem; }
@media (max-width: 600px) {
  main { padding: 12px 8px 32px; }
  section { padding: 12px 10px; }
  th, td { padding: 3px 5px; }
  table.confusion { font-size: .72rem; }
  table.confusion th, table.confusion td { padding: 2px 4px; }
}
"""
