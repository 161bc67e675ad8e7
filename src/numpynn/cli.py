"""The ``numpynn`` command line (also ``python -m numpynn``).

    numpynn train                       # an MLP on the bundled 8x8 digits, in seconds
    numpynn train --dataset fashion-mnist --hidden 256,128 --epochs 5
    numpynn train --csv data.csv --target label
    numpynn train --model cnn                     # a small CNN on the digits
    numpynn evaluate runs/<time>/model.npz
    numpynn predict runs/<time>/model.npz digit.png     # or a .npy or .csv of samples
    numpynn summary runs/<time>/model.npz

``train`` writes ``model.npz``, ``metrics.json``, ``history.png`` and ``confusion.png``
(and ``samples.png`` for images) to ``--out`` (default: a new folder ``runs/<date>-<time>``).
Exit codes: 0 success; 2 a usage error, printed under the command's usage line; 1 a
failure while running (a missing or malformed file, data not available), printed as one
message, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import itertools
import json
import math
import os
import pathlib
import shlex
import sys
import time
from typing import NamedTuple

import numpy as np

import numpynn
from numpynn import data, distributed, metrics, names, plot, report
from numpynn._config import manual_seed
from numpynn._files import atomic_write
from numpynn._threads import set_num_threads
from numpynn.io import ModelFileError, load_model
from numpynn.layers import Conv2D, Dense, Flatten, MaxPooling2D, Normalization, Reshape
from numpynn.layers.recurrent import KerasLSTM
from numpynn.sequential import Sequential

DATASETS = ("digits", "iris", "mnist", "fashion-mnist")
# Settings that reach the accuracy in the README in a short run; every one can be overridden.
DEFAULTS = {
    "digits": {"hidden": (128, 64), "epochs": 30, "batch_size": 32, "lr": 1e-3},
    "iris": {"hidden": (16,), "epochs": 150, "batch_size": 16, "lr": 1e-2},
    "mnist": {"hidden": (256, 128), "epochs": 5, "batch_size": 128, "lr": 1e-3},
    "fashion-mnist": {"hidden": (256, 128), "epochs": 5, "batch_size": 128, "lr": 1e-3},
    "csv": {"hidden": (64,), "epochs": 50, "batch_size": 32, "lr": 1e-3},
}
CNN_HIDDEN = (128,)
LSTM_UNITS = (128,)
IMAGE_MODELS = ("cnn", "lstm")
TEST_SIZE = 0.25  # the held-out share of the bundled and CSV datasets
MAX_UNITS = 65_536  # per hidden layer
MAX_WEIGHTS = 50_000_000  # in the dense layers: 200 MB of float32, about 800 MB with Adam
FLOAT32_MAX = float(np.finfo(np.float32).max)
# train standardises each feature, and float32 holds the variance only of values below ~1.8e19
FEATURE_LIMIT = 1e18
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class UsageError(Exception):
    """A command line that cannot work: exit code 2."""


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    image_shape: list | None


# --- option values (argparse turns an ArgumentTypeError into a usage error, exit 2) -------------


def _whole_number(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text}")
        return value

    return parse


def _real_number(valid, expected: str):
    def parse(text: str) -> float:
        value = _number(text)
        if value is None or not valid(value):  # NaN fails every comparison
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    return parse


_learning_rate = _real_number(lambda v: 0 < v < math.inf, "a number > 0 such as 0.001")
_fraction = _real_number(lambda v: 0 <= v < 1, "a fraction in [0, 1) such as 0.1")


def _hidden_sizes(text: str) -> tuple[int, ...]:
    parts = text.split(",")
    if not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(
            f"expected layer sizes separated by commas, such as 256,128; got {text!r}"
        )
    sizes = tuple(int(part) for part in parts)
    if not all(1 <= size <= MAX_UNITS for size in sizes):
        raise argparse.ArgumentTypeError(
            f"each layer size must lie between 1 and {MAX_UNITS:,}; got {text}"
        )
    return sizes


# --- reading files ------------------------------------------------------------------------------


def _existing_file(path, what: str) -> pathlib.Path:
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file (a folder or a device)")
    return path


def _csv_rows(path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row of a UTF-8 CSV file; a byte-order mark
    (as spreadsheets write one) is skipped."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            return [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}); save the file as UTF-8 (a spreadsheet's 'CSV UTF-8')"
        ) from None
    except csv.Error as error:
        raise ValueError(f"{path}: not a readable CSV file ({error})") from None


def _cell(path, line: int, column: str, text: str, limit: float = FLOAT32_MAX) -> float:
    """A CSV cell as a finite number of size at most ``limit``, or an error naming where."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}: {column} holds {text!r}, not a number; "
            "numpynn needs numeric features"
        ) from None
    if not (math.isfinite(value) and abs(value) <= limit):
        raise ValueError(
            f"{path}, line {line}: {column} holds {text.strip()!r}; the values must be finite "
            f"numbers of size at most {limit:.2g}"
        )
    return value


