"""Pictures of training: curves from a History, a confusion matrix, a grid of images.

The curves and the image grid are drawn narrow (about 5 inches, 500 pixels) with text of at
least 11 points, so that they stay readable when a page shows them at phone width (350 CSS
pixels: 11-point text is then about 11 pixels high).

Needs matplotlib (``pip install "numpynn[plot]"``), imported only when a plot is made,
through its object-oriented API (``Figure``), so no global pyplot state or interactive
backend is touched. Each function writes a PNG atomically and returns its path.

>>> import os, tempfile, numpynn as nn
>>> history = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]}
>>> path = nn.plot.plot_history(history, os.path.join(tempfile.mkdtemp(), "h.png"))
>>> os.path.getsize(path) > 0
True
"""

from __future__ import annotations

import os
import textwrap

import numpy as np

from numpynn._files import atomic_write


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('numpynn.plot needs matplotlib: pip install "numpynn[plot]"') from None
    return Figure(**kwargs)


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


FONT = 11  # points: the smallest text in the curves and the image grid
PHONE = 350  # CSS pixels: the width at which a report shows a picture on a phone


def _readable(ax) -> None:
    """Tick labels, axis labels and title of ``ax`` at sizes readable on a phone."""
    ax.tick_params(labelsize=FONT)
    ax.xaxis.label.set_fontsize(FONT + 1)
    ax.yaxis.label.set_fontsize(FONT + 1)
    ax.title.set_fontsize(FONT + 2)


def _save(fig, path) -> str:
    path = os.fspath(path)
    with atomic_write(path) as file:
        fig.savefig(file, format="png", dpi=100, bbox_inches="tight")
    return path


def plot_history(
    history, path, title: str | None = None, xlabel: str = "epoch", step: int = 1
) -> str:
    """One panel per quantity (loss, then each metric), training and validation curves,
    stacked in one column. ``history`` is a History (``fit``'s result) or its ``.history``
    dict; point i is drawn at x = (i + 1) * ``step``."""
    logs = getattr(history, "history", history)
    quantities = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    if not quantities:
        raise ValueError("plot_history: the history holds no values")
    fig = _figure(figsize=(5, 3.4 * len(quantities) + 0.4), layout="constrained")
    fig.get_layout_engine().set(h_pad=0.1, hspace=0.05)  # inches: room between the panels
    for ax, key in zip(np.atleast_1d(fig.subplots(len(quantities), 1)), quantities):
        epochs = np.arange(1, len(logs[key]) + 1) * step
        ax.plot(epochs, logs[key], marker="o", markersize=3, label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], marker="o", markersize=3, label="validation")
        ax.set_xlabel(xlabel)
        _integer_ticks(ax.xaxis)  # epochs and iterations are whole numbers
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=FONT)
        _readable(ax)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return _save(fig, path)


def plot_confusion_matrix(matrix, path, class_names=None, title: str = "Confusion matrix") -> str:
    """A heatmap of ``matrix`` (rows: true class, columns: predicted) with the counts; the
    column labels are tilted only when they are long. Give the data set and the accuracy in
    ``title``."""
    matrix = np.asarray(matrix)
    count = len(matrix)
    names = list(class_names) if class_names is not None else [str(i) for i in range(count)]
    size = max(4.0, 0.6 * count + 2)
    fig = _figure(figsize=(size, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    tilt = max(map(len, names), default=0) > 3  # short labels fit upright
    ax.set_xticks(range(count), names, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    ax.set_yticks(range(count), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = matrix.max() / 2 if matrix.size else 0
    for i in range(count):
        for j in range(count):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color, fontsize=8)
    return _save(fig, path)


def plot_images(
    images,
    path,
    labels=None,
    predictions=None,
    class_names=None,
    columns: int = 4,
    limit: int = 32,
    title: str | None = None,
) -> str:
    """A grid of up to ``limit`` images, drawn as the data is (high values light, on one
    grey scale for the whole grid). With ``predictions``, each is labelled with its
    predicted class, and a wrong one in red with the true class below; with ``labels``
    only, with its true class. The figure's title says which. Four columns keep the
    captions readable at phone width."""
    images = np.asarray(images)[:limit]
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"plot_images: cannot make square images of {images.shape[1]} values")
        images = images.reshape(-1, side, side)
    elif images.ndim == 4:
        images = images[:, 0]
    rows = max(1, -(-len(images) // columns))
    fig = _figure(figsize=(1.25 * columns, 1.7 * rows + 0.9))
    low, high = (float(images.min()), float(images.max())) if images.size else (0.0, 1.0)
    axes = np.atleast_1d(fig.subplots(rows, columns)).reshape(-1)

    def name(label):
        return class_names[int(label)] if class_names is not None else str(int(label))

    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray", vmin=low, vmax=high)
        if predictions is not None:
            wrong = labels is not None and int(labels[i]) != int(predictions[i])
            ax.set_title(
                f"{name(predictions[i])}" + (f"\n(true {name(labels[i])})" if wrong else ""),
                color="#b3261e" if wrong else "black",  # 6:1 on white, as the report's red
                fontsize=FONT,
            )
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=FONT)
    heading = _images_title(title, labels, predictions)
    if heading:
        fig.suptitle(heading, fontsize=FONT)
    return _save(fig, path)


def _images_title(title, labels, predictions) -> str:
    if predictions is None:
        what = "true classes" if labels is not None else ""
    elif labels is None:
        what = "predicted classes"
    else:
        what = "each label is the predicted class;\nred: a mistake, with the true class"
    lines = [line for text in (title, what) if text for line in text.splitlines()]
    return "\n".join(textwrap.fill(line, 48) for line in lines)  # about as wide as 4 images
