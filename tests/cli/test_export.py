"""numpynn export: onto a new or existing file, and the places it cannot write to."""

import os
import shutil

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


def test_an_existing_file_is_replaced_whole_and_the_message_says_so(trained, tmp_path, capsys):
    pytest.importorskip("onnx", reason='export needs "numpynn[onnx]"')
    (tmp_path / "m.onnx").write_bytes(b"an older export")
    code, out, err = run_main(
        ["export", trained / "run" / "model.npz", tmp_path / "m.onnx"], capsys
    )
    assert code == 0 and "replacing the file that was there" in out, err
    assert nn.onnx.load(tmp_path / "m.onnx")  # the whole new graph, not the old bytes
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left
    code, out, _ = run_main(["export", trained / "run" / "model.npz", tmp_path / "n.onnx"], capsys)
    assert code == 0 and "replacing" not in out


def destinations(tmp_path, model):
    """(OUTPUT, expected message, exit code) for places export cannot write to."""
    (tmp_path / "folder.onnx").mkdir()
    (tmp_path / "afile").write_text("x")
    os.mkfifo(tmp_path / "pipe.onnx")
    (tmp_path / "dangling.onnx").symlink_to(tmp_path / "nowhere" / "m.onnx")
    shutil.copy(model, tmp_path / "model.onnx")  # a model file named .onnx, exported onto itself
    return [
        ("folder.onnx", "folder.onnx is a folder; give the file to write, such as ", 1),
        ("missing/deeper/m.onnx", "missing/deeper does not exist; make it first", 1),
        ("afile/m.onnx", "cannot write {}/afile/m.onnx: {}/afile is not a folder", 1),
        ("pipe.onnx", "pipe.onnx is a FIFO (named pipe), not a regular file", 1),
        ("dangling.onnx", "cannot write {}/dangling.onnx: {}/nowhere does not exist", 1),
        ("model.onnx", "model.onnx is the model file itself; give another name", 2),
    ]


def test_places_export_cannot_write_to_are_one_clear_error(trained, tmp_path, capsys):
    pytest.importorskip("onnx", reason='export needs "numpynn[onnx]"')
    cases = destinations(tmp_path, trained / "run" / "model.npz")
    before = sorted(p.name for p in tmp_path.iterdir())
    for output, message, expected in cases:
        model = tmp_path / "model.onnx" if output == "model.onnx" else trained / "run" / "model.npz"
        code, out, err = run_main(["export", model, tmp_path / output], capsys)
        assert code == expected and message.format(tmp_path, tmp_path) in err, (output, err)
        assert out == "" and len(err.splitlines()) == 1 + (code == 2)  # a usage line for 2
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no litter
    assert nn.load_model(tmp_path / "model.onnx").input_shape == (None, 64)  # left intact
