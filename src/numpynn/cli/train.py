"""``numpynn train``: train a classifier on a bundled dataset, MNIST or a CSV file and write
the run folder (model, metrics, plots, report); data-parallel under ``mpiexec``."""

from __future__ import annotations

import contextlib
import datetime
import pathlib
import shlex
import time
from typing import NamedTuple

import numpy as np

from numpynn import distributed, metrics, names, report
from numpynn._config import manual_seed
from numpynn._threads import set_num_threads
from numpynn.cli.arguments import (
    UsageError,
    fraction,
    hidden_sizes,
    learning_rate,
    thread_count,
    whole_number,
)
from numpynn.cli.models import IMAGE_MODELS, as_model_input, build_cnn, build_lstm, build_mlp
from numpynn.cli.runs import run_folder, write_run
from numpynn.cli.userfiles import DATASETS, MAX_CATEGORIES, TEST_SIZE, Split, load_split
from numpynn.diagnostics import Diagnostics
from numpynn.lr_finder import lr_find

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
MAX_WEIGHTS = 50_000_000  # in the dense layers: 200 MB of float32, about 800 MB with Adam


class Settings(NamedTuple):
    source: str
    hidden: tuple
    epochs: int
    batch_size: int
    lr: float | None


def run(args) -> int:
    started, timings = datetime.datetime.now(), {}
    settings = _settings(args)
    args.threads = _use_threads(args.threads)  # the count used, recorded with the settings
    manual_seed(args.seed)
    with _timed(timings, "load data"):
        csv = {"drop": args.drop, "one_hot": dict.fromkeys(args.one_hot)} if args.csv else {}
        split = load_split(settings.source, args.seed, args.csv, args.target, args.data_root, **csv)
    model, x_train, x_test, layout = _build(args, settings, split)
    main_rank = distributed.init().is_main  # under mpiexec, rank 0 prints and writes
    if not args.quiet and main_rank:
        sizes = f"{len(x_train):,} training and {len(x_test):,} test samples"
        print(f"{settings.source}: {sizes}; {layout}")
    found = _find_lr(args, settings, model, x_train, split.y_train, main_rank)
    if found is not None:
        settings = settings._replace(lr=found.suggestion)
    with _timed(timings, "train"):
        history = model.fit(
            x_train,
            split.y_train,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            seed=args.seed,
            validation_split=args.validation_split,
            verbose=0 if args.quiet else 1,
            callbacks=[] if args.no_diagnostics else [Diagnostics()],
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
        "lr_find": found,
    }
    written = write_run(out, model, args.argv, run, split, probabilities)
    _print_outcome(args, out, written, split, probabilities.argmax(axis=1))
    return 0


def _find_lr(args, settings: Settings, model, x_train, y_train, main_rank: bool):
    """With --find-lr: the learning-rate range test on a copy of the model, and the model's
    optimizer set to the suggested rate; None without."""
    if not args.find_lr:
        return None
    found = lr_find(model, x_train, y_train, batch_size=settings.batch_size, seed=args.seed)
    for group in model.optimizer.param_groups:
        group["lr"] = found.suggestion
    if not args.quiet and main_rank:
        print(f"learning-rate range test: training with the suggested rate {found.suggestion:.3g}")
    return found


# --- settings -----------------------------------------------------------------------------------


def _settings(args) -> Settings:
    """The options checked against each other, and the dataset's defaults for those not given."""
    if args.csv and args.dataset:
        raise UsageError("give --dataset or --csv, not both")
    if args.target and not args.csv:
        raise UsageError("--target names a column of a CSV file: give --csv FILE too")
    if args.csv and not args.target:
        raise UsageError("--csv needs --target COLUMN (the column to predict)")
    for option, names_ in (("--drop", args.drop), ("--one-hot", args.one_hot)):
        if names_ and not args.csv:
            raise UsageError(f"{option} names a column of a CSV file: give --csv FILE too")
    source = "csv" if args.csv else args.dataset or "digits"
    if args.model in IMAGE_MODELS and source in ("iris", "csv"):
        raise UsageError(
            f"--model {args.model} needs images (digits, mnist, fashion-mnist), not {source}"
        )
    if args.find_lr and args.lr is not None:
        raise UsageError("give --lr or --find-lr (which chooses the rate), not both")
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


def _use_threads(threads) -> int | None:
    """Set the run's threads (``nn.set_num_threads``: batch parts at once, BLAS at one thread;
    2 BLAS threads on busy cores made training up to 10x slower, benchmarks/README.md);
    without threadpoolctl, ``auto`` leaves them as they are."""
    try:
        return set_num_threads(threads)
    except ImportError:
        if threads != "auto":
            raise UsageError(
                'numpynn train: --threads needs threadpoolctl: pip install "numpynn[threads]"'
            ) from None
        return None


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
        "columns": split.columns,
        "dropped": list(args.drop),
        "categories": split.categories,
    }


# --- the model ----------------------------------------------------------------------------------


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


def _build(args, settings: Settings, split: Split):
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
        x_train, x_test = (as_model_input(x, "cnn", split.image_shape) for x in (x_train, x_test))
        layout = f"CNN (conv 16, conv 32, dense {','.join(map(str, hidden))})"
    else:
        _check_size(hidden, x_train.shape[1], classes)
        model = build_mlp(x_train, classes, hidden, args.activation, split.image_shape is None)
        layout = f"MLP {x_train.shape[1]}-{'-'.join(map(str, hidden))}-{classes}"
    options = {} if settings.lr is None else {"lr": settings.lr}
    optimizer = names.get("optimizer", args.optimizer, model.parameters(), **options)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, x_train, x_test, layout


