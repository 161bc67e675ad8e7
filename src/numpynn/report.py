"""The HTML report of a training run: one self-contained page from a run folder's files.

``numpynn train`` writes ``model.npz``, ``metrics.json`` and the PNG plots to a run folder;
``write_report(run_dir)`` turns them into ``report.html`` beside them: the command and
settings, the data and its split, the model summary, the curves, the confusion matrix, the
per-class scores, the worst mistakes, timings and versions. Images are inline (base64
``data:`` URIs), there is no script and nothing is fetched, so the file can be mailed,
archived or opened offline. Every piece of text is escaped, attributes too.

Every value read from the folder is checked before it is shown: a missing one makes its
section say it was not recorded, a wrong one (hand-edited, another program's file) is left
out and named in a "Problems" box at the top. Only a folder without a readable
``metrics.json`` is an error.

Two helpers give the training command what the page needs beyond today's files:
``run_details(...)`` (a dict to merge into ``metrics.json``) and ``save_mistakes(...)``
(``mistakes.npz``: the most confident wrong predictions, and the first test images with
their predictions). The CSV file, its target and feature columns are read from
``metrics.json`` (``"csv"``, ``"target"``, ``"feature_names"``) or else from the model's
metadata (``"csv"``, ``"target"``, ``"columns"``).

The page is a list of sections, each ``_section(title, body)``; a new one is one more line
in ``_sections``.

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
import math
import pathlib
import platform
import shlex
import struct
import zlib

import numpy as np

from numpynn import metrics
from numpynn._files import atomic_write
from numpynn._network_report import CSS as NETWORK_CSS
from numpynn._network_report import inside_the_network
from numpynn._run_folder import MISTAKES, RunFacts, read_run

REPORT = "report.html"
TABLE_CLASSES = 50  # the confusion table is drawn up to this many classes
FEATURES_SHOWN = 40  # feature columns in the table of worst mistakes


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
        "timings": {name: round(float(s), 6) for name, s in timings.items()},
        "versions": versions(),
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def save_mistakes(
    run_dir, x, y_true, probabilities, image_shape=None, count: int = 24, samples: int = 32
):
    """Write ``mistakes.npz``: the ``count`` wrong predictions made with the highest
    confidence, with their inputs, true and predicted classes and that confidence; for
    images also the first ``samples`` test samples and their predictions, which the report
    draws as its grid of test samples. A run without mistakes writes an empty set.

    Args:
        run_dir: the run folder.
        x: the test inputs, (N, ...).
        y_true: their classes, (N,) integers.
        probabilities: the model's outputs, (N, C).
        image_shape: (H, W) when the inputs are images, to draw them.
        count: how many mistakes to keep.
        samples: how many test images to keep for the grid.
    """
    x = np.asarray(x)
    x = x.reshape(len(x), int(np.prod(x.shape[1:]))).astype(np.float32)  # (N, features)
    y_true = np.asarray(y_true).astype(np.int64)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    first = np.arange(min(samples, len(x)) if image_shape else 0)
    path = pathlib.Path(run_dir) / MISTAKES
    with atomic_write(path) as f:
        np.savez(
            f,
            x=x[worst],
            true=y_true[worst],
            predicted=predicted[worst].astype(np.int64),
            confidence=confidence[worst].astype(np.float32),
            index=worst.astype(np.int64),
            image_shape=np.asarray(image_shape or [], dtype=np.int64),
            sample_x=x[first],
            sample_true=y_true[first],
            sample_predicted=predicted[first].astype(np.int64),
        )
    return path


# --- the page ---------------------------------------------------------------------------------


def write_report(run_dir) -> pathlib.Path:
    """Build ``report.html`` in ``run_dir`` from its files and return its path.

    ``metrics.json`` is required (a missing or unreadable one raises ``FileNotFoundError``
    or ``ValueError`` naming it); ``model.npz``, the PNGs and ``mistakes.npz`` are shown
    when present. Values of the wrong kind are named on the page, not raised.
    """
    facts = read_run(run_dir)
    path = facts.run / REPORT
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(_page(facts))
    return path


# --- the page ----------------------------------------------------------------------------------


def _page(facts: RunFacts) -> str:
    e = html.escape
    dataset = _dataset_name(facts)
    accuracy = facts.results.get("test_accuracy")
    shown = "?" if accuracy is None else f"{accuracy:.4f}"
    train_time = (facts.results.get("timings") or {}).get("train")
    cards = [
        ("Test accuracy", f'<span id="test-accuracy">{e(shown)}</span>'),
        ("Data set", e(dataset)),
        ("Epochs", e(str(facts.results.get("epochs", "?")))),
        ("Training time", e(_duration(train_time)) if train_time is not None else "?"),
    ]
    title = f"numpynn report: {dataset}, test accuracy {shown}"
    card_html = "".join(f'<div class="card"><div>{k}</div><b>{v}</b></div>' for k, v in cards)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{e(title)}</title>\n<style>{_CSS}{NETWORK_CSS}</style></head>\n<body><main>\n"
        f'<h1>numpynn run report</h1>\n<p class="where">{e(str(facts.run.resolve()))}</p>\n'
        f'<div class="cards">{card_html}</div>\n'
        + "\n".join(_sections(facts))
        + "\n</main></body></html>\n"
    )


def _sections(facts: RunFacts) -> list[str]:
    """The page's sections, in order; a section without content is left out."""
    run = facts.run
    diagnostics = facts.results.get("diagnostics")
    network = _section("Inside the network", inside_the_network(diagnostics))
    first = bool(diagnostics and diagnostics["diagnoses"])  # the diagnoses at the top
    sections = [
        network if first else "",
        _section("Command and settings", _command(facts.results)),
        _section("Data", _data(facts)),
        _section("Model", _model(facts.model)),
        _section("Training curves", _image(run / "history.png", "training curves", facts)),
        "" if first else network,
        _section("Confusion matrix", _confusion(facts.matrix, facts.class_names)),
        _section("Per-class report", _per_class(facts.matrix, facts.class_names)),
        _section("Worst mistakes", _mistakes(facts)),
        _section("Test samples", _samples(facts)),
        _section("Timings", _timings(facts.results.get("timings"))),
        _section("Versions", _versions(facts.results)),
    ]
    problems = _section("Problems with this run's files", _problems(facts.problems))
    return [s for s in [problems, *sections] if s]  # problems found while drawing come first


