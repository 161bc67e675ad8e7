"""Reading the user's files: CSV tables for training, and samples for ``predict`` from a
.npy array, a CSV of numbers or a picture. Every flaw is an error naming the file and, where
there is one, the line and column."""

from __future__ import annotations

import csv
import math
import pathlib
import sys
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
MAX_CATEGORIES = 256  # per --one-hot column: more is likely an ID, one feature per row


class Expected(NamedTuple):
    """What a saved model takes, from its metadata: how ``read_inputs`` reads samples for it."""

    features: int  # values per sample
    image_shape: list | None = None  # [height, width] for a model trained on images
    columns: list | None = None  # the CSV columns it was trained on, in order
    target: str | None = None  # the CSV column it predicts
    dropped: tuple = ()  # CSV columns left out in training (--drop)
    categories: dict | None = None  # column -> its categories, one 0/1 feature each (--one-hot)


class Split(NamedTuple):
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list
    image_shape: list | None
    columns: list | None = None  # a CSV file's feature columns, in its order
    categories: dict | None = None  # column -> its categories, one 0/1 feature each


class Table(NamedTuple):
    """A CSV file read for training: features, classes and the feature columns."""

    x: np.ndarray
    y: np.ndarray
    class_names: list
    columns: list
    categories: dict


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


def _cell(path, line: int, column: str, text: str, limit: float = FLOAT32_MAX, hint="") -> float:
    """A CSV cell as a finite number of size at most ``limit``, or an error naming where
    (and what to do about text: ``hint``)."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}: {column} holds {text!r}, not a number; "
            + (hint or "numpynn needs numeric features")
        ) from None
    if not (math.isfinite(value) and abs(value) <= limit):
        raise ValueError(
            f"{path}, line {line}: {column} holds {text.strip()!r}; the values must be finite "
            f"numbers of size at most {limit:.2g}"
        )
    return value


def _column_names(path, header: list[str]) -> list[str]:
    """The header's names, stripped; an empty or repeated name is an error."""
    header = [name.strip() for name in header]
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}: column {i + 1} of the header has no name")
        if name in header[:i]:
            raise ValueError(
                f"{path}: the header names {name!r} twice (columns {header.index(name) + 1} "
                f"and {i + 1}); give every column its own name"
            )
    return header


def _feature_columns(path, header: list[str], target: str, drop, one_hot) -> list[int]:
    """The indices of the feature columns: all but ``target`` and those in ``drop``; the
    columns named in ``one_hot`` must be among them."""
    columns = ", ".join(header)
    if target not in header:
        raise UsageError(f"{path}: no column {target!r}; the columns are {columns}")
    for option, names in (("--drop", drop), ("--one-hot", one_hot)):
        for name in names:
            if name == target:
                raise UsageError(f"{option} {name}: that is the --target column, never a feature")
            if name not in header:
                raise UsageError(
                    f"{option} {name}: {path} has no such column; the columns are {columns}"
                )
    both = [name for name in drop if name in one_hot]
    if both:
        raise UsageError(f"--drop {both[0]} and --one-hot {both[0]}: give one of the two")
    features = [i for i, name in enumerate(header) if name != target and name not in drop]
    if not features:
        raise UsageError(f"{path}: no feature columns left besides {target!r} and --drop")
    return features


def _categories(path, rows, index: int, name: str) -> list[str]:
    """The distinct values of column ``index``, sorted: one 0/1 feature each."""
    values = sorted({row[index].strip() for _, row in rows})
    if len(values) > MAX_CATEGORIES:
        raise ValueError(
            f"{path}: column {name!r} holds {len(values):,} distinct values; --one-hot makes "
            f"a feature of each and takes at most {MAX_CATEGORIES}: if it names each row "
            f"(an ID), leave it out with --drop {name}"
        )
    return values