def _csv_header(path, header: list[str], target: str) -> list[str]:
    header = [name.strip() for name in header]
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}: column {i + 1} of the header has no name")
        if name in header[:i]:
            raise ValueError(
                f"{path}: the header names {name!r} twice (columns {header.index(name) + 1} "
                f"and {i + 1}); give every column its own name"
            )
    if target not in header:
        raise UsageError(f"{path}: no column {target!r}; the columns are {', '.join(header)}")
    return header


def _csv_classes(path, rows, column: int, target: str) -> tuple[list[str], np.ndarray]:
    labels = [row[column].strip() for _, row in rows]
    for (line, _), label in zip(rows, labels):
        if label.lower() in ("", "nan"):
            raise ValueError(f"{path}, line {line}: no value in column {target!r}")
    class_names = sorted(set(labels), key=lambda v: (_number(v) is None, _number(v) or 0, v))
    if len(class_names) < 2:
        raise ValueError(
            f"{path}: column {target!r} holds one class ({class_names[0]!r}); "
            "a classifier needs examples of at least two"
        )
    counts = {name: 0 for name in class_names}
    for label in labels:
        counts[label] += 1
    single = [name for name, count in counts.items() if count < 2]
    if single:
        raise ValueError(
            f"{path}: column {target!r} holds {len(class_names)} distinct values, "
            f"{len(single)} of them only once (e.g. {single[0]!r}); numpynn train classifies, "
            "so every class needs at least two examples (a continuous target needs a "
            "regression model, which the command line does not train)"
        )
    index = {name: i for i, name in enumerate(class_names)}
    return class_names, np.array([index[v] for v in labels], dtype=np.int64)


def read_csv(path, target: str):
    """Numeric features and integer classes from a CSV file with a header row."""
    path = _existing_file(path, "CSV file")
    rows = _csv_rows(path)
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row")
    header = _csv_header(path, rows[0][1], target)
    column = header.index(target)
    features = [i for i in range(len(header)) if i != column]
    x = np.empty((len(rows) - 1, len(features)), dtype=np.float32)
    for r, (line, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(row)} fields, the header has {len(header)}"
            )
        x[r] = [_cell(path, line, f"column {header[i]!r}", row[i], FEATURE_LIMIT) for i in features]
    class_names, y = _csv_classes(path, rows[1:], column, target)
    return x, y, class_names


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _read_sample_rows(path) -> np.ndarray:
    """Samples from a CSV of numbers, one per row; a first row that is not numbers is a header."""
    rows = _csv_rows(path)
    if rows and _number(rows[0][1][0]) is None:
        rows = rows[1:]
    if not rows:
        raise ValueError(f"{path}: holds no samples")
    width = len(rows[0][1])
    x = np.empty((len(rows), width), dtype=np.float32)
    for r, (line, row) in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: {len(row)} values, the first row has {width}")
        x[r] = [_cell(path, line, f"column {i + 1}", cell) for i, cell in enumerate(row)]
    return x


def _read_npy(path) -> np.ndarray:
    """A numeric .npy array as float32, mapped first so that a header claiming more data
    than the file holds is refused before anything is allocated."""
    try:
        stored = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = "it holds Python objects" if "allow_pickle" in str(error) else error
        raise ValueError(f"{path}: not a readable .npy array of numbers ({reason})") from None
    if not isinstance(stored, np.ndarray):
        stored.close()  # an .npz archive named .npy
        raise ValueError(f"{path}: an .npz archive, not a .npy array")
    if stored.dtype.kind not in "biuf":
        raise ValueError(f"{path}: holds values of type {stored.dtype}; expected numbers")
    if stored.ndim == 0:
        raise ValueError(f"{path}: holds a single number (a 0-d array); expected samples")
    with np.errstate(over="ignore"):  # too large for float32: inf, refused below
        x = np.array(stored, dtype=np.float32)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        where = ", ".join(map(str, bad[0]))
        raise ValueError(f"{path}: the value at [{where}] is not a finite float32 number")
    return x


