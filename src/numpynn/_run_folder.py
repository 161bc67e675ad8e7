"""A run folder of ``numpynn train``, read for the report with every value checked.

``read_run(run_dir)`` gives ``RunFacts``: the valid entries of ``metrics.json`` and of the
model's metadata, the model summary, the class names, the confusion matrix, the arrays of
``mistakes.npz``, and ``problems``, a sentence for each value that was left out and why
(a hand-edited file, another program's, a damaged archive). Only a folder without a
readable ``metrics.json`` is an error. ``report.write_report`` draws the page from it.
"""

from __future__ import annotations

import json
import math
import pathlib
import zipfile
from typing import NamedTuple

import numpy as np

from numpynn._network_report import is_diagnostics

MISTAKES = "mistakes.npz"
LIST_LIMIT = 1000  # longer lists in metrics.json (classes, features) are refused as damaged
SAMPLE_LIMIT = 10**7  # test samples in a confusion matrix: the per-class scores expand them
MISTAKES_LIMIT = 2**27  # bytes: mistakes.npz holds a few dozen samples, 128 MB is damage


class RunFacts(NamedTuple):
    """What the page shows, each value checked: ``results`` and ``meta`` hold only the
    valid entries of ``metrics.json`` and of the model's metadata; ``problems`` names what
    was left out and why."""

    run: pathlib.Path
    results: dict
    meta: dict
    model: tuple | None  # (rows, totals) of the model summary
    class_names: list
    matrix: np.ndarray | None
    mistakes: dict | None  # the arrays of mistakes.npz
    problems: list


def read_run(run_dir) -> RunFacts:
    """The checked contents of a run folder (see ``RunFacts``)."""
    run = pathlib.Path(run_dir)
    problems: list[str] = []
    results = _checked(_read_metrics(run / "metrics.json"), _RESULTS, "metrics.json", problems)
    meta, model = _model_facts(run / "model.npz", problems)
    matrix = np.asarray(results["confusion_matrix"]) if "confusion_matrix" in results else None
    class_names = results.get("class_names") or meta.get("class_names")
    count = len(matrix) if matrix is not None else len(class_names or [])
    if class_names and matrix is not None and len(class_names) != count:
        problems.append(
            f"{len(class_names)} class names for a confusion matrix of "
            f"{count} classes; the classes are shown by number"
        )
    if not class_names or len(class_names) != count:
        class_names = [str(i) for i in range(count)]
    mistakes = _read_mistakes(run / MISTAKES, count, problems)
    return RunFacts(run, results, meta, model, class_names, matrix, mistakes, problems)


