"""The README's code blocks and the examples run as written; the README's examples table is
what tools/example_figures.py reads from the examples' output."""

import importlib.util
import pathlib
import re
import runpy

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
README = (ROOT / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_quickstart_script_is_the_readme_quick_start():
    block = re.search(r"## Quick start \(PyTorch style\)\n\n```python\n(.*?)```", README, re.S)
    script = (EXAMPLES / "quickstart.py").read_text()
    assert script.split("# fmt: off\n\n", 1)[1] == block.group(1)


def test_quickstart_learns(capsys):
    runpy.run_path(str(EXAMPLES / "quickstart.py"), run_name="__main__")
    assert "accuracy 1.00" in capsys.readouterr().out


@pytest.mark.parametrize("number", range(len(python_blocks())))
def test_each_readme_python_block_runs_on_its_own(number, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the Keras quick start saves a model file
    namespace: dict = {}  # nothing from another block
    exec(compile(python_blocks()[number], f"README.md block {number + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    if "callbacks.EarlyStopping" in python_blocks()[number]:  # the Keras quick start
        assert "Total params: 403" in out and "val_accuracy: " in out
        assert namespace["history"].history["val_accuracy"][-1] > 0.95
    if "classification_report" in python_blocks()[number]:
        assert "macro avg" in out


def figures():
    spec = importlib.util.spec_from_file_location(
        "example_figures", ROOT / "tools" / "example_figures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_table_is_the_one_the_script_writes():
    tool = figures()
    rows = tool.current_rows(README)
    assert set(tool.EXAMPLES) <= set(rows)  # and others' examples, kept as they are
    for name, (what, _) in tool.EXAMPLES.items():
        assert rows[name].startswith(f"| `{name}.py` | {what} | ")
    assert tool.replace_table(README, tool.table({}, rows)) == README


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
    out = capsys.readouterr().out
    assert "confusion matrix" in out
    row = figures().explicit_loop(out)
    assert row.startswith(
        f"MSE {results['mse']:.4f}, cross-entropy {results['cross-entropy']:.4f}; "
    )


def test_keras_iris_example_shortened(capsys):
    accuracies, xor = run_example("keras_iris")(epochs=100, splits=2, xor_epochs=500)
    assert min(accuracies) > 0.85
    assert (xor[:, 0] > 0.5).tolist() == [False, True, True, False]
    out = capsys.readouterr().out
    assert "Iris split 1" in out
    row = figures().keras_iris(out)
    assert row.startswith(f"Iris {accuracies[0]:.3f}, {accuracies[1]:.3f} (mean ")
    assert row.endswith(f"XOR outputs {', '.join(f'{v:.3f}' for v in xor[:, 0])}")


@needs_fashion
def test_full_batch_example_shortened(tmp_path, capsys):
    curves = run_example("full_batch")(iterations=20, out=tmp_path / "c.png", limit=2000, every=10)
    assert curves["loss"][-1] < curves["loss"][0] and (tmp_path / "c.png").stat().st_size > 0
    row = figures().full_batch(capsys.readouterr().out)
    assert row.startswith(f"{curves['val_accuracy'][-1]:.4f} after 20 iterations (training loss ")


@needs_fashion
def test_leaky_mlp_example_shortened(capsys):
    accuracy = run_example("leaky_mlp")(epochs=1, limit=5000)
    assert accuracy > 0.7
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out
    assert figures().leaky_mlp(out).startswith(f"{accuracy:.4f} after 1 epoch; ")


@needs_fashion
def test_cnn_example_shortened(capsys):
    accuracy = run_example("cnn")(epochs=1, limit=2048)
    assert accuracy > 0.6
    out = capsys.readouterr().out
    assert "epoch 1: loss" in out
    assert figures().cnn(out).startswith(f"{accuracy:.4f} after 1 epoch; ")


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
