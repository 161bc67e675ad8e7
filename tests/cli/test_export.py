"""numpynn export."""

import numpy as np
import pytest

import numpynn as nn
from cli.tools import run_main


def test_export_writes_what_onnxruntime_runs_as_predict(trained, tmp_path, capsys):
    run = trained / "run"
    code, _, err = run_main(["export", run / "model.npz", tmp_path / "m.npz"], capsys)
    assert code == 2 and "must end in .onnx" in err and not (tmp_path / "m.npz").exists()
    code, _, err = run_main(["export", tmp_path / "absent.npz", tmp_path / "m.onnx"], capsys)
    assert code == 1 and "no model file at" in err
    onnxruntime = pytest.importorskip("onnxruntime", reason='export needs "numpynn[onnx]"')
    code, out, err = run_main(["export", run / "model.npz", tmp_path / "m.onnx"], capsys)
    assert code == 0 and out.startswith(f"wrote {tmp_path / 'm.onnx'}"), err
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    x = nn.data.load_digits().x[:5]
    name = session.get_inputs()[0].name
    expected = nn.load_model(run / "model.npz").predict(x)
    np.testing.assert_allclose(session.run(None, {name: x})[0], expected, atol=1e-5)


def test_export_names_a_functional_model_s_inputs(tmp_path, capsys):
    onnxruntime = pytest.importorskip("onnxruntime", reason='export needs "numpynn[onnx]"')
    inputs = nn.Input(shape=(1, 6, 6))
    h = nn.MaxPooling2D()(nn.Conv2D(2, 3, padding="same", activation="relu")(inputs))
    model = nn.Model(inputs, nn.Dense(3)(nn.Flatten()(h)))
    model.save(tmp_path / "m.npz")
    code, out, err = run_main(["export", tmp_path / "m.npz", tmp_path / "m.onnx"], capsys)
    assert code == 0 and "m.onnx" in out and "inputs input_1" in out, err
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    # float32 through different summation orders
    np.testing.assert_allclose(session.run(None, {"input_1": x})[0], model(x), atol=1e-5)