def _section(title: str, body: str) -> str:
    """A section of the page with a heading and an anchor; '' when ``body`` is ''."""
    if not body:
        return ""
    anchor = "-".join(title.lower().replace("'", "").split())
    return f'<section id="{html.escape(anchor)}"><h2>{html.escape(title)}</h2>\n{body}</section>'


def _missing(what: str) -> str:
    return f'<p class="missing">Not recorded in this run ({html.escape(what)}).</p>'


def _problems(problems: list) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in problems)
    return (
        '<div class="problems"><p>Some of the run\'s files hold values the report cannot use; '
        f"what they would show is left out:</p><ul>{items}</ul></div>"
    )


def _table(head, rows, numeric_from: int = 1) -> str:
    """An HTML table of text cells (escaped); columns from ``numeric_from`` align right."""
    e = html.escape
    align = [' class="num"' if i >= numeric_from else "" for i in range(len(head))]
    top = "".join(f"<th{c}>{e(str(h))}</th>" for h, c in zip(head, align))
    body = "".join(
        "<tr>" + "".join(f"<td{c}>{e(str(v))}</td>" for v, c in zip(row, align)) + "</tr>"
        for row in rows
    )
    table = f"<table><thead><tr>{top}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _duration(seconds: float) -> str:
    """48 ms, 3.2 s, 2 min 5 s."""
    if seconds < 0.001:
        return "under 1 ms"
    if seconds < 0.9995:  # what rounds to 1000 ms is 1.0 s
        return f"{seconds * 1000:.0f} ms"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _dataset_name(facts: RunFacts) -> str:
    """The data set's name; for a CSV run, the file's name."""
    csv = _csv_path(facts)
    dataset = facts.results.get("dataset") or facts.meta.get("dataset")
    if csv and dataset in (None, "csv"):
        return pathlib.PurePath(csv).name or csv
    return dataset or "?"


def _csv_path(facts: RunFacts):
    settings = facts.results.get("settings") or {}
    csv = facts.results.get("csv") or settings.get("csv") or facts.meta.get("csv")
    return csv if isinstance(csv, str) else None


def _command(results) -> str:
    settings, command = results.get("settings"), results.get("command")
    if not settings and not command:
        return _missing("command and settings")
    out = f'<pre class="command">{html.escape(command)}</pre>' if command else ""
    if settings:
        out += _table(["setting", "value"], [[k, _text(v)] for k, v in settings.items()], 9)
    return out


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _data(facts: RunFacts) -> str:
    e = html.escape
    results, names = facts.results, facts.class_names
    split = results.get("split") or {}
    if not split and "test_samples" in results:
        split = {"test": results["test_samples"]}
    out = f"<p>Data set: <b>{e(_dataset_name(facts))}</b></p>"
    csv, target = _csv_path(facts), results.get("target") or facts.meta.get("target")
    if csv:
        out += f'<p>File: <span class="path">{e(csv)}</span></p>'
    if target:
        out += f"<p>Classes from the column <b>{e(target)}</b></p>"
    features = _feature_names(facts)
    if features:
        out += f"<p>{len(features)} features: {e(', '.join(features))}</p>"
    out += f"<p>{len(names)} classes: {e(', '.join(names))}</p>"
    rows = [[part, f"{count:,}"] for part, count in split.items()]
    return out + (_table(["part", "samples"], rows) if rows else _missing("split"))


