"""Pictures of training: curves from a History, a confusion matrix, a grid of images.

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

import numpy as np

from numpynn._files import atomic_write


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('numpynn.plot needs matplotlib: pip install "numpynn[plot]"') from None
    return Figure(**kwargs)


def _save(fig, path) -> str:
    path = os.fspath(path)
    with atomic_write(path) as file:
        fig.savefig(file, format="png", dpi=100, bbox_inches="tight")
    return path


def plot_history(
    history, path, title: str | None = None, xlabel: str = "epoch", step: int = 1
) -> str:
    """One panel per quantity (loss, then each metric), training and validation curves.
    ``history`` is a History (``fit``'s result) or its ``.history`` dict; point i is drawn
    at x = (i + 1) * ``step``."""
    logs = getattr(history, "history", history)
    quantities = [k for k in logs if not k.startswith("val_") and k != "learning_rate"]
    if not quantities:
        raise ValueError("plot_history: the history holds no values")
    fig = _figure(figsize=(5 * len(quantities), 3.6))
    for ax, key in zip(np.atleast_1d(fig.subplots(1, len(quantities))), quantities):
        epochs = np.arange(1, len(logs[key]) + 1) * step
        ax.plot(epochs, logs[key], marker="o", markersize=3, label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], marker="o", markersize=3, label="validation")
        ax.set_xlabel(xlabel)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_confusion_matrix(matrix, path, class_names=None, title: str = "Confusion matrix") -> str:
    """A heatmap of ``matrix`` (rows: true class, columns: predicted) with the counts."""
    matrix = np.asarray(matrix)
    count = len(matrix)
    names = list(class_names) if class_names is not None else [str(i) for i in range(count)]
    size = max(4.0, 0.6 * count + 2)
    fig = _figure(figsize=(size, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(count), names, rotation=45, ha="right")
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
    images, path, labels=None, predictions=None, class_names=None, columns: int = 8, limit: int = 32
) -> str:
    """A grid of up to ``limit`` images with their true (and predicted) labels; a wrong
    prediction is titled in red. Images are (N, H, W), (N, 1, H, W) or flat squares."""
    images = np.asarray(images)[:limit]
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"plot_images: cannot make square images of {images.shape[1]} values")
        images = images.reshape(-1, side, side)
    elif images.ndim == 4:
        images = images[:, 0]
    rows = max(1, -(-len(images) // columns))
    fig = _figure(figsize=(1.3 * columns, 1.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns)).reshape(-1)

    def name(label):
        return class_names[int(label)] if class_names is not None else str(int(label))

    for i, ax in enumerate(axes):
        ax.axis("off")
        if i >= len(images):
            continue
        ax.imshow(images[i], cmap="gray_r")
        if labels is not None and predictions is not None:
            wrong = int(labels[i]) != int(predictions[i])
            ax.set_title(
                f"{name(predictions[i])}" + (f"\n(true {name(labels[i])})" if wrong else ""),
                color="red" if wrong else "black",
                fontsize=7,
            )
        elif labels is not None:
            ax.set_title(name(labels[i]), fontsize=7)
    return _save(fig, path)
