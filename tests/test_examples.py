"""The README's quick start runs as written and learns."""

import pathlib
import runpy

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
    assert (
        namespace["restored"].evaluate(namespace["x_train"], namespace["y_train"], verbose=0)[1]
        > 0.95
    )
