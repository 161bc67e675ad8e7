"""The README's quick start runs as written and learns."""

import pathlib
import runpy

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def test_quickstart_learns_the_spirals(capsys):
    main = runpy.run_path(str(EXAMPLES / "quickstart.py"))["main"]
    assert main(epochs=20) >= 0.97
    assert "accuracy" in capsys.readouterr().out


def test_readme_python_blocks_run_as_written(capsys, tmp_path, monkeypatch):
    import re

    monkeypatch.chdir(tmp_path)  # the Keras quick start saves a model file
    readme = (EXAMPLES.parent / "README.md").read_text()
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):
        exec(compile(block, "README.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "accuracy 1.00" in out
    assert "Total params: 403" in out and "val_accuracy: " in out
    assert namespace["history"].history["val_accuracy"][-1] > 0.95  # the Keras quick start


def run_example(name):
    return runpy.run_path(str(EXAMPLES / f"{name}.py"))["main"]


needs_fashion = pytest.mark.skipif(
    not pathlib.Path("/usr/share/datasets/fashion-mnist").exists(),
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


@needs_fashion
def test_explicit_loop_example_shortened(capsys):
    results = run_example("explicit_loop")(epochs=2, limit=30_000)  # 600 steps each
    assert results["cross-entropy"] > 0.75 and results["mse"] > 0.6
    assert "confusion matrix" in capsys.readouterr().out


def test_keras_iris_example_shortened(capsys):
    accuracies, xor = run_example("keras_iris")(epochs=100, splits=2, xor_epochs=500)
    assert min(accuracies) > 0.85
    assert (xor[:, 0] > 0.5).tolist() == [False, True, True, False]
    assert "Iris split 1" in capsys.readouterr().out


@needs_fashion
def test_full_batch_example_shortened(tmp_path):
    curves = run_example("full_batch")(iterations=20, out=tmp_path / "c.png", limit=2000, every=10)
    assert curves["loss"][-1] < curves["loss"][0] and (tmp_path / "c.png").stat().st_size > 0


@needs_fashion
def test_leaky_mlp_example_shortened(capsys):
    assert run_example("leaky_mlp")(epochs=1, limit=5000) > 0.7
    assert "Epoch 1/1" in capsys.readouterr().out


@needs_fashion
def test_cnn_example_shortened(capsys):
    assert run_example("cnn")(epochs=1, limit=2048) > 0.6
    assert "epoch 1: loss" in capsys.readouterr().out


@needs_fashion
def test_sequence_classifier_example_shortened(capsys):
    accuracy = run_example("sequence_classifier")(epochs=1, limit=2048)["numpynn"]
    assert accuracy > 0.35  # 16 steps of Adam; chance is 0.1
    assert "numpynn epoch 1: loss" in capsys.readouterr().out


@pytest.mark.skipif(
    not pathlib.Path("/usr/share/dict/words").exists(),
    reason="needs Debian's word list (apt-get install wamerican)",
)
def test_char_model_example_shortened(capsys):
    results = run_example("char_model")(steps=30, val_windows=100)
    assert results["transformer"] < results["unigram"] and results["lstm"] < results["unigram"]
    assert capsys.readouterr().out.count("made-up words") == 2
