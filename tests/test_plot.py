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
    assert two[1] > 1.6 * one[1] and two[0] < 1.2 * one[0]  # two panels, one above the other
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


@pytest.fixture
def figures(monkeypatch):
    """The matplotlib figures the plot functions save, to look inside them."""
    saved = []
    save = nn.plot._save

    def keep(fig, path):
        saved.append(fig)
        return save(fig, path)

    monkeypatch.setattr(nn.plot, "_save", keep)
    return saved


def test_samples_are_drawn_as_the_data_is_and_say_the_labels_are_predictions(tmp_path, figures):
    digits = nn.data.load_digits(flat=False).x[:3, 0]  # light strokes (up to 1) on 0
    labels, predictions = np.array([0, 1, 2]), np.array([0, 7, 2])
    nn.plot.plot_images(
        digits, tmp_path / "s.png", labels, predictions, nn.data.MNIST_CLASSES, title="digits"
    )
    fig = figures[-1]
    heading = fig._suptitle.get_text()
    assert heading.startswith("digits\n") and "predicted class" in heading and "true" in heading
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["0", "7\n(true 1)", "2"]
    assert [ax.title.get_color() for ax in titled] == ["black", "#b3261e", "black"]
    image = titled[0].get_images()[0]
    assert image.get_cmap().name == "gray"  # high values light, as in the data
    assert image.get_clim() == (float(digits.min()), float(digits.max()))
    # the ground (0) of an image is drawn black, its one bright pixel white
    spot = np.zeros((1, 10, 10))
    spot[0, 4, 4] = 1.0
    path = nn.plot.plot_images(spot, tmp_path / "spot.png", columns=1)
    with Image.open(path) as png:
        grey = np.asarray(png.convert("L"), dtype=float) / 255
    assert np.mean(grey < 0.05) > 0.25  # dark on light would leave almost no black


def test_confusion_title_and_upright_short_labels(tmp_path, figures):
    matrix = np.array([[5, 1], [2, 7]])
    nn.plot.plot_confusion_matrix(matrix, tmp_path / "a.png", ["0", "1"], title="digits: 0.9778")
    ax = figures[-1].axes[0]
    assert ax.get_title() == "digits: 0.9778"
    assert {label.get_rotation() for label in ax.get_xticklabels()} == {0.0}
    nn.plot.plot_confusion_matrix(matrix, tmp_path / "b.png", ["T-shirt/top", "Trouser"])
    assert {label.get_rotation() for label in figures[-1].axes[0].get_xticklabels()} == {45.0}


@pytest.mark.parametrize("epochs", [1, 2, 3, 7])
def test_history_epoch_ticks_are_whole_numbers(tmp_path, figures, epochs):
    history = {"loss": list(np.linspace(1, 0.5, epochs)), "val_loss": [0.9] * epochs}
    nn.plot.plot_history(history, tmp_path / "h.png")
    ax = figures[-1].axes[0]
    low, high = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def smallest_text_on_a_phone(fig, path) -> float:
    """The height in CSS pixels of the figure's smallest text when a page shows the PNG
    ``path`` at phone width (``plot.PHONE`` pixels, or its own width if narrower)."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
    with Image.open(path) as png:
        scale = min(1.0, nn.plot.PHONE / png.size[0])
    return min(sizes) * 100 / 72 * scale  # points to pixels at the saved 100 dpi


def test_curves_and_captions_are_readable_at_phone_width(tmp_path, figures):
    history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8], "val_loss": [1, 0.7, 0.5]}
    path = nn.plot.plot_history(history, tmp_path / "h.png", title="digits: training")
    assert smallest_text_on_a_phone(figures[-1], path) >= 10
    x = nn.data.load_digits(flat=False).x[:32, 0]
    labels, predictions = np.arange(32) % 10, np.arange(32) % 7
    title = "digits: the model's predictions for the first 32 test samples"
    path = nn.plot.plot_images(x, tmp_path / "s.png", labels, predictions, title=title)
    assert smallest_text_on_a_phone(figures[-1], path) >= 10