def _feature_names(facts: RunFacts):
    return facts.results.get("feature_names") or facts.meta.get("columns")


def _model(model) -> str:
    if model is None:
        return _missing("model.npz")
    rows, totals = model
    connected = any(row[3] for row in rows)
    head = ["layer (type)", "output shape", "parameters"] + (["connected to"] if connected else [])
    table = _table(head, [row[: len(head)] for row in rows], 2)
    return table + f'<p class="note">{"<br>".join(map(html.escape, totals))}</p>'


def _image(path: pathlib.Path, alt: str, facts: RunFacts) -> str:
    if not path.is_file():
        return _missing(path.name)
    png = path.read_bytes()
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        facts.problems.append(f"{path.name} is not a PNG image; it is not shown")
        return _missing(path.name)
    return _img_tag(png, alt, "plot")


def _img_tag(png: bytes, alt: str, cls: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


# confusion cells: a light tint up to half the row, a dark one above it, never the middle
# tones on which neither dark nor white text reaches 4.5:1 contrast (WCAG AA)
_SHADE = (26, 79, 168)  # the dark end, #1a4fa8: 7.7:1 against white text


def _shade(share: float) -> tuple[str, bool]:
    """The background colour of a confusion cell holding ``share`` of its row, and whether
    its text is white (on the dark tints) rather than ink."""
    dark = share > 0.5
    if dark:
        strength = 0.85 + 0.3 * (share - 0.5)  # 0.85..1
    else:  # 0 for an empty cell, else at least a visible tint: 0.08..0.3
        strength = 0.08 + 0.44 * share if share > 0 else 0.0
    rgb = [round(255 + (c - 255) * strength) for c in _SHADE]
    return "#{:02x}{:02x}{:02x}".format(*rgb), dark


def _confusion(matrix, class_names) -> str:
    """The matrix as a table, each cell shaded by its share of the row (the true class)."""
    if matrix is None:
        return _missing("confusion_matrix")
    if len(matrix) > TABLE_CLASSES:
        return f'<p class="note">{len(matrix)} classes: too many to draw as a table.</p>'
    e = html.escape
    rows = []
    for i, row in enumerate(matrix):
        total = max(int(row.sum()), 1)
        cells = []
        for j, v in enumerate(row):
            background, dark = _shade(v / total)
            cls = "num" + (" diag" if i == j else "") + (" dark" if dark else "")
            cells.append(f'<td class="{cls}" style="background:{background}">{v}</td>')
        rows.append(f"<tr><th>{e(class_names[i])}</th>{''.join(cells)}</tr>")
    head = "".join(f'<th class="num">{e(n)}</th>' for n in class_names)
    return (
        '<p class="note">Rows: true class; columns: predicted class.</p>'
        f'<div class="scroll"><table class="confusion"><thead><tr><th>true \\ predicted</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _per_class(matrix, class_names) -> str:
    """Precision, recall, F1 and support per class, from the confusion matrix."""
    if matrix is None:
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


def _mistakes(facts: RunFacts) -> str:
    a, names = facts.mistakes, facts.class_names
    if a is None:
        return _missing(MISTAKES)
    x, true, predicted, confidence = a["x"], a["true"], a["predicted"], a["confidence"]
    if len(true) == 0:
        return "<p>No mistakes on the test set.</p>"
    intro = (
        f'<p class="note">The {len(true)} wrong predictions made with the highest '
        "confidence, most confident first.</p>"
    )
    if a["image_shape"].size:
        captions = [
            f'<span>true: {html.escape(names[t])}</span><span class="wrong">predicted: '
            f"{html.escape(names[p])} ({c:.2f})</span>"
            for t, p, c in zip(true, predicted, confidence)
        ]
        alts = [f"test sample {i}" for i in a["index"]]
        return intro + _thumbnails(x, a["image_shape"], captions, alts)
    features = _feature_names(facts)
    if not features or len(features) != x.shape[1]:
        features = [f"feature {i + 1}" for i in range(x.shape[1])]
    shown = features[:FEATURES_SHOWN]
    head = ["test sample", "true", "predicted", "confidence", *shown]
    rows = [
        [int(a["index"][i]), names[true[i]], names[predicted[i]], f"{confidence[i]:.3f}"]
        + [f"{v:.4g}" for v in x[i][: len(shown)]]
        for i in range(len(true))
    ]
    more = len(features) - len(shown)
    note = (
        f'<p class="note">The first {len(shown)} of {len(features)} features.</p>' if more else ""
    )
    return intro + _table(head, rows, 3) + note


def _samples(facts: RunFacts) -> str:
    """The first test images with the model's predictions: drawn from mistakes.npz as the
    mistakes are, else the PNG of ``numpynn train``; '' for data that are not images."""
    a, names = facts.mistakes, facts.class_names
    if a is None or not a["image_shape"].size or not len(a.get("sample_x", ())):
        path = facts.run / "samples.png"
        return _image(path, "test samples", facts) if path.is_file() else ""
    captions = [
        f"<span>{html.escape(names[p])}</span>"
        if p == t
        else f'<span class="wrong">{html.escape(names[p])}</span>'
        f'<span class="wrong">(true: {html.escape(names[t])})</span>'
        for t, p in zip(a["sample_true"], a["sample_predicted"])
    ]
    alts = [f"test sample {i}" for i in range(len(captions))]
    intro = (
        f'<p class="note">The first {len(captions)} test samples, each with the predicted '
        "class; in red a mistake, with the true class.</p>"
    )
    return intro + _thumbnails(a["sample_x"], a["image_shape"], captions, alts)


def _thumbnails(x, shape, captions, alts) -> str:
    """Images drawn as the data is, high values light, on one grey scale for the set (as
    ``plot.plot_images`` draws them), each over its caption."""
    low, high = float(x.min()), float(x.max())
    figures = [
        f"<figure>{_img_tag(_grey_png(image.reshape(shape.tolist()), low, high), alt, 'thumb')}"
        f"<figcaption>{caption}</figcaption></figure>"
        for image, caption, alt in zip(x, captions, alts)
    ]
    return f'<div class="grid">{"".join(figures)}</div>'


def _grey_png(image: np.ndarray, low: float, high: float) -> bytes:
    """A greyscale PNG of a 2-D array, ``low`` black and ``high`` white."""
    scaled = np.clip((image - low) / ((high - low) or 1), 0, 1)
    pixels = np.round(scaled * 255).astype(np.uint8)
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


def _timings(timings) -> str:
    if not timings:
        return _missing("timings")
    rows = [[phase, _duration(seconds)] for phase, seconds in timings.items()]
    if len(rows) > 1:
        rows.append(["total", _duration(sum(timings.values()))])
    return _table(["phase", "time"], rows)


def _versions(results) -> str:
    recorded = results.get("versions") or {}
    now = versions()
    rows = [[k, recorded.get(k, "not recorded"), now[k]] for k in now]
    return _table(["", "at training", "at this report"], rows, 9)


# ink #1d2330 and muted #5b6475 keep at least 4.5:1 on every background here (test_report checks)
_CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #f6f7f9; }
main { max-width: 980px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { margin: 0 0 4px; font-size: 1.6rem; }
h2 { font-size: 1.15rem; margin: 0 0 12px; }
h1, h2, p, li, figcaption, .card b { overflow-wrap: anywhere; }
.where { color: var(--muted); margin: 0 0 16px; font-size: .85rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
         margin-bottom: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card div { color: var(--muted); font-size: .8rem; }
.card b { font-size: 1.3rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px;
          margin-bottom: 16px; }
.problems { border-left: 4px solid var(--bad); padding-left: 12px; }
pre { background: #f1f3f6; padding: 10px; border-radius: 6px; font-size: .8rem; margin: 0 0 12px;
      white-space: pre-wrap; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; margin-bottom: 8px; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.confusion td.diag { font-weight: 600; }
table.confusion td.dark { color: #fff; }
img.plot { max-width: 100%; height: auto; display: block; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); gap: 10px; }
figure { margin: 0; text-align: center; font-size: .8rem; }
img.thumb { width: 72px; height: 72px; image-rendering: pixelated; background: #000; }
figcaption span { display: block; }
.wrong { color: var(--bad); }
.note, .missing { color: var(--muted); font-size: .85rem; }
@media (max-width: 600px) {
  main { padding: 12px 8px 32px; }
  section { padding: 12px 10px; }
  th, td { padding: 3px 5px; }
  .grid { grid-template-columns: repeat(auto-fill, minmax(80px, 1fr)); }
  table.confusion { font-size: .75rem; }
  table.confusion th, table.confusion td { padding: 2px 4px; }
}
"""
