"""Model files: round trips, optimizer state, and damaged or hostile files (clear errors,
nothing executed, nothing half-written)."""

import json

import numpy as np
import pytest
from cases import residual_block, two_branches

import numpynn as nn
from numpynn import io


@nn.register_layer
class Scale(nn.Module):
    """A custom layer: y = x * s, one learned scale per feature."""

    def __init__(self, size: int, initial: float = 1.0):
        self.size, self.initial = size, initial
        self.scale = nn.Parameter(np.full(size, initial, dtype=nn.get_default_dtype()), "scale")

    def forward(self, x):
        self.x = x
        return x * self.scale.data

    def backward(self, grad):
        self.scale.grad += (grad * self.x).sum(axis=0)
        return grad * self.scale.data

    def get_config(self):
        return {"size": self.size, "initial": self.initial}


class Unregistered(nn.Module):
    def forward(self, x):
        return x

    def backward(self, grad):
        return grad


def sequential():
    return nn.Sequential(
        nn.Dense(6, activation="relu", input_dim=4),
        nn.Dropout(0.3),
        nn.LeakyReLU(0.1),
        nn.Linear(6, 4),
        nn.Reshape(2, 2),
        nn.Flatten(),
        nn.Dense(3, activation="softmax"),
    )


def multi_io():
    a, b = nn.Input(shape=(4,), name="a"), nn.Input(shape=(2,), name="b")
    h = nn.Concatenate()([nn.Dense(3, activation="tanh")(a), b])
    return nn.Model([a, b], [nn.Dense(2)(h), nn.Subtract()([nn.Dense(2)(h), nn.Dense(2)(h)])])


def custom():
    inputs = nn.Input(shape=(4,))
    return nn.Model(inputs, nn.Dense(2)(Scale(4, initial=0.5)(inputs)))


MODELS = {
    "sequential": sequential,
    "residual": residual_block,
    "branches": two_branches,
    "multi-io": multi_io,
    "custom": custom,
}


def inputs_for(model, n=5):
    rng = np.random.default_rng(0)
    if isinstance(model, nn.Model) and len(model.inputs) > 1:
        return [rng.normal(size=(n, *t.shape[1:])).astype(np.float32) for t in model.inputs]
    return rng.normal(size=(n, 4)).astype(np.float32)


