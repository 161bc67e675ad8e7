"""The networks ``numpynn train`` builds, and the saved models the other commands load with
their metadata checked (a model file is user input too)."""

from __future__ import annotations

from numpynn.cli.userfiles import DATASETS, existing_file
from numpynn.io import ModelFileError, load_model
from numpynn.layers import Conv2D, Dense, Flatten, MaxPooling2D, Normalization, Reshape
from numpynn.layers.keras_recurrent import KerasLSTM
from numpynn.sequential import Sequential

IMAGE_MODELS = ("cnn", "lstm")


# --- building -----------------------------------------------------------------------------------


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


def as_model_input(x, model_kind, image_shape):
    """Flat samples as the model takes them: (N, 1, H, W) images for a CNN."""
    return x.reshape(len(x), 1, *image_shape) if model_kind == "cnn" else x


# --- loading ------------------------------------------------------------------------------------


def _is_int(value, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _names(value) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


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
    "columns": ("a list of column names", _names),
    "dropped": ("a list of column names", _names),
    "categories": (
        "an object of column names and their categories",
        lambda v: isinstance(v, dict) and all(_names(c) for c in v.values()),
    ),
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


def load(path):
    """(model, checked metadata) of a saved model file."""
    path = existing_file(path, "model file")
    model = load_model(path)
    return model, _metadata(model, path)


def class_names(path, meta: dict, outputs: int) -> list[str]:
    """The model's class names, or 0, 1, ... when its metadata names none."""
    names_ = meta.get("class_names") or [str(i) for i in range(outputs)]
    if len(names_) != outputs:
        raise ModelFileError(
            f"{path}: the model has {outputs} outputs but its metadata names {len(names_)} classes"
        )
    return names_