def _encode(path, rows, names, indices, categories, limit=FLOAT32_MAX, hint=None, header=True):
    """The features of CSV ``rows``: column ``indices[k]`` (named ``names[k]``, or None) as
    a number, or, when ``categories`` has it, as one 0/1 value per category. Errors call a
    column by its name from the ``header``, else by its number (and the model's name)."""
    widths = [len(categories[name]) if name in categories else 1 for name in names]
    position = {name: {v: j for j, v in enumerate(values)} for name, values in categories.items()}
    x = np.zeros((len(rows), sum(widths)), dtype=np.float32)
    for r, (line, row) in enumerate(rows):
        at = 0
        for name, i, width in zip(names, indices, widths):
            label = f"column {name!r}" if header else f"column {i + 1}"
            label += f" ({name!r})" if name and not header else ""
            if name in position:
                x[r, at + _category(path, line, label, row[i], position[name])] = 1
            else:
                x[r, at] = _cell(path, line, label, row[i], limit, hint(name) if hint else "")
            at += width
    return x


def _category(path, line: int, label: str, text: str, position: dict) -> int:
    value = text.strip()
    if value not in position:
        raise ValueError(
            f"{path}, line {line}: {label} holds {value!r}, a category the model was not "
            f"trained on; it knows {', '.join(map(repr, position))}"
        )
    return position[value]


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


def _text_hint(name: str) -> str:
    return (
        f"numpynn train reads numbers, and categories with --one-hot {name} (one 0/1 feature "
        f"per category); or leave the column out with --drop {name}"
    )


def read_csv(path, target: str, drop=(), one_hot=None) -> Table:
    """Features and integer classes from a CSV file with a header row: the columns named in
    ``drop`` left out, those in ``one_hot`` as one 0/1 feature per category. ``one_hot``
    maps a column to its categories (a model's), or to None for the column's distinct values."""
    one_hot = one_hot or {}
    path = existing_file(path, "CSV file")
    rows = _csv_rows(path)
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row")
    header, rows = _column_names(path, rows[0][1]), rows[1:]
    features = _feature_columns(path, header, target, drop, one_hot)
    for line, row in rows:
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(row)} fields, the header has {len(header)}"
            )
    names = [header[i] for i in features]
    categories = {
        name: list(known)
        if known is not None
        else _categories(path, rows, header.index(name), name)
        for name, known in one_hot.items()
    }
    x = _encode(path, rows, names, features, categories, FEATURE_LIMIT, _text_hint)
    class_names, y = _csv_classes(path, rows, header.index(target), target)
    return Table(x, y, class_names, names, categories)


def load_split(source: str, seed: int, csv_path=None, target=None, data_root=None, **csv) -> Split:
    """The training and test parts of a dataset, with its class names and image shape; for
    a CSV file, ``csv`` holds ``read_csv``'s ``drop`` and ``one_hot``."""
    if source in ("mnist", "fashion-mnist"):
        loader = data.load_mnist if source == "mnist" else data.load_fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader(root=data_root)
        names_ = data.MNIST_CLASSES if source == "mnist" else data.FASHION_MNIST_CLASSES
        return Split(x_train, y_train, x_test, y_test, names_, [28, 28])
    table = None
    if source == "csv":
        table = read_csv(csv_path, target, **csv)
        x, y, names_ = table.x, table.y, table.class_names
    else:
        x, y, names_ = data.load_digits() if source == "digits" else data.load_iris()
    x_train, x_test, y_train, y_test = data.train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, seed=seed
    )
    shape = [8, 8] if source == "digits" else None
    if table is None:
        return Split(x_train, y_train, x_test, y_test, names_, shape)
    return Split(x_train, y_train, x_test, y_test, names_, shape, table.columns, table.categories)


# --- samples for predict ------------------------------------------------------------------------