@pytest.mark.parametrize("name", MODELS)
def test_save_load_gives_identical_predictions(name, tmp_path):
    model = MODELS[name]()
    x = inputs_for(model)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = nn.load_model(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    for a, b in zip(np.atleast_1d(model.predict(x)), np.atleast_1d(loaded.predict(x))):
        np.testing.assert_array_equal(a, b)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_float64_models_come_back_float64(tmp_path):
    model = sequential().to(np.float64)
    nn.save_model(model, tmp_path / "m.npz")
    assert all(p.dtype == np.float64 for p in nn.load_model(tmp_path / "m.npz").parameters())


def test_optimizer_state_resumes_training_exactly(tmp_path):
    x = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 3, 64)

    def fresh():
        nn.manual_seed(0)
        model = nn.Sequential(
            nn.Dense(8, activation="relu", input_dim=4), nn.Dense(3, activation="softmax")
        )
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        return model

    straight = fresh()
    straight.fit(x, y, epochs=3, shuffle=False, verbose=0)
    resumed = fresh()
    resumed.fit(x, y, epochs=2, shuffle=False, verbose=0)
    resumed.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert (
        isinstance(loaded.optimizer, nn.optim.Adam)
        and loaded.optimizer.param_groups[0]["eps"] == 1e-7
    )
    loaded.fit(x, y, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(straight.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert loaded.evaluate(x, y, verbose=0) == straight.evaluate(x, y, verbose=0)


def test_uncompiled_and_not_yet_trained_models(tmp_path):
    model = sequential()
    model.save(tmp_path / "plain.npz")
    with pytest.raises(RuntimeError, match="not compiled"):
        nn.load_model(tmp_path / "plain.npz").evaluate(np.zeros((1, 4)), np.zeros(1, int))
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    model.save(tmp_path / "compiled.npz")
    loaded = nn.load_model(tmp_path / "compiled.npz")
    assert isinstance(loaded.optimizer, nn.optim.RMSprop)  # made at compile, as before saving
    assert loaded.optimizer.param_groups[0]["eps"] == 1e-7  # with Keras's defaults
    assert nn.load_model(tmp_path / "compiled.npz", compile=False).optimizer is None
    model.compile(nn.optim.SGD(model.parameters()), "sparse_categorical_crossentropy")
    model.save(tmp_path / "no-optimizer.npz", include_optimizer=False)
    assert nn.load_model(tmp_path / "no-optimizer.npz").optimizer is None  # not compiled


def test_save_and_load_weights(tmp_path):
    model, other = residual_block(), residual_block()
    model.save_weights(tmp_path / "w.npz")
    other.load_weights(tmp_path / "w.npz")
    x = inputs_for(model)
    np.testing.assert_array_equal(model(x), other(x))
    with pytest.raises(nn.ModelFileError, match=r"(?s)mismatched: dense_1.bias.*missing: dense_3"):
        two_branches().load_weights(tmp_path / "w.npz")


def test_unregistered_layers_cannot_be_saved(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), Unregistered())
    with pytest.raises(
        TypeError, match=r"Unregistered \(at '1'\) is not registered.*register_layer"
    ):
        model.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model = sequential()
    model.save(path)
    before = path.read_bytes()

    def broken(file, **arrays):
        file.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(io.np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


# --- damaged and hostile files ---------------------------------------------------------------


def rewrite(source, target, header=None, drop=(), add=None, raw_header=None):
    """Copy a model file, changing its header or entries."""
    with np.load(source, allow_pickle=False) as npz:
        entries = {k: npz[k] for k in npz.files if k not in drop}
    if header is not None:
        text = json.loads(entries["numpynn.json"].tobytes())
        header(text)
        entries["numpynn.json"] = np.frombuffer(json.dumps(text).encode(), np.uint8)
    if raw_header is not None:
        entries["numpynn.json"] = np.frombuffer(raw_header, np.uint8)
    entries.update(add or {})
    with open(target, "wb") as file:
        np.savez(file, **entries)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.npz"
    residual_block().save(path)
    return path


def unknown_class(header):
    header["architecture"]["config"]["layers"][0]["class"] = "Dens"


def bad_version(header):
    header["version"] = 99


def bad_inbound(header):
    header["architecture"]["config"]["layers"][1]["inbound"] = ["nowhere"]


def bad_config(header):
    header["architecture"]["config"]["layers"][0]["config"]["bogus"] = 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"header": unknown_class}, "unknown layer 'Dens'; did you mean 'Dense'"),
        ({"header": bad_version}, "format version 99; this numpynn reads 1"),
        ({"header": bad_inbound}, "refers to 'nowhere', which it does not define$"),
        ({"header": bad_config}, "cannot rebuild layer 'Dense'.*bogus"),
        ({"raw_header": b"{not json"}, "the numpynn.json entry is damaged"),
        ({"raw_header": b"\xff\xfe"}, "the numpynn.json entry is damaged"),
        ({"drop": ["weights/dense_2.bias"]}, "missing: dense_2.bias"),
        (
            {"add": {"weights/dense_9.weight": np.zeros(3, np.float32)}},
            "unexpected: dense_9.weight",
        ),
        (
            {"add": {"weights/dense_1.bias": np.zeros(7, np.float32)}},
            r"mismatched: dense_1.bias: expected \(5,\) float32, got \(7,\) float32",
        ),
        ({"add": {"weights/dense_1.bias": np.array(["a"] * 5)}}, "is not numeric"),
        ({"drop": ["numpynn.json"]}, "not a numpynn file"),
    ],
    ids=[
        "unknown-layer",
        "version",
        "graph",
        "config",
        "json",
        "utf8",
        "missing",
        "extra",
        "shape",
        "strings",
        "no-header",
    ],
)
def test_tampered_files_fail_with_what_is_wrong(saved, tmp_path, change, message):
    target = tmp_path / "bad.npz"
    rewrite(saved, target, **change)
    with pytest.raises(nn.ModelFileError, match=message) as error:
        nn.load_model(target)
    assert str(target) in str(error.value)


@pytest.mark.parametrize("cut", [0, 10, 100, 0.5, -20])
def test_truncated_files_fail_clearly(saved, tmp_path, cut):
    data = saved.read_bytes()
    target = tmp_path / "cut.npz"
    target.write_bytes(data[: int(len(data) * cut) if isinstance(cut, float) else cut])
    with pytest.raises(nn.ModelFileError, match="cut.npz"):
        nn.load_model(target)


def test_foreign_files_fail_clearly(tmp_path):
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "noise.npz").write_bytes(np.random.default_rng(0).bytes(500))
    for name, why in (("array.npy", "one array"), ("noise.npz", "not a readable numpynn file")):
        with pytest.raises(nn.ModelFileError, match=why):
            nn.load_model(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no model file at"):
        nn.load_model(tmp_path / "absent.npz")


class Payload:
    """Unpickling this would create a file: the test checks that it never happens."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_entries_are_never_executed(saved, tmp_path):
    marker = tmp_path / "executed"
    target = tmp_path / "evil.npz"
    with np.load(saved) as npz:
        entries = {k: npz[k] for k in npz.files}
    entries["weights/dense_1.bias"] = np.array([Payload(str(marker))], dtype=object)
    with open(target, "wb") as file:
        np.savez(file, **entries)  # np.savez pickles object arrays
    with pytest.raises(nn.ModelFileError, match=r"not numeric \(object\)"):
        nn.load_model(target)
    with pytest.raises(nn.ModelFileError):
        residual_block().load_weights(target)
    assert not marker.exists()
    with np.load(target, allow_pickle=True) as npz:  # proof that the payload is live
        npz["weights/dense_1.bias"][0].close()  # unpickling opened (created) the marker file
    assert marker.exists()
