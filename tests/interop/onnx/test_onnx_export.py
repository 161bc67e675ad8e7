"""``export`` as a whole: containers and graphs, names, dtypes, refusals, files left behind."""

import numpy as np
import pytest
from onnx_helpers import ATOL, RTOL, onnx, run

import numpynn as nn
import numpynn.onnx


def several_inputs_and_outputs():
    a, b = nn.Input(shape=(4,), name="left"), nn.Input(shape=(4,), name="right")
    shared = nn.Dense(6, activation="relu", name="shared")(a)  # `a` feeds two branches
    merged = nn.Concatenate(name="joined")([shared, nn.Subtract()([a, b])])
    product = nn.Multiply()([a, b, nn.Dense(4, activation="tanh")(b)])
    mean = nn.Average()([a, b])
    out_1 = nn.Dense(3, activation="softmax", name="probabilities")(merged)
    out_2 = nn.Dense(2, name="score")(nn.Add()([product, mean, a]))
    return nn.Model([a, b], [out_1, out_2, mean])


def test_functional_model_with_several_inputs_and_outputs(tmp_path):
    model = several_inputs_and_outputs().eval()
    path = tmp_path / "graph.onnx"
    nn.onnx.export(model, path)
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["left", "right"]
    assert [o.name for o in proto.graph.output] == ["probabilities", "score", "average_1"]
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal((7, 4)).astype(np.float32) for _ in range(2))
    outs = run(path, {"left": x1, "right": x2})
    for out, expected in zip(outs, model(x1, x2), strict=True):
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    loaded = nn.onnx.load(path)
    assert loaded.input_names == ["left", "right"]
    for out, expected in zip(loaded(x1, x2), model(x1, x2), strict=True):
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_float64_model_is_written_as_float32(tmp_path):
    nn.set_default_dtype(np.float64)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, padding="same"), nn.Flatten(), nn.Linear(15, 2))
    model(np.zeros((1, 2, 5)))
    path = tmp_path / "f64.onnx"
    nn.onnx.export(model, path, input_shape=(2, 5))
    x = np.random.default_rng(0).standard_normal((3, 2, 5))
    (out,) = run(path, {"input": x.astype(np.float32)})
    np.testing.assert_allclose(out, model(x), rtol=1e-5, atol=1e-5)


class Cube(nn.Module):
    def forward(self, x):
        return x**3


def test_unsupported_layer_is_named_and_no_file_is_left(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), Cube(), nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"Cube\(\) \(at 'cube_1'\) has no ONNX equivalent"):
        nn.onnx.export(model, tmp_path / "cube.onnx", input_shape=(3,))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="input shape is unknown"):
        nn.onnx.export(nn.Sequential(nn.Linear(None, 2)), tmp_path / "lazy.onnx")
    assert list(tmp_path.iterdir()) == []


def test_package_name_does_not_shadow_the_onnx_package():
    package = numpynn.onnx._files.onnx_package()
    assert package is onnx and "numpynn" not in package.__file__
    assert numpynn.onnx.__name__ == "numpynn.onnx" and nn.onnx is numpynn.onnx


def test_saved_model_exports(tmp_path):
    """A model file read back (Keras's layers, their activations) exports as it computes."""
    inputs = nn.Input(shape=(1, 6, 6))
    h = nn.MaxPooling2D()(nn.Conv2D(2, 3, padding="same", activation="relu")(inputs))
    model = nn.Model(inputs, nn.Dense(3)(nn.Flatten()(h)))
    model.save(tmp_path / "m.npz")
    nn.onnx.export(nn.load_model(tmp_path / "m.npz", compile=False), tmp_path / "m.onnx")
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    (out,) = run(tmp_path / "m.onnx", {"input_1": x})
    np.testing.assert_allclose(out, model(x), rtol=RTOL, atol=ATOL)