# --- what it prints -----------------------------------------------------------------------------


@contextlib.contextmanager
def _timed(timings: dict, phase: str):
    start = time.perf_counter()
    yield
    timings[phase] = time.perf_counter() - start


def _print_outcome(args, out: pathlib.Path, written, split: Split, predicted) -> None:
    print(f"test accuracy: {np.mean(predicted == split.y_test):.4f}")
    if args.quiet:
        print(f"run folder: {out}")
        return
    print(metrics.classification_report(split.y_test, predicted, split.class_names))
    print(f"wrote {', '.join(written)} to {out}")
    print(_next_steps(out, split.image_shape is not None))


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


# --- the options --------------------------------------------------------------------------------


def _per_dataset(key: str) -> str:
    values = {source: settings[key] for source, settings in DEFAULTS.items()}
    return ", ".join(
        f"{source} {','.join(map(str, v)) if isinstance(v, tuple) else v}"
        for source, v in values.items()
    )


def register(commands) -> None:
    t = commands.add_parser(
        "train",
        help="train a network and write a model, metrics and plots",
        description="Train a classifier and write model.npz, metrics.json and plots to a "
        "run folder. Options not given take the dataset's defaults, shown below. Started "
        'by mpiexec (pip install "numpynn[mpi]"), e.g. OMP_NUM_THREADS=1 mpiexec -n 2 '
        "numpynn train, it trains data-parallel over the ranks and rank 0 writes the run.",
    )
    _add_data_options(t.add_argument_group("data"))
    _add_network_options(t.add_argument_group("network and training"))
    output = t.add_argument_group("output")
    output.add_argument(
        "--out", type=pathlib.Path, metavar="FOLDER", help="default: runs/<date>-<time>"
    )
    output.add_argument(
        "--quiet", action="store_true", help="print only the test accuracy and the run folder"
    )
    output.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="leave out the per-layer statistics and diagnoses (nn.callbacks.Diagnostics) "
        "that metrics.json and report.html otherwise hold",
    )
    t.set_defaults(command=run, parser=t)


def _add_data_options(source) -> None:
    source.add_argument("--dataset", choices=DATASETS, help="a dataset by name (default: digits)")
    source.add_argument(
        "--csv", type=pathlib.Path, metavar="FILE", help="a CSV file (with --target) instead"
    )
    source.add_argument("--target", metavar="COLUMN", help="the CSV column to predict")
    source.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a CSV column to leave out of the features, such as an ID or a text column "
        "(repeat for more); predict leaves it out too",
    )
    source.add_argument(
        "--one-hot",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a CSV column of categories (text such as red, green, blue) to read as one 0/1 "
        f"feature per category, at most {MAX_CATEGORIES} (repeat for more); predict encodes "
        "it the same way",
    )
    source.add_argument(
        "--data-root", type=pathlib.Path, metavar="FOLDER", help="a folder holding the MNIST files"
    )
    source.add_argument(
        "--validation-split",
        type=fraction,
        metavar="FRACTION",
        default=0.1,
        help="share of the training data held out for val_loss (default: 0.1; 0 for none)",
    )


def _add_network_options(group) -> None:
    group.add_argument(
        "--model",
        choices=("mlp", "cnn", "lstm"),
        default="mlp",
        help="cnn, lstm (reads an image row by row): images only (default: mlp)",
    )
    group.add_argument(
        "--hidden",
        type=hidden_sizes,
        metavar="SIZES",
        help=f"hidden layer sizes, e.g. 256,128 (default: {_per_dataset('hidden')}; cnn 128); "
        "an lstm's units (default: 128)",
    )
    group.add_argument(
        "--activation", default="relu", metavar="NAME", help="relu, tanh, gelu, ... (default: relu)"
    )
    for flag, key in (("--epochs", "epochs"), ("--batch-size", "batch_size")):
        group.add_argument(
            flag, type=whole_number(1), metavar="N", help=f"default: {_per_dataset(key)}"
        )
    group.add_argument(
        "--optimizer",
        default="adam",
        metavar="NAME",
        help="sgd, adam, adamw, rmsprop, adagrad (default: adam)",
    )
    group.add_argument(
        "--lr",
        type=learning_rate,
        help=f"learning rate (default with adam: {_per_dataset('lr')}; else the optimizer's)",
    )
    group.add_argument(
        "--find-lr",
        action="store_true",
        help="run the learning-rate range test (nn.lr_find) first and train with its "
        "suggestion; metrics.json and lr_find.png record the test",
    )
    group.add_argument("--seed", type=whole_number(0), metavar="N", default=0, help="default: 0")
    group.add_argument(
        "--threads",
        type=thread_count,
        metavar="N",
        default="auto",
        help="threads: a count, or auto (every core when one is idle, else one); large "
        "layers split their batch over them, BLAS runs one thread. Results can differ in "
        "the last digits between counts: give a count to repeat a run bit for bit. "
        'Needs threadpoolctl (pip install "numpynn[threads]") (default: auto)',
    )
