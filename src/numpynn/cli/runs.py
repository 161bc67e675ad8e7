"""The run folder of ``numpynn train``: made uniquely, then filled with the model, its metrics,
the worst mistakes, the plots and ``report.html``."""

from __future__ import annotations

import datetime
import itertools
import json
import pathlib
import sys

import numpy as np

from numpynn import metrics, plot, report
from numpynn._files import atomic_write


def run_folder(out=None, started: datetime.datetime | None = None) -> pathlib.Path:
    """``out`` (made if needed), or a new ``runs/<date>-<time>`` folder, with ``-2``, ``-3``
    ... appended when that exists: made by an exclusive mkdir, so two runs started in the
    same second never share one. Returns the absolute path."""
    if out is not None:
        out = pathlib.Path(out)
        if out.exists() and not out.is_dir():
            raise FileExistsError(f"--out {out}: a file of that name exists; give a folder")
        out.mkdir(parents=True, exist_ok=True)
        return out.resolve()
    base = pathlib.Path("runs") / (started or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base.parent.mkdir(parents=True, exist_ok=True)
    for attempt in itertools.count(1):
        folder = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder.resolve()


def write_run(out, model, argv, run: dict, split, probabilities) -> list[str]:
    """model.npz, metrics.json, mistakes.npz, the plots (none without matplotlib) and
    report.html in ``out``; ``run`` holds the settings, history, split sizes and timings.
    Returns the names written."""
    model.save(out / "model.npz")
    predicted = probabilities.argmax(axis=1)
    accuracy = float(np.mean(predicted == split.y_test))
    matrix = metrics.confusion_matrix(split.y_test, predicted, len(split.class_names))
    results = {
        "dataset": run["settings"]["source"],
        "class_names": list(split.class_names),
        "test_accuracy": accuracy,
        "test_samples": len(split.y_test),
        "epochs": run["settings"]["epochs"],
        "history": run["history"].history,
        "confusion_matrix": matrix.tolist(),
        "precision_recall_f1_macro": metrics.precision_recall_f1(split.y_test, predicted, "macro"),
        "diagnostics": run["history"].diagnostics,  # None with --no-diagnostics
        **report.run_details(argv, run["settings"], run["split"], run["timings"]),
        **_data_file(model.metadata or {}),
    }
    if run.get("lr_find") is not None:
        results["lr_find"] = run["lr_find"].as_dict()
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(results, f, indent=2)
    drawn = accuracy < 1 or bool(split.image_shape)  # mistakes, or the grid of test images
    if drawn:
        report.save_mistakes(out, split.x_test, split.y_test, probabilities, split.image_shape)
    name = pathlib.Path(results["csv"]).name if "csv" in results else results["dataset"]
    try:
        plots = _write_plots(out, name, run["history"], split, matrix, predicted)
        if run.get("lr_find") is not None:
            plots.append(pathlib.Path(run["lr_find"].plot(out / "lr_find.png")).name)
    except ImportError as error:
        print(f"numpynn train: no plots ({error})", file=sys.stderr)
        plots = []
    report.write_report(out)
    mistakes = ["mistakes.npz"] if drawn else []
    return ["model.npz", "metrics.json", *mistakes, *plots, "report.html"]


def _data_file(meta: dict) -> dict:
    """For a CSV run, what the report names: the file, its target and its feature columns."""
    keys = {"csv": "csv", "target": "target", "feature_names": "columns"}
    return {key: meta[name] for key, name in keys.items() if meta.get(name) is not None}


def _write_plots(out, source, history, split, matrix, predicted) -> list[str]:
    accuracy = np.mean(predicted == split.y_test)
    title = f"{source}: test accuracy {accuracy:.4f} on {len(split.y_test):,} samples"
    plot.plot_history(history, out / "history.png", title=f"{source}: training")
    plot.plot_confusion_matrix(matrix, out / "confusion.png", split.class_names, title=title)
    if split.image_shape is None:
        return ["history.png", "confusion.png"]
    images = split.x_test[:32].reshape(-1, *split.image_shape)
    plot.plot_images(
        images,
        out / "samples.png",
        split.y_test[:32],
        predicted[:32],
        split.class_names,
        title=f"{source}: the model's predictions for the first {len(images)} test samples",
    )
    return ["history.png", "confusion.png", "samples.png"]
