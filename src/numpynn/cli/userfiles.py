"""Reading the user's files: CSV tables for training, and samples for ``predict`` from a
.npy array, a CSV of numbers or a picture. Every flaw is an error naming the file and, where
there is one, the line and column."""

from __future__ import annotations

import csv
import math
import pathlib
from typing import NamedTuple

import numpy as np

from numpynn import data
from numpynn.cli.arguments import UsageError, number

DATASETS = ("digits", "iris", "mnist", "fashion-mnist")
TEST_SIZE = 0.25  # the held-out share of the bundled and CSV datasets
FLOAT32_MAX = float(np.finfo(np.float32).max)
# train standardises each feature, and float32 holds the variance only of values below ~1.8e19
FEATURE_LIMIT = 1e18
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    image_shape: list | None


def existing_file(path, what: str) -> pathlib.Path:
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    if not path.is_file():
        raise ValueError(f"{path}: not a regular file (a folder or a device)")
    return path


# --- CSV tables ---------------------------------------------------------------------------------


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
    class_names = sorted(set(labels), key=lambda v: (number(v) is None, number(v) or 0, v))
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
    path = existing_file(path, "CSV file")
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


# --- samples for predict ------------------------------------------------------------------------


def _read_sample_rows(path) -> np.ndarray:
    """Samples from a CSV of numbers, one per row; a first row that is not numbers is a header."""
    rows = _csv_rows(path)
    if rows and number(rows[0][1][0]) is None:
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


def read_inputs(path, image_shape, features: int) -> np.ndarray:
    """Samples for ``predict`` from a .npy, a .csv (numbers, optional header) or an image."""
    path = existing_file(path, "input file")
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