def _read_sample_rows(path, expected: Expected) -> np.ndarray:
    """Samples from a CSV file, one per row. A first row of names is a header: then the
    model's target column and the columns dropped in training are left out (said on stderr),
    and a model that knows its columns takes them by name."""
    rows = _csv_rows(path)
    header = None
    if rows and _is_header(rows[0][1], expected):
        header, rows = _column_names(path, rows[0][1]), rows[1:]
    if not rows:
        raise ValueError(f"{path}: holds no samples")
    width = len(header or rows[0][1])
    for line, row in rows:
        if len(row) != width:
            first = "the header has" if header else "the first row has"
            raise ValueError(f"{path}, line {line}: {len(row)} values, {first} {width}")
    if header is not None:
        keep = _columns_for(path, header, expected)
        names = [header[i] for i in keep]
    else:
        keep = list(range(width))
        known = expected.columns is not None and width == len(expected.columns)
        names = list(expected.columns) if known else [None] * width
    x = _encode(path, rows, names, keep, expected.categories or {}, header=header is not None)
    if x.shape[1] != expected.features:
        raise ValueError(
            f"{path}: rows of {x.shape[1]} values; the model takes {expected.features} per "
            f"sample{_width_hint(header, width, expected)}"
        )
    return x


def _is_header(cells: list[str], expected: Expected) -> bool:
    """A first row that names a column the model knows, or holds no number, is a header."""
    cells = [cell.strip() for cell in cells]
    known = {*(expected.columns or ()), *expected.dropped, expected.target}
    return bool(known & set(cells)) or all(number(cell) is None for cell in cells)


def _width_hint(header, width: int, expected: Expected) -> str:
    """Why a header-less file may hold one value too many: its target column."""
    columns = len(expected.columns) if expected.columns else expected.features
    if header is None and expected.target and width == columns + 1:
        return (
            f" (one more: if one of them is the target {expected.target!r}, add the header row "
            "of column names and predict leaves it out)"
        )
    return ""


def _columns_for(path, header: list[str], expected: Expected) -> list[int]:
    """The indices of the header's columns that the model takes, in its order."""
    reasons = {name: "left out in training with --drop" for name in expected.dropped}
    if expected.target:
        reasons[expected.target] = "the model's target, what it predicts"
    for name in header:
        if name in reasons:
            note = f"numpynn predict: leaving out column {name!r} ({reasons[name]})"
            print(note, file=sys.stderr)
    names = [name for name in header if name not in reasons]
    if expected.columns is None:  # a model that does not know its columns takes them in order
        return [header.index(name) for name in names]
    trained_on = ", ".join(expected.columns)
    missing = [name for name in expected.columns if name not in names]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r}; the model takes {trained_on}")
    extra = [name for name in names if name not in expected.columns]
    if extra:
        raise ValueError(
            f"{path}: column {extra[0]!r} is not one the model was trained on ({trained_on}); "
            "remove it from the file"
        )
    return [header.index(name) for name in expected.columns]


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


def read_inputs(path, expected: Expected) -> np.ndarray:
    """Samples for ``predict``, (N, features), from a .npy (one sample or N stacked), a .csv
    (numbers, a sample per row, optional header) or an image (one sample)."""
    path = existing_file(path, "input file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = _samples(path, _read_npy(path), expected)
    elif suffix == ".csv":
        x = _read_sample_rows(path, expected)
    elif suffix in IMAGE_SUFFIXES:
        if expected.image_shape is None:
            raise UsageError("this model was not trained on images; give a .npy or .csv")
        x = read_image(path, expected.image_shape)[None]
    else:
        raise UsageError(f"{path}: expected a .npy, .csv or {'/'.join(IMAGE_SUFFIXES)} file")
    return x.reshape(len(x), -1)


def _samples(path, x: np.ndarray, expected: Expected) -> np.ndarray:
    """An array of one sample, or of N stacked on a first axis, as (N, ...) samples."""
    shapes = [(expected.features,)]
    if expected.image_shape:
        shapes += [tuple(expected.image_shape), (1, *expected.image_shape)]
    if x.shape in shapes:
        return x[None]  # one sample
    if x.shape[1:] not in shapes:
        one = " or ".join(str(shape) for shape in shapes)
        raise ValueError(
            f"{path}: an array of shape {x.shape}; the model takes one sample of shape {one}, "
            "or N of them stacked as (N, ...)"
        )
    if len(x) == 0:
        raise ValueError(f"{path}: holds no samples (shape {x.shape})")
    return x