def _read_metrics(path: pathlib.Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(
            f"no metrics.json in {path.parent}: is it a folder from numpynn train?"
        )
    try:
        results = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as error:  # ValueError: bad JSON or bad UTF-8
        raise ValueError(f"{path} is not readable JSON ({error}); rerun numpynn train") from None
    if not isinstance(results, dict):
        raise ValueError(f"{path} holds a JSON {type(results).__name__}, not an object of results")
    return results


def _is_text(v):
    return isinstance(v, str) and len(v) <= 10_000


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_texts(v):
    return isinstance(v, list) and len(v) <= LIST_LIMIT and all(map(_is_text, v))


def _is_matrix(v):
    """A square table of counts, one row per class."""
    return (
        isinstance(v, list)
        and 0 < len(v) <= LIST_LIMIT
        and all(isinstance(row, list) and len(row) == len(v) for row in v)
        and all(_is_count(c) for row in v for c in row)
        and sum(map(sum, v)) <= SAMPLE_LIMIT
    )


def _mapping(check):
    return lambda v: isinstance(v, dict) and len(v) <= LIST_LIMIT and all(map(check, v.values()))


def _is_setting(v):
    return (
        v is None
        or _is_text(v)
        or _is_number(v)
        or isinstance(v, bool)
        or (isinstance(v, list) and len(v) <= 100 and all(_is_text(x) or _is_number(x) for x in v))
    )


# key: (check, what it should be); keys not listed are not shown (history, ...)
_RESULTS = {
    "dataset": (_is_text, "a name"),
    "csv": (_is_text, "a file path"),
    "target": (_is_text, "a column name"),
    "test_accuracy": (lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1"),
    "test_samples": (_is_count, "a whole number"),
    "epochs": (_is_count, "a whole number"),
    "class_names": (_is_texts, f"a list of at most {LIST_LIMIT} names"),
    "feature_names": (_is_texts, f"a list of at most {LIST_LIMIT} names"),
    "confusion_matrix": (
        _is_matrix,
        f"a square table of counts, at most {LIST_LIMIT} classes and {SAMPLE_LIMIT:,} samples",
    ),
    "command": (_is_text, "the command as text"),
    "settings": (_mapping(_is_setting), "an object of settings (text, numbers, short lists)"),
    "split": (_mapping(_is_count), "an object of sample counts"),
    "timings": (_mapping(lambda v: _is_number(v) and v >= 0), "an object of seconds"),
    "versions": (_mapping(_is_text), "an object of version texts"),
    "diagnostics": (
        is_diagnostics,
        "the layer statistics and diagnoses of nn.callbacks.Diagnostics",
    ),
}
_META = {key: _RESULTS[key] for key in ("dataset", "csv", "target", "class_names")}
_META["columns"] = _RESULTS["feature_names"]  # the CSV columns the model reads, in order


def _checked(values: dict, schema: dict, source: str, problems: list) -> dict:
    """The entries of ``values`` that ``schema`` knows and that pass its check; each one
    that fails is named in ``problems``."""
    kept = {}
    for key, (check, what) in schema.items():
        if values.get(key) is None:  # absent, or null: not recorded
            continue
        if check(values[key]):
            kept[key] = values[key]
        else:
            problems.append(f"{source}: {key!r} should be {what}; it holds {_glimpse(values[key])}")
    return kept


def _glimpse(value) -> str:
    """A short description of a JSON value, for a problem's message."""
    if isinstance(value, (list, dict)):
        kind = "a list" if isinstance(value, list) else "an object"
        return f"{kind} of {len(value):,} {'entry' if len(value) == 1 else 'entries'}"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_facts(path: pathlib.Path, problems: list):
    """(checked metadata, (summary rows, totals)) of the saved model, or ({}, None)."""
    if not path.is_file():
        return {}, None
    from numpynn.io import load_model
    from numpynn.summary import shape_text, summary_text

    try:
        model = load_model(path, compile=False)
        rows = [
            (name, shape_text(shape), f"{n:,}", inbound)
            for name, shape, n, inbound in model.summary_rows()
        ]
        totals = [line for line in summary_text(model).splitlines() if " params: " in line]
    except (OSError, ValueError) as error:  # ModelFileError is a ValueError
        problems.append(f"model.npz could not be read: {error}")
        return {}, None
    meta = model.metadata if isinstance(model.metadata, dict) else {}
    return _checked(meta, _META, "model.npz metadata", problems), (rows, totals)


_MISTAKE_ARRAYS = ("x", "true", "predicted", "confidence", "index", "image_shape")
_CLASSES = ("true", "predicted", "sample_true", "sample_predicted")  # the arrays of class numbers


def _read_mistakes(path: pathlib.Path, classes: int, problems: list) -> dict | None:
    """The checked arrays of ``mistakes.npz``; None without it or when it is damaged (named
    in ``problems``)."""
    if not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:  # the sizes it declares bound what it unpacks
            size = sum(member.file_size for member in archive.infolist())
        if size > MISTAKES_LIMIT:
            raise ValueError(f"it unpacks to {size:,} bytes, more than the {MISTAKES_LIMIT:,} read")
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        problems.append(f"{MISTAKES} could not be read: {error}")
        return None
    error = _mistakes_error(arrays, classes)
    if error:
        problems.append(f"{MISTAKES}: {error}; the mistakes are not shown")
        return None
    return arrays


def _mistakes_error(a: dict, classes: int) -> str:
    """What is wrong with the arrays of ``mistakes.npz``, or ''."""
    missing = [key for key in _MISTAKE_ARRAYS if key not in a]
    if missing:
        return "no " + ", ".join(missing)
    shape = a["image_shape"]
    if shape.size not in (0, 2) or shape.dtype.kind not in "iu" or (shape <= 0).any():
        return f"image_shape should be (height, width) or empty, not {shape.tolist()}"
    groups = [("x", ("true", "predicted", "confidence", "index"))]
    if "sample_x" in a:
        groups.append(("sample_x", ("sample_true", "sample_predicted")))
    for images, labels in groups:
        x = a[images]
        if x.ndim != 2 or x.dtype.kind not in "fiu" or not np.isfinite(x).all():
            return f"{images} should be (samples, features) finite numbers, not {x.dtype} {x.shape}"
        if shape.size and int(np.prod(shape)) != x.shape[1]:
            return f"image_shape {shape.tolist()} does not fit {x.shape[1]} values per sample"
        for key in labels:
            kinds = "fiu" if key == "confidence" else "iu"
            if key not in a or a[key].shape != (len(x),) or a[key].dtype.kind not in kinds:
                return f"{key} should hold one number per row of {images}"
            if key in _CLASSES and len(x) and not 0 <= a[key].min() <= a[key].max() < classes:
                return f"{key} holds classes outside 0..{classes - 1}"
    return ""
