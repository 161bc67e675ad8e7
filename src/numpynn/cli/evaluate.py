"""``numpynn evaluate MODEL``: test accuracy and a per-class report of a saved model, on the
test part of the data it was trained on (or of ``--dataset`` / ``--csv``)."""

from __future__ import annotations

import pathlib

import numpy as np

from numpynn import metrics
from numpynn.cli.arguments import UsageError
from numpynn.cli.models import as_model_input, class_names, load
from numpynn.cli.userfiles import DATASETS, load_split


def run(args) -> int:
    model, meta = load(args.model)
    source, csv_path, target = _evaluation_source(args, meta)
    csv = {}
    if source == "csv":  # the columns as the model was trained on them
        csv = {"drop": meta.get("dropped") or (), "one_hot": meta.get("categories")}
    split = load_split(source, meta.get("seed") or 0, csv_path, target, args.data_root, **csv)
    _check_fits(args.model, meta, source, split)
    x_test = as_model_input(split.x_test, meta.get("model"), meta.get("image_shape"))
    probabilities = model.predict(x_test, batch_size=1024)
    names_ = class_names(args.model, meta, probabilities.shape[1])
    if len(split.class_names) != len(names_):
        raise ValueError(
            f"{args.model} tells {len(names_)} classes apart; {source} has {len(split.class_names)}"
        )
    if meta.get("class_names") and list(split.class_names) != names_:
        raise ValueError(
            f"{args.model} was trained on the classes {', '.join(names_)}; {source} has "
            f"{', '.join(map(str, split.class_names))}"
        )
    predicted = probabilities.argmax(axis=1)
    accuracy = np.mean(predicted == split.y_test)
    print(f"test accuracy: {accuracy:.4f} on {len(split.y_test)} samples of {source}")
    print(metrics.classification_report(split.y_test, predicted, names_))
    return 0


def _check_fits(path, meta: dict, source: str, split) -> None:
    """Refuse data of another width, or a CSV whose feature columns are not the model's."""
    features = meta.get("features")
    if features and split.x_test[0].size != features:
        raise ValueError(
            f"{path} takes {features} values per sample; {source} has {split.x_test[0].size}"
        )
    trained_on = meta.get("columns")
    if split.columns and trained_on and split.columns != trained_on:
        raise ValueError(
            f"{path} was trained on the columns {', '.join(trained_on)}, in this order; "
            f"the CSV file's are {', '.join(split.columns)}"
        )


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


def register(commands) -> None:
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
    e.set_defaults(command=run, parser=e)
