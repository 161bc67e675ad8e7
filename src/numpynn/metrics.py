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


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot (over all outputs, averaged
    uniformly as scikit-learn does); 1 is perfect, 0 is predicting the mean."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    residual = ((y_true - y_pred) ** 2).sum(axis=0)
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1), 0.0)
    scores = np.where((total == 0) & (residual == 0), 1.0, scores)
    return float(scores.mean())


# --- classification reports: from labels (or scores, reduced by argmax) -----------------------


def _label_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels from labels, or from one-hot / score rows (N, C) by argmax."""

    def labels(y):
        y = np.asarray(y)
        return (y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)).astype(
            np.int64
        )

    y_true, y_pred = labels(y_true), labels(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{y_true.shape[0]} targets for {y_pred.shape[0]} predictions")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = the number of samples of class i predicted as class j.

    >>> import numpynn as nn
    >>> nn.metrics.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    """
    y_true, y_pred = _label_pair(y_true, y_pred)
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    both = np.concatenate([y_true, y_pred])
    if both.size and (both.min() < 0 or both.max() >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes - 1}]")
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def precision_recall_f1(
    y_true,
    y_pred,
    average: str | None = "macro",
    pos_label: int = 1,
    num_classes: int | None = None,
):
    """(precision, recall, F1) as scikit-learn computes them (0 where undefined).

    Args:
        average: ``"binary"`` (class ``pos_label`` only), ``"macro"`` (unweighted mean over
            classes), ``"micro"`` (from the total counts), ``"weighted"`` (mean weighted by
            each class's support), or None for per-class arrays.
    """
    if average not in ("binary", "macro", "micro", "weighted", None):
        raise ValueError(
            f"average must be 'binary', 'macro', 'micro', 'weighted' or None, got {average!r}"
        )
    cm = confusion_matrix(y_true, y_pred, num_classes)
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    if average == "micro":
        tp, predicted, support = tp.sum(), predicted.sum(), support.sum()
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    if average == "binary":
        return float(precision[pos_label]), float(recall[pos_label]), float(f1[pos_label])
    if average == "micro":
        return float(precision), float(recall), float(f1)
    if average is None:
        return precision, recall, f1
    weights = support / support.sum() if average == "weighted" else None
    return tuple(float(np.average(v, weights=weights)) for v in (precision, recall, f1))


def precision_score(y_true, y_pred, average: str | None = "macro", pos_label: int = 1):
    return precision_recall_f1(y_true, y_pred, average, pos_label)[0]


def recall_score(y_true, y_pred, average: str | None = "macro", pos_label: int = 1):
    return precision_recall_f1(y_true, y_pred, average, pos_label)[1]


def f1_score(y_true, y_pred, average: str | None = "macro", pos_label: int = 1):
    return precision_recall_f1(y_true, y_pred, average, pos_label)[2]


def classification_report(y_true, y_pred, class_names=None, digits: int = 2) -> str:
    """A text table of precision, recall, F1 and support per class, with accuracy and the
    macro and weighted averages, laid out as scikit-learn's."""
    y_true, y_pred = _label_pair(y_true, y_pred)
    count = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    if class_names is not None:
        count = max(count, len(class_names))
    names_ = list(class_names) if class_names is not None else [str(c) for c in range(count)]
    p, r, f = precision_recall_f1(y_true, y_pred, None, num_classes=count)
    support = np.bincount(y_true, minlength=count)
    width = max(len("weighted avg"), *(len(n) for n in names_))
    head = f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    row = f"{{:>{width}}} {{:>9.{digits}f}} {{:>9.{digits}f}} {{:>9.{digits}f}} {{:>9}}"
    lines = [head, ""]
    lines += [row.format(n, p[i], r[i], f[i], support[i]) for i, n in enumerate(names_)]
    n = len(y_true)
    accuracy_value = float(np.mean(y_true == y_pred)) if n else 0.0
    lines += [
        "",
        f"{'accuracy':>{width}} {'':>9} {'':>9} {accuracy_value:>9.{digits}f} {n:>9}",
        row.format(
            "macro avg", *precision_recall_f1(y_true, y_pred, "macro", num_classes=count), n
        ),
        row.format(
            "weighted avg", *precision_recall_f1(y_true, y_pred, "weighted", num_classes=count), n
        ),
    ]
    return "\n".join(lines)
