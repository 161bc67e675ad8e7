"""Metrics: plain functions ``metric(y_true, y_pred) -> float``, the mean over the samples.

Because each is a mean over samples, ``fit`` reports the exact epoch value by weighting
each batch's value by its size. The names are Keras's (``"accuracy"``, ``"mse"``, ...).

>>> import numpy as np, numpynn as nn
>>> scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
>>> nn.metrics.accuracy(np.array([1, 0, 0]), scores)
0.6666666666666666
>>> nn.metrics.accuracy(np.array([[0, 1], [1, 0], [0, 1]]), scores)
1.0
"""

from __future__ import annotations

import numpy as np

from numpynn import names


def _labels(y_true, n_classes: int) -> np.ndarray:
    """Class indices from indices (N,) or one-hot / probability rows (N, C)."""
    y_true = np.asarray(y_true)
    if y_true.ndim == 2 and y_true.shape[1] == n_classes and n_classes > 1:
        return y_true.argmax(axis=1)
    return y_true.reshape(-1)


@names.register("metric", "binary_accuracy")
def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> float:
    """Fraction of elements where (y_pred > threshold) equals (y_true > 0.5)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.size != y_pred.size:
        raise ValueError(f"binary_accuracy: {y_true.shape} targets for {y_pred.shape} predictions")
    return float(np.mean((y_pred.reshape(-1) > threshold) == (y_true.reshape(-1) > 0.5)))


@names.register("metric", "categorical_accuracy", "sparse_categorical_accuracy")
def categorical_accuracy(y_true, y_pred) -> float:
    """Fraction of rows whose highest score is the true class (indices or one-hot rows)."""
    y_pred = np.asarray(y_pred)
    labels = _labels(y_true, y_pred.shape[-1])
    if labels.shape != y_pred.shape[:1]:
        raise ValueError(
            f"categorical_accuracy: {np.shape(y_true)} targets for {y_pred.shape} predictions"
        )
    return float(np.mean(y_pred.argmax(axis=-1) == labels))


@names.register("metric", "accuracy", "acc")
def accuracy(y_true, y_pred) -> float:
    """Categorical accuracy for (N, C) scores with C > 1; binary accuracy (threshold 0.5)
    for a single column, as Keras chooses. ``fit`` uses threshold 0 after a loss on logits."""
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


@names.register("metric", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy")
def top_k_accuracy(y_true, y_pred, k: int = 5) -> float:
    """Fraction of rows whose true class is among the ``k`` highest scores."""
    y_pred = np.asarray(y_pred)
    labels = _labels(y_true, y_pred.shape[-1])
    top = np.argpartition(-y_pred, min(k, y_pred.shape[-1]) - 1, axis=-1)[:, :k]
    return float(np.mean(np.any(top == labels[:, None], axis=1)))


@names.register("metric", "mse", "mean_squared_error")
def mean_squared_error(y_true, y_pred) -> float:
    """Mean of (y_pred - y_true)^2 over all elements."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean((y_pred - y_true.reshape(y_pred.shape)) ** 2))


@names.register("metric", "mae", "mean_absolute_error")
def mean_absolute_error(y_true, y_pred) -> float:
    """Mean of |y_pred - y_true| over all elements."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(np.abs(y_pred - y_true.reshape(y_pred.shape))))
