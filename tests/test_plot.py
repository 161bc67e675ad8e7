"""Plots: each writes a PNG that opens; without matplotlib, an error naming the install."""

import sys

import numpy as np
import pytest

import numpynn as nn

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'numpynn[plot]')")
Image = pytest.importorskip("PIL.Image")


def opens(path, min_size=(200, 150)):
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG" and image.size >= min_size
        return image.size


def test_history_plot_has_a_panel_per_quantity(tmp_path):
    history = nn.callbacks.History()
    for epoch, (loss, accuracy) in enumerate([(1.0, 0.5), (0.6, 0.7), (0.4, 0.8)]):
        history.on_epoch_end(
            epoch,
            {
                "loss": loss,
                "accuracy": accuracy,
                "val_loss": loss + 0.1,
                "val_accuracy": accuracy - 0.1,
            },
        )
    one = opens(nn.plot.plot_history({"loss": [1, 0.5]}, tmp_path / "one.png"))
    two = opens(nn.plot.plot_history(history, tmp_path / "two.png", title="run"))
    assert two[0] > 1.6 * one[0]  # two panels side by side
    with pytest.raises(ValueError, match="holds no values"):
        nn.plot.plot_history({}, tmp_path / "none.png")


def test_confusion_matrix_and_images(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    opens(nn.plot.plot_confusion_matrix(matrix, tmp_path / "cm.png", ["a", "b", "c"]))
    images = nn.data.load_digits().x[:12]
    path = nn.plot.plot_images(
        images,
        tmp_path / "digits.png",
        labels=np.arange(12) % 10,
        predictions=np.zeros(12, int),
        class_names=nn.data.MNIST_CLASSES,
    )
    opens(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cm.png", "digits.png"]  # no temporaries


def test_a_missing_matplotlib_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "numpynn\[plot\]"'):
        nn.plot.plot_history({"loss": [1.0]}, tmp_path / "h.png")
    assert not list(tmp_path.iterdir())