def read_inputs(path, image_shape, features: int) -> np.ndarray:
    """Samples for ``predict`` from a .npy, a .csv (numbers, optional header) or an image."""
    path = _existing_file(path, "input file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = _read_npy(path)
    elif suffix == ".csv":
        x = _read_sample_rows(path)
    elif suffix in IMAGE_SUFFIXES:
        if image_shape is None:
            raise UsageError("this model was not trained on images; give a .npy or .csv")
        x = read_image(path, image_shape)[None]
    else:
        raise UsageError(f"{path}: expected a .npy, .csv or {'/'.join(IMAGE_SUFFIXES)} file")
    if x.ndim == 1 or (image_shape and x.shape == tuple(image_shape)):
        x = x[None]  # one sample
    if len(x) == 0:
        raise ValueError(f"{path}: holds no samples")
    x = x.reshape(len(x), -1)
    if x.shape[1] != features:
        raise ValueError(
            f"{path}: the model expects {features} values per sample, got {x.shape[1]}"
        )
    return x


def read_image(path, shape) -> np.ndarray:
    """A grey image resized to ``shape``, in [0, 1], light digit on dark ground (as the
    training images); a dark-on-light picture is inverted."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError('reading images needs Pillow: pip install "numpynn[plot]"') from None
    try:
        with Image.open(path) as image:
            grey = image.convert("L").resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
    except (OSError, Image.DecompressionBombError) as error:  # OSError: unreadable, truncated
        raise ValueError(f"{path}: not a readable image ({error})") from None
    x = np.asarray(grey, dtype=np.float32) / 255
    return 1 - x if x.mean() > 0.5 else x


def load_split(source: str, seed: int, csv_path=None, target=None, data_root=None) -> Split:
    """The training and test parts of a dataset, with its class names and image shape."""
    if source in ("mnist", "fashion-mnist"):
        loader = data.load_mnist if source == "mnist" else data.load_fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader(root=data_root)
        names_ = data.MNIST_CLASSES if source == "mnist" else data.FASHION_MNIST_CLASSES
        return Split(x_train, y_train, x_test, y_test, names_, [28, 28])
    if source == "csv":
        x, y, names_ = read_csv(csv_path, target)
    else:
        x, y, names_ = data.load_digits() if source == "digits" else data.load_iris()
    x_train, x_test, y_train, y_test = data.train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, seed=seed
    )
    return Split(x_train, y_train, x_test, y_test, names_, [8, 8] if source == "digits" else None)


# --- saved models -------------------------------------------------------------------------------


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


# what `train` writes into a model's metadata: key -> (what is expected, the check)
METADATA = {
    "dataset": ("one of " + ", ".join((*DATASETS, "csv")), lambda v: v in (*DATASETS, "csv")),
    "class_names": (
        "a list of names",
        lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(n, str) for n in v),
    ),
    "image_shape": (
        "[height, width]",
        lambda v: isinstance(v, list) and len(v) == 2 and all(_is_int(n, 1) for n in v),
    ),
    "features": ("a whole number >= 1", lambda v: _is_int(v, 1)),
    "model": ("mlp, cnn or lstm", lambda v: v in ("mlp", "cnn", "lstm")),
    "seed": ("a whole number >= 0", lambda v: _is_int(v, 0)),
    "csv": ("a path", lambda v: isinstance(v, str)),
    "target": ("a column name", lambda v: isinstance(v, str)),
}


def _metadata(model, path) -> dict:
    """The model's metadata, checked: a crafted value is an error naming the file."""
    meta = model.metadata or {}  # an object: load_model checks that
    for key, (expected, valid) in METADATA.items():
        if meta.get(key) is not None and not valid(meta[key]):
            raise ModelFileError(f"{path}: metadata {key!r} is {meta[key]!r}; expected {expected}")
    shape, features = meta.get("image_shape"), meta.get("features")
    if shape and features and shape[0] * shape[1] != features:
        raise ModelFileError(f"{path}: metadata image_shape {shape} and features {features} differ")
    if meta.get("model") in IMAGE_MODELS and not shape:
        raise ModelFileError(f"{path}: metadata says {meta['model']} but gives no image_shape")
    return meta


def _load(path):
    path = _existing_file(path, "model file")
    model = load_model(path)
    return model, _metadata(model, path)


def _class_names(path, meta: dict, outputs: int) -> list[str]:
    names_ = meta.get("class_names") or [str(i) for i in range(outputs)]
    if len(names_) != outputs:
        raise ModelFileError(
            f"{path}: the model has {outputs} outputs but its metadata names {len(names_)} classes"
        )
    return names_


# --- models -------------------------------------------------------------------------------------


def build_mlp(x_train, classes: int, hidden, activation: str, normalize: bool) -> Sequential:
    """[Normalization] -> Dense(h, activation) ... -> Dense(classes, softmax), built."""
    layers = []
    if normalize:
        scale = Normalization()
        scale.adapt(x_train)
        layers.append(scale)
    layers += [Dense(h, activation=activation) for h in hidden]
    layers.append(Dense(classes, activation="softmax"))
    model = Sequential(layers)
    model.build((None, x_train.shape[1]))
    return model


def build_cnn(image_shape, classes: int, hidden, activation: str) -> Sequential:
    """Two blocks of Conv2D(3x3, same) and 2x2 max-pooling (16 and 32 filters), then the
    dense layers; for (N, 1, H, W) images."""
    layers = [
        Conv2D(16, 3, padding="same", activation=activation, input_shape=(1, *image_shape)),
        MaxPooling2D(2),
        Conv2D(32, 3, padding="same", activation=activation),
        MaxPooling2D(2),
        Flatten(),
    ]
    layers += [Dense(h, activation=activation) for h in hidden]
    layers.append(Dense(classes, activation="softmax"))
    return Sequential(layers)


def build_lstm(image_shape, classes: int, units: int) -> Sequential:
    """Images read row by row: an LSTM(units) over the rows (height steps of width pixels),
    then Dense(classes, softmax) on its last output; takes flat (N, H*W) samples."""
    rows, columns = image_shape
    layers = [Reshape(rows, columns), KerasLSTM(units), Dense(classes, activation="softmax")]
    model = Sequential(layers)
    model.build((None, rows * columns))
    return model


def _as_model_input(x, model_kind, image_shape):
    """Flat samples as the model takes them: (N, 1, H, W) images for a CNN."""
    return x.reshape(len(x), 1, *image_shape) if model_kind == "cnn" else x


def _check_size(hidden, inputs: int, classes: int) -> None:
    """Refuse a network too large to build here before allocating any of it."""
    sizes = [inputs, *hidden, classes]
    weights = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    if weights > MAX_WEIGHTS:
        raise UsageError(
            f"--hidden {','.join(map(str, hidden))}: the dense layers would hold {weights:,} "
            f"weights ({4 * weights / 1e9:.1f} GB of float32, about four times that while "
            f"training); numpynn train builds at most {MAX_WEIGHTS:,}"
        )


def _build(args, settings, split: Split):
    """The model for ``settings`` and the training and test inputs shaped for it."""
    classes, hidden = len(split.class_names), settings.hidden
    x_train, x_test = split.x_train, split.x_test
    if args.model == "lstm":
        (units,), (rows, columns) = hidden, split.image_shape
        _check_size((4 * units,), columns + units, 0)  # the four gates' weights
        model = build_lstm(split.image_shape, classes, units)
        layout = f"LSTM({units}) over {rows} rows of {columns} pixels, dense {classes}"
    elif args.model == "cnn":
        height, width = split.image_shape
        _check_size(hidden, 32 * (height // 4) * (width // 4), classes)
        model = build_cnn(split.image_shape, classes, hidden, args.activation)
        x_train, x_test = (_as_model_input(x, "cnn", split.image_shape) for x in (x_train, x_test))
        layout = f"CNN (conv 16, conv 32, dense {','.join(map(str, hidden))})"
    else:
        _check_size(hidden, x_train.shape[1], classes)
        model = build_mlp(x_train, classes, hidden, args.activation, split.image_shape is None)
        layout = f"MLP {x_train.shape[1]}-{'-'.join(map(str, hidden))}-{classes}"
    options = {} if settings.lr is None else {"lr": settings.lr}
    optimizer = names.get("optimizer", args.optimizer, model.parameters(), **options)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x_train, x_test, layout


# --- train --------------------------------------------------------------------------------------


class Settings(NamedTuple):
    source: str
    hidden: tuple
    epochs: int
    batch_size: int
    lr: float | None


def _settings(args) -> Settings:
    """The options checked against each other, and the dataset's defaults for those not given."""
    if args.csv and args.dataset:
        raise UsageError("give --dataset or --csv, not both")
    if args.target and not args.csv:
        raise UsageError("--target names a column of a CSV file: give --csv FILE too")
    if args.csv and not args.target:
        raise UsageError("--csv needs --target COLUMN (the column to predict)")
    source = "csv" if args.csv else args.dataset or "digits"
    if args.model in IMAGE_MODELS and source in ("iris", "csv"):
        raise UsageError(
            f"--model {args.model} needs images (digits, mnist, fashion-mnist), not {source}"
        )
    if args.model == "lstm" and args.hidden and len(args.hidden) != 1:
        raise UsageError("--model lstm takes one size, its units: --hidden 128")
    for kind, value in (("activation", args.activation), ("optimizer", args.optimizer)):
        try:
            names.lookup(kind, value)
        except names.UnknownNameError as error:
            raise UsageError(f"--{kind}: {error}") from None
    defaults = DEFAULTS[source]
    own = {"cnn": CNN_HIDDEN, "lstm": LSTM_UNITS}
    hidden = args.hidden or own.get(args.model, defaults["hidden"])
    # the datasets' tuned rate is Adam's; another optimizer by name keeps Keras's default
    lr = defaults["lr"] if args.lr is None and args.optimizer == "adam" else args.lr
    return Settings(
        source,
        hidden,
        defaults["epochs"] if args.epochs is None else args.epochs,
        defaults["batch_size"] if args.batch_size is None else args.batch_size,
        lr,
    )


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


def _metadata_of_run(args, settings: Settings, split: Split) -> dict:
    return {
        "dataset": settings.source,
        "class_names": list(split.class_names),
        "image_shape": split.image_shape,
        "features": int(np.prod(split.x_train.shape[1:])),
        "model": args.model,
        "seed": args.seed,
        "test_size": TEST_SIZE,
        "csv": str(args.csv.resolve()) if args.csv else None,
        "target": args.target,
    }


def _write_run(out, model, args, run: dict, split: Split, probabilities) -> list[str]:
    """model.npz, metrics.json, mistakes.npz, the plots (none without matplotlib) and
    report.html in ``out``; ``run`` holds the settings, history and timings."""
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
        **report.run_details(args.argv, run["settings"], run["split"], run["timings"]),
    }
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(results, f, indent=2)
    if accuracy < 1:  # save_mistakes cannot write an empty set (reshape of 0 samples to -1)
        report.save_mistakes(out, split.x_test, split.y_test, probabilities, split.image_shape)
    try:
        plots = _write_plots(out, results["dataset"], run["history"], split, matrix, predicted)
    except ImportError as error:
        print(f"numpynn train: no plots ({error})", file=sys.stderr)
        plots = []
    report.write_report(out)
    mistakes = ["mistakes.npz"] if accuracy < 1 else []
    return ["model.npz", "metrics.json", *mistakes, *plots, "report.html"]


def _write_plots(out, source, history, split: Split, matrix, predicted) -> list[str]:
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


def _next_steps(out: pathlib.Path, images: bool) -> str:
    model = shlex.quote(str(out / "model.npz"))
    samples = "SAMPLES.npy|.csv" + ("|.png" if images else "")
    return (
        "next:\n"
        f"  numpynn evaluate {model}\n"
        f"  numpynn predict {model} {samples}\n"
        f"  numpynn summary {model}\n"
        f"  numpynn export {model} model.onnx\n"
        f"  numpynn report {shlex.quote(str(out))} --open   # report.html in a browser"
    )


@contextlib.contextmanager
def _timed(timings: dict, phase: str):
    start = time.perf_counter()
    yield
    timings[phase] = time.perf_counter() - start


def train(args) -> int:
    started, timings = datetime.datetime.now(), {}
    settings = _settings(args)
    args.threads = _use_threads(args.threads)  # the count used, recorded with the settings
    manual_seed(args.seed)
    with _timed(timings, "load data"):
        split = load_split(settings.source, args.seed, args.csv, args.target, args.data_root)
    model, x_train, x_test, layout = _build(args, settings, split)
    main_rank = distributed.init().is_main  # under mpiexec, rank 0 prints and writes
    if not args.quiet and main_rank:
        sizes = f"{len(x_train):,} training and {len(x_test):,} test samples"
        print(f"{settings.source}: {sizes}; {layout}")
    with _timed(timings, "train"):
        history = model.fit(
            x_train,
            split.y_train,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            seed=args.seed,
            validation_split=args.validation_split,
            verbose=0 if args.quiet else 1,
        )
    with _timed(timings, "test"):
        probabilities = model.predict(x_test, batch_size=1024)
    if not main_rank:
        return 0
    out = run_folder(args.out, started)
    model.metadata = _metadata_of_run(args, settings, split)
    run = {
        "settings": _settings_record(args, settings),
        "history": history,
        "split": report.split_sizes(len(x_train), len(x_test), args.validation_split),
        "timings": timings,
    }
    written = _write_run(out, model, args, run, split, probabilities)
    _print_outcome(args, out, written, split, probabilities.argmax(axis=1))
    return 0


def _settings_record(args, settings: Settings) -> dict:
    """The settings as the run used them, defaults resolved (for metrics.json)."""
    return {
        **settings._asdict(),
        "model": args.model,
        "activation": args.activation,
        "optimizer": args.optimizer,
        "seed": args.seed,
        "validation_split": args.validation_split,
        "threads": args.threads,
    }


def _print_outcome(args, out: pathlib.Path, written, split: Split, predicted) -> None:
    print(f"test accuracy: {np.mean(predicted == split.y_test):.4f}")
    if args.quiet:
        print(f"run folder: {out}")
        return
    print(metrics.classification_report(split.y_test, predicted, split.class_names))
    print(f"wrote {', '.join(written)} to {out}")
    print(_next_steps(out, split.image_shape is not None))


# --- evaluate, predict, summary -----------------------------------------------------------------


def _evaluation_source(args, meta: dict) -> tuple[str, str | None, str | None]:
    """(source, CSV path, target) from the options, else from what the model was trained on."""
    if args.csv and args.dataset:
        raise UsageError("give --dataset or --csv, not both")
    source = "csv" if args.csv else args.dataset or meta.get("dataset")
    if source is None:
        raise UsageError("the model does not say which data it was trained on: pass --dataset")
    if args.target and source != "csv":
        raise UsageError("--target names a column of a CSV file: give --csv FILE too")
    csv_path = args.csv or meta.get("csv")
    target = args.target or meta.get("target")
    if source == "csv" and not (csv_path and target):
        raise UsageError("give the CSV file and its class column: --csv FILE --target COLUMN")
    return source, csv_path, target


def evaluate(args) -> int:
    model, meta = _load(args.model)
    source, csv_path, target = _evaluation_source(args, meta)
    split = load_split(source, meta.get("seed") or 0, csv_path, target, args.data_root)
    features = meta.get("features")
    if features and split.x_test[0].size != features:
        raise ValueError(
            f"{args.model} takes {features} values per sample; {source} has {split.x_test[0].size}"
        )
    x_test = _as_model_input(split.x_test, meta.get("model"), meta.get("image_shape"))
    probabilities = model.predict(x_test, batch_size=1024)
    class_names = _class_names(args.model, meta, probabilities.shape[1])
    if len(split.class_names) != len(class_names):
        raise ValueError(
            f"{args.model} tells {len(class_names)} classes apart; "
            f"{source} has {len(split.class_names)}"
        )
    predicted = probabilities.argmax(axis=1)
    accuracy = np.mean(predicted == split.y_test)
    print(f"test accuracy: {accuracy:.4f} on {len(split.y_test)} samples of {source}")
    print(metrics.classification_report(split.y_test, predicted, class_names))
    return 0


def predict(args) -> int:
    model, meta = _load(args.model)
    features = meta.get("features") or (model.input_shape or (None, None))[-1]
    if not features:
        raise ModelFileError(f"{args.model}: the model does not say how many values it takes")
    x = read_inputs(args.input, meta.get("image_shape"), features)
    x = _as_model_input(x, meta.get("model"), meta.get("image_shape"))
    probabilities = model.predict(x, batch_size=1024)
    class_names = _class_names(args.model, meta, probabilities.shape[1])
    for i, p in enumerate(probabilities):
        best = int(p.argmax())
        print(f"{i}: {class_names[best]} ({p[best]:.3f})")
    return 0


def summary(args) -> int:
    _load(args.model)[0].summary()
    return 0


def export(args) -> int:
    if args.output.suffix.lower() != ".onnx":
        raise UsageError(f"{args.output}: the ONNX file's name must end in .onnx")
    from numpynn.onnx import export_command  # needs the onnx extra

    print(export_command(_existing_file(args.model, "model file"), args.output))
    return 0


def show_report(args) -> int:
    if not pathlib.Path(args.run).is_dir():
        raise FileNotFoundError(f"no run folder at {args.run}")
    return report.report_command(args.run, args.open)


# --- the parser ---------------------------------------------------------------------------------


def _per_dataset(key: str) -> str:
    values = {source: settings[key] for source, settings in DEFAULTS.items()}
    return ", ".join(
        f"{source} {','.join(map(str, v)) if isinstance(v, tuple) else v}"
        for source, v in values.items()
    )


def _add_train(commands) -> None:
    t = commands.add_parser(
        "train",
        help="train a network and write a model, metrics and plots",
        description="Train a classifier and write model.npz, metrics.json and plots to a "
        "run folder. Options not given take the dataset's defaults, shown below. Started "
        'by mpiexec (pip install "numpynn[mpi]"), e.g. OMP_NUM_THREADS=1 mpiexec -n 2 '
        "numpynn train, it trains data-parallel over the ranks and rank 0 writes the run.",
    )
    source = t.add_argument_group("data")
    source.add_argument("--dataset", choices=DATASETS, help="a dataset by name (default: digits)")
    source.add_argument(
        "--csv", type=pathlib.Path, metavar="FILE", help="a CSV file (with --target) instead"
    )
    source.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    source.add_argument(
        "--data-root", type=pathlib.Path, metavar="FOLDER", help="a folder holding the MNIST files"
    )
    source.add_argument(
        "--validation-split",
        type=_fraction,
        metavar="FRACTION",
        default=0.1,
        help="share of the training data held out for val_loss (default: 0.1; 0 for none)",
    )
    _add_network_options(t.add_argument_group("network and training"))
    output = t.add_argument_group("output")
    output.add_argument(
        "--out", type=pathlib.Path, metavar="FOLDER", help="default: runs/<date>-<time>"
    )
    output.add_argument(
        "--quiet", action="store_true", help="print only the test accuracy and the run folder"
    )
    t.set_defaults(command=train, parser=t)


def _add_network_options(group) -> None:
    group.add_argument(
        "--model",
        choices=("mlp", "cnn", "lstm"),
        default="mlp",
        help="cnn, lstm (reads an image row by row): images only (default: mlp)",
    )
    group.add_argument(
        "--hidden",
        type=_hidden_sizes,
        metavar="SIZES",
        help=f"hidden layer sizes, e.g. 256,128 (default: {_per_dataset('hidden')}; cnn 128); "
        "an lstm's units (default: 128)",
    )
    group.add_argument(
        "--activation", default="relu", metavar="NAME", help="relu, tanh, gelu, ... (default: relu)"
    )
    for flag, key in (("--epochs", "epochs"), ("--batch-size", "batch_size")):
        group.add_argument(
            flag, type=_whole_number(1), metavar="N", help=f"default: {_per_dataset(key)}"
        )
    group.add_argument(
        "--optimizer",
        default="adam",
        metavar="NAME",
        help="sgd, adam, adamw, rmsprop, adagrad (default: adam)",
    )
    group.add_argument(
        "--lr",
        type=_learning_rate,
        help=f"learning rate (default with adam: {_per_dataset('lr')}; else the optimizer's)",
    )
    group.add_argument("--seed", type=_whole_number(0), metavar="N", default=0, help="default: 0")
    group.add_argument(
        "--threads",
        type=_thread_count,
        metavar="N",
        default="auto",
        help="BLAS threads: a count, or auto (one when no core is idle; results can differ "
        "in the last digits between counts, so give a count to repeat a run bit for bit). "
        'Needs threadpoolctl (pip install "numpynn[threads]") (default: auto)',
    )


def _thread_count(text: str):
    return text if text == "auto" else _whole_number(1)(text)


def _use_threads(threads) -> int | None:
    """Set NumPy's BLAS threads for this run (2 threads on busy cores made training up to 10x
    slower, benchmarks/README.md); without threadpoolctl, ``auto`` leaves them as they are."""
    try:
        return set_num_threads(threads)
    except ImportError:
        if threads != "auto":
            raise UsageError(
                'numpynn train: --threads needs threadpoolctl: pip install "numpynn[threads]"'
            ) from None
        return None


def _add_model_commands(commands) -> None:
    e = commands.add_parser(
        "evaluate",
        help="test accuracy and a report of a saved model",
        description="Test accuracy and a per-class report of a saved model, on the test part "
        "of the data it was trained on (or of --dataset / --csv).",
    )
    e.add_argument("model", type=pathlib.Path, help="a model.npz written by numpynn train")
    e.add_argument("--dataset", choices=DATASETS, help="default: the model's own")
    e.add_argument(
        "--csv", type=pathlib.Path, metavar="FILE", help="default: the model's own CSV file"
    )
    e.add_argument(
        "--target", metavar="COLUMN", help="the CSV column of classes (default: the model's own)"
    )
    e.add_argument(
        "--data-root", type=pathlib.Path, metavar="FOLDER", help="a folder holding the MNIST files"
    )
    e.set_defaults(command=evaluate, parser=e)

    p = commands.add_parser(
        "predict",
        help="classify samples from a .npy, .csv or image file",
        description="Print each sample's most likely class and its probability. INPUT is a "
        ".npy array (one sample, or (N, features)), a .csv of numbers (a sample per row; a "
        "header row of names is skipped), or, for a model trained on images, a "
        ".png/.jpg/.bmp picture (resized to the training size; dark-on-light is inverted).",
    )
    p.add_argument("model", type=pathlib.Path, help="a model.npz written by numpynn train")
    p.add_argument("input", type=pathlib.Path, help="a .npy, .csv or image file of samples")
    p.set_defaults(command=predict, parser=p)

    s = commands.add_parser("summary", help="print the layers of a saved model")
    s.add_argument("model", type=pathlib.Path, help="a model.npz")
    s.set_defaults(command=summary, parser=s)


def _add_file_commands(commands) -> None:
    x = commands.add_parser(
        "export",
        help="write a saved model as ONNX",
        description="Write a saved model as an ONNX graph (opset 17, dynamic batch) for ONNX "
        'Runtime and other tools; needs pip install "numpynn[onnx]".',
    )
    x.add_argument("model", type=pathlib.Path, help="a model.npz")
    x.add_argument("output", type=pathlib.Path, help="the .onnx file to write")
    x.set_defaults(command=export, parser=x)

    r = commands.add_parser(
        "report",
        help="rebuild a run's report.html",
        description="Rebuild report.html in a run folder of numpynn train (one page, images "
        "inline, nothing fetched) and print its path.",
    )
    r.add_argument("run", type=pathlib.Path, help="a run folder such as runs/<date>-<time>")
    r.add_argument("--open", action="store_true", help="open it in the default browser")
    r.set_defaults(command=show_report, parser=r)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numpynn",
        description="Train, evaluate and use numpynn models.",
        epilog="Exit codes: 0 success, 2 a usage error, 1 a failure while running. "
        "'numpynn COMMAND --help' describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"numpynn {numpynn.__version__}")
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_model_commands(commands)
    _add_file_commands(commands)
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code (argparse exits with 2 on bad usage)."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    name = f"numpynn {args.name}"
    try:
        return args.command(args)
    except UsageError as error:
        args.parser.print_usage(sys.stderr)
        print(f"{name}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, ImportError, FloatingPointError) as error:
        print(f"{name}: error: {error}", file=sys.stderr)
    except MemoryError:
        print(
            f"{name}: error: out of memory; try smaller --hidden or --batch-size", file=sys.stderr
        )
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a failure numpynn does not foresee: one line, not a traceback
        if os.environ.get("NUMPYNN_TRACEBACK"):
            raise
        print(
            f"{name}: unexpected {type(error).__name__}: {error}\n(please report it; "
            "NUMPYNN_TRACEBACK=1 shows where it happened)",
            file=sys.stderr,
        )
    return 1


def run() -> None:
    """The console script."""
    sys.exit(main())
