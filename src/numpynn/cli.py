"""The ``numpynn`` command line (also ``python -m numpynn``).

    numpynn train                       # an MLP on the bundled 8x8 digits, in seconds
    numpynn train --dataset fashion-mnist --hidden 256,128 --epochs 5
    numpynn train --csv data.csv --target label
    numpynn train --model cnn                     # a small CNN on the digits
    numpynn evaluate runs/<time>/model.npz
    numpynn predict runs/<time>/model.npz digit.png     # or a .npy or .csv of samples
    numpynn summary runs/<time>/model.npz

``train`` writes ``model.npz``, ``metrics.json``, ``history.png`` and ``confusion.png``
(and ``samples.png`` for images) to ``--out`` (default ``runs/<date>-<time>``).
Exit codes: 0 success, 2 a usage error, 1 a failure while running.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import pathlib
import sys

import numpy as np

from numpynn import data, metrics, names, plot
from numpynn._config import manual_seed
from numpynn._files import atomic_write
from numpynn.io import ModelFileError, load_model
from numpynn.layers import Conv2D, Dense, Flatten, MaxPooling2D, Normalization
from numpynn.sequential import Sequential

DATASETS = ("digits", "iris", "mnist", "fashion-mnist")
# Settings that reach the accuracy in the README in a short run; every one can be overridden.
DEFAULTS = {
    "digits": {"hidden": "128,64", "epochs": 30, "batch_size": 32, "lr": 1e-3},
    "iris": {"hidden": "16", "epochs": 150, "batch_size": 16, "lr": 1e-2},
    "mnist": {"hidden": "256,128", "epochs": 5, "batch_size": 128, "lr": 1e-3},
    "fashion-mnist": {"hidden": "256,128", "epochs": 5, "batch_size": 128, "lr": 1e-3},
    "csv": {"hidden": "64", "epochs": 50, "batch_size": 32, "lr": 1e-3},
}
TEST_SIZE = 0.25  # the held-out share of the bundled and CSV datasets


class UsageError(Exception):
    """A command line that cannot work: exit code 2."""


# --- data --------------------------------------------------------------------------------------


def load_split(source: str, seed: int, csv_path=None, target=None, data_root=None):
    """(x_train, y_train, x_test, y_test, class_names, image_shape or None)."""
    if source in ("mnist", "fashion-mnist"):
        loader = data.load_mnist if source == "mnist" else data.load_fashion_mnist
        (x_train, y_train), (x_test, y_test) = loader(root=data_root)
        names_ = data.MNIST_CLASSES if source == "mnist" else data.FASHION_MNIST_CLASSES
        return x_train, y_train, x_test, y_test, names_, [28, 28]
    if source == "csv":
        x, y, names_ = read_csv(csv_path, target)
        shape = None
    else:
        x, y, names_ = data.load_digits() if source == "digits" else data.load_iris()
        shape = [8, 8] if source == "digits" else None
    x_train, x_test, y_train, y_test = data.train_test_split(
        x, y, test_size=TEST_SIZE, stratify=y, seed=seed
    )
    return x_train, y_train, x_test, y_test, names_, shape


def read_csv(path, target: str):
    """Numeric features and integer classes from a CSV file with a header row."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no CSV file at {path}")
    with open(path, newline="") as f:
        rows = [row for row in csv.reader(f) if row]
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if target not in header:
        raise UsageError(f"{path}: no column {target!r}; the columns are {', '.join(header)}")
    column = header.index(target)
    features = [i for i in range(len(header)) if i != column]
    x = np.empty((len(rows) - 1, len(features)), dtype=np.float32)
    for r, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {r}: {len(row)} fields, the header has {len(header)}")
        for c, i in enumerate(features):
            try:
                x[r - 2, c] = float(row[i])
            except ValueError:
                raise ValueError(
                    f"{path}, line {r}: column {header[i]!r} holds {row[i]!r}, not a number; "
                    "numpynn train needs numeric features"
                ) from None
    labels = [row[column].strip() for row in rows[1:]]
    class_names = sorted(set(labels), key=lambda v: (_number(v) is None, _number(v) or 0, v))
    y = np.array([class_names.index(v) for v in labels], dtype=np.int64)
    return x, y, class_names


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def read_inputs(path, image_shape, features: int) -> np.ndarray:
    """Samples for ``predict`` from a .npy, a .csv (numbers, optional header) or a PNG."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no input file at {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False)
    elif suffix == ".csv":
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row]
        if rows and _number(rows[0][0]) is None:
            rows = rows[1:]  # a header
        try:
            x = np.array(rows, dtype=np.float32)
        except ValueError:
            raise ValueError(f"{path}: expected rows of numbers") from None
    elif suffix in (".png", ".jpg", ".jpeg", ".bmp"):
        if image_shape is None:
            raise UsageError("this model was not trained on images; give a .npy or .csv")
        x = read_image(path, image_shape)[None]
    else:
        raise UsageError(f"{path}: expected a .npy, .csv or .png file")
    if x.ndim == 1 or (image_shape and x.shape == tuple(image_shape)):
        x = x[None]  # one sample
    x = x.reshape(len(x), -1).astype(np.float32)
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
    with Image.open(path) as image:
        grey = image.convert("L").resize((shape[1], shape[0]), Image.Resampling.LANCZOS)
        x = np.asarray(grey, dtype=np.float32) / 255
    return 1 - x if x.mean() > 0.5 else x


# --- commands -----------------------------------------------------------------------------------


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


def _as_model_input(x, model_kind, image_shape):
    """Flat samples as the model takes them: (N, 1, H, W) images for a CNN."""
    return x.reshape(len(x), 1, *image_shape) if model_kind == "cnn" else x


def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = [0]
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--hidden: expected sizes such as 256,128, got {text!r}")
    return sizes


def train(args) -> int:
    source = "csv" if args.csv else args.dataset
    if args.csv and not args.target:
        raise UsageError("--csv needs --target COLUMN (the column to predict)")
    defaults = DEFAULTS[source]
    hidden = _hidden(args.hidden or defaults["hidden"])
    epochs = args.epochs or defaults["epochs"]
    batch_size = args.batch_size or defaults["batch_size"]
    # the datasets' tuned rate is Adam's; another optimizer by name keeps Keras's default
    lr = args.lr or (defaults["lr"] if args.optimizer == "adam" else None)
    for kind, value in (("activation", args.activation), ("optimizer", args.optimizer)):
        try:
            names.lookup(kind, value)
        except names.UnknownNameError as error:
            raise UsageError(f"--{kind}: {error}") from None
    manual_seed(args.seed)
    x_train, y_train, x_test, y_test, class_names, image_shape = load_split(
        source, args.seed, args.csv, args.target, args.data_root
    )
    if args.model == "cnn":
        if image_shape is None:
            raise UsageError(
                f"--model cnn needs images (digits, mnist, fashion-mnist), not {source}"
            )
        hidden = _hidden(args.hidden or "128")
        model = build_cnn(image_shape, len(class_names), hidden, args.activation)
        x_train, x_test = (_as_model_input(x, "cnn", image_shape) for x in (x_train, x_test))
    else:
        model = build_mlp(x_train, len(class_names), hidden, args.activation, image_shape is None)
    options = {} if lr is None else {"lr": lr}
    optimizer = names.get("optimizer", args.optimizer, model.parameters(), **options)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    say = (lambda *a: None) if args.quiet else print
    layout = (
        f"CNN (conv 16, conv 32, dense {','.join(map(str, hidden))})"
        if args.model == "cnn"
        else f"MLP {x_train.shape[1]}-{'-'.join(map(str, hidden))}-{len(class_names)}"
    )
    say(f"numpynn train: {source}, {len(x_train)} training, {len(x_test)} test samples, {layout}")
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        seed=args.seed,
        validation_split=args.validation_split,
        verbose=0 if args.quiet else 1,
    )
    probabilities = model.predict(x_test, batch_size=1024)
    predicted = probabilities.argmax(axis=1)
    accuracy = float(np.mean(predicted == y_test))
    report = metrics.classification_report(y_test, predicted, class_names)
    say(f"test accuracy: {accuracy:.4f}\n{report}")

    out = pathlib.Path(
        args.out or pathlib.Path("runs") / datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    )
    out.mkdir(parents=True, exist_ok=True)
    model.metadata = {
        "dataset": source,
        "class_names": list(class_names),
        "image_shape": image_shape,
        "features": int(np.prod(x_train.shape[1:])),
        "model": args.model,
        "seed": args.seed,
        "test_size": TEST_SIZE,
        "csv": str(args.csv) if args.csv else None,
        "target": args.target,
    }
    model.save(out / "model.npz")
    matrix = metrics.confusion_matrix(y_test, predicted, len(class_names))
    results = {
        "dataset": source,
        "test_accuracy": accuracy,
        "test_samples": len(y_test),
        "epochs": epochs,
        "history": history.history,
        "confusion_matrix": matrix.tolist(),
        "precision_recall_f1_macro": metrics.precision_recall_f1(y_test, predicted, "macro"),
    }
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(results, f, indent=2)
    written = ["model.npz", "metrics.json"]
    try:
        plot.plot_history(history, out / "history.png", title=f"{source}: training")
        plot.plot_confusion_matrix(matrix, out / "confusion.png", class_names)
        written += ["history.png", "confusion.png"]
        if image_shape is not None:
            images = x_test[:32].reshape(-1, *image_shape)
            plot.plot_images(images, out / "samples.png", y_test[:32], predicted[:32], class_names)
            written.append("samples.png")
    except ImportError as error:
        print(f"numpynn train: no plots ({error})", file=sys.stderr)
    say(f"wrote {', '.join(written)} to {out}")
    return 0


def _load(path):
    if not pathlib.Path(path).exists():
        raise FileNotFoundError(f"no model file at {path}")
    return load_model(path)


def evaluate(args) -> int:
    model = _load(args.model)
    meta = model.metadata or {}
    source = "csv" if args.csv else args.dataset or meta.get("dataset")
    if source is None:
        raise UsageError("the model does not say which data it was trained on: pass --dataset")
    csv_path, target = args.csv or meta.get("csv"), args.target or meta.get("target")
    _, _, x_test, y_test, class_names, _ = load_split(
        source, meta.get("seed", 0), csv_path, target, args.data_root
    )
    x_test = _as_model_input(x_test, meta.get("model"), meta.get("image_shape"))
    predicted = model.predict(x_test, batch_size=1024).argmax(axis=1)
    print(f"test accuracy: {np.mean(predicted == y_test):.4f} on {len(y_test)} samples of {source}")
    print(metrics.classification_report(y_test, predicted, meta.get("class_names") or class_names))
    return 0


def predict(args) -> int:
    model = _load(args.model)
    meta = model.metadata or {}
    features = meta.get("features") or (model.input_shape or (None, None))[1]
    x = read_inputs(args.input, meta.get("image_shape"), features)
    x = _as_model_input(x, meta.get("model"), meta.get("image_shape"))
    probabilities = model.predict(x, batch_size=1024)
    class_names = meta.get("class_names") or [str(i) for i in range(probabilities.shape[1])]
    for i, p in enumerate(probabilities):
        best = int(p.argmax())
        print(f"{i}: {class_names[best]} ({p[best]:.3f})")
    return 0


def summary(args) -> int:
    _load(args.model).summary()
    return 0


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numpynn", description="Train, evaluate and use numpynn models."
    )
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")

    t = commands.add_parser("train", help="train a network and write a model, metrics and plots")
    t.add_argument("--dataset", choices=DATASETS, default="digits", help="default: digits")
    t.add_argument("--csv", type=pathlib.Path, help="train on a CSV file instead (with --target)")
    t.add_argument("--target", help="the CSV column to predict")
    t.add_argument("--model", choices=("mlp", "cnn"), default="mlp", help="cnn: images only")
    t.add_argument("--hidden", help="hidden layer sizes, e.g. 256,128")
    t.add_argument("--activation", default="relu", help="a name such as relu, tanh, gelu")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--optimizer", default="adam", help="sgd, adam, adamw, rmsprop, adagrad")
    t.add_argument("--lr", type=float, help="learning rate (default: tuned per dataset for adam)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--validation-split", type=float, default=0.1)
    t.add_argument("--out", type=pathlib.Path, help="output folder (default runs/<date>-<time>)")
    t.add_argument("--data-root", type=pathlib.Path, help="a folder holding the MNIST files")
    t.add_argument("--quiet", action="store_true", help="no progress bars or report")
    t.set_defaults(command=train)

    e = commands.add_parser("evaluate", help="test accuracy and a report of a saved model")
    e.add_argument("model", type=pathlib.Path)
    e.add_argument("--dataset", choices=DATASETS)
    e.add_argument("--csv", type=pathlib.Path)
    e.add_argument("--target")
    e.add_argument("--data-root", type=pathlib.Path)
    e.set_defaults(command=evaluate)

    p = commands.add_parser("predict", help="classify samples from a .npy, .csv or .png file")
    p.add_argument("model", type=pathlib.Path)
    p.add_argument("input", type=pathlib.Path)
    p.set_defaults(command=predict)

    s = commands.add_parser("summary", help="print the layers of a saved model")
    s.add_argument("model", type=pathlib.Path)
    s.set_defaults(command=summary)
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code (argparse exits with 2 on bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"numpynn {args.name}: error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, ImportError, ModelFileError, data.DataNotFoundError) as error:
        print(f"numpynn {args.name}: error: {error}", file=sys.stderr)
        return 1


def run() -> None:
    """The console script."""
    sys.exit(main())
