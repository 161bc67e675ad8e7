"""``numpynn predict MODEL INPUT``: each sample's most likely class and its probability."""

from __future__ import annotations

import pathlib

from numpynn.cli.models import as_model_input, class_names, load
from numpynn.cli.userfiles import Expected, read_inputs
from numpynn.io import ModelFileError


def run(args) -> int:
    model, meta = load(args.model)
    features = meta.get("features") or (model.input_shape or (None, None))[-1]
    if not features:
        raise ModelFileError(f"{args.model}: the model does not say how many values it takes")
    expected = Expected(
        features,
        meta.get("image_shape"),
        meta.get("columns"),
        meta.get("target"),
        tuple(meta.get("dropped") or ()),
        meta.get("categories"),
    )
    x = read_inputs(args.input, expected)
    x = as_model_input(x, meta.get("model"), meta.get("image_shape"))
    probabilities = model.predict(x, batch_size=1024)
    names_ = class_names(args.model, meta, probabilities.shape[1])
    for i, p in enumerate(probabilities):
        best = int(p.argmax())
        print(f"{i}: {names_[best]} ({p[best]:.3f})")
    return 0


def register(commands) -> None:
    p = commands.add_parser(
        "predict",
        help="classify samples from a .npy, .csv or image file",
        description="Print each sample's most likely class and its probability. INPUT is a "
        ".npy array (one sample, or N stacked as (N, features)), a .csv of numbers (a sample "
        "per row; with a header row of names, a model trained on a CSV takes its columns by "
        "name, leaves out its target and --drop columns and encodes its --one-hot ones as in "
        "training, so the training file itself works), or, for a "
        "model trained on images, a .png/.jpg/.bmp picture (resized to the training size; "
        "dark-on-light is inverted).",
    )
    p.add_argument("model", type=pathlib.Path, help="a model.npz written by numpynn train")
    p.add_argument("input", type=pathlib.Path, help="a .npy, .csv or image file of samples")
    p.set_defaults(command=run, parser=p)
