"""Splitting, scaling and encoding: train_test_split, StandardScaler, MinMaxScaler,
LabelEncoder, one_hot.

Scalers are fitted on the training data only, then applied to both sets, so that nothing
of the test set leaks into training.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn._config import Seed, get_rng
from numpynn.functional import one_hot

__all__ = ["LabelEncoder", "MinMaxScaler", "StandardScaler", "one_hot", "train_test_split"]


def train_test_split(
    *arrays, test_size: float | int = 0.25, stratify=None, shuffle: bool = True, seed: Seed = None
) -> list[np.ndarray]:
    """Split each array into a training and a test part: ``x_train, x_test, y_train,
    y_test = train_test_split(x, y, test_size=0.3, seed=0)``.

    Args:
        test_size: a fraction of the samples in (0, 1), or a number of samples.
        stratify: labels whose class proportions both parts keep (each class is split
            on its own, rounding its test share to the nearest sample).
        shuffle: pick the test samples at random (otherwise the last ones).
        seed: int or Generator for the random choice.
    """
    if not arrays:
        raise ValueError("train_test_split: give at least one array")
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(
            f"train_test_split: the arrays hold different numbers of samples "
            f"{sorted({len(a) for a in arrays})}"
        )
    count = test_size if isinstance(test_size, int) else math.ceil(test_size * n)
    if not 0 < count < n:
        raise ValueError(
            f"train_test_split: test_size={test_size} of {n} samples leaves an empty part"
        )
    rng = get_rng(seed)
    if stratify is not None:
        labels = np.asarray(stratify)
        test = []
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            members = rng.permutation(members) if shuffle else members
            share = round(len(members) * count / n)
            test.extend(members[len(members) - share :])
        test = np.sort(np.array(test, dtype=np.int64))
    else:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test = np.sort(order[n - count :])
    train = np.setdiff1d(np.arange(n), test)
    if shuffle:
        train, test = rng.permutation(train), rng.permutation(test)
    return [part for a in arrays for part in (a[train], a[test])]


class _Scaler:
    """fit on the training data, then transform any data with the same features."""

    def fit_transform(self, x):
        return self.fit(x).transform(x)

    def _check(self, x, what: str):
        x = np.asarray(x)
        fitted = getattr(self, "n_features_", None)
        if fitted is None:
            raise RuntimeError(f"{type(self).__name__}.{what}: call fit(x_train) first")
        if x.ndim != 2 or x.shape[1] != fitted:
            raise ValueError(
                f"{type(self).__name__}.{what}: expected (N, {fitted}) data, got {x.shape}"
            )
        return x


def _features(x, who: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{who}.fit: expected non-empty (N, features) data, got {x.shape}")
    return x


class StandardScaler(_Scaler):
    """x -> (x - mean) / std per feature, with the mean and (population) standard deviation
    of the data given to ``fit``; a constant feature is only centred (std taken as 1)."""

    def fit(self, x) -> StandardScaler:
        x = _features(x, "StandardScaler")
        self.mean_ = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_features_ = x.shape[1]
        return self

    def transform(self, x):
        x = self._check(x, "transform")
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return ((x - self.mean_) / self.scale_).astype(dtype)

    def inverse_transform(self, x):
        x = self._check(x, "inverse_transform")
        return (x * self.scale_ + self.mean_).astype(x.dtype)


class MinMaxScaler(_Scaler):
    """x -> low + (x - min) (high - low) / (max - min) per feature, with the minimum and
    maximum of the data given to ``fit``; a constant feature maps to ``low``."""

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)):
        low, high = feature_range
        if not low < high:
            raise ValueError(
                f"MinMaxScaler: feature_range must be (low, high), got {feature_range}"
            )
        self.feature_range = (low, high)

    def fit(self, x) -> MinMaxScaler:
        x = _features(x, "MinMaxScaler")
        self.data_min_, self.data_max_ = x.min(axis=0), x.max(axis=0)
        span = self.data_max_ - self.data_min_
        low, high = self.feature_range
        self.scale_ = (high - low) / np.where(span > 0, span, 1.0)
        self.n_features_ = x.shape[1]
        return self

    def transform(self, x):
        x = self._check(x, "transform")
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        return (self.feature_range[0] + (x - self.data_min_) * self.scale_).astype(dtype)

    def inverse_transform(self, x):
        x = self._check(x, "inverse_transform")
        return ((x - self.feature_range[0]) / self.scale_ + self.data_min_).astype(x.dtype)


class LabelEncoder:
    """Labels of any kind (text, numbers) <-> class indices 0..K-1, as scikit-learn's
    ``sklearn.preprocessing.LabelEncoder``: ``classes_`` holds the K distinct labels seen by
    ``fit``, sorted, and label ``classes_[i]`` is encoded as ``i``.

    >>> import numpynn as nn
    >>> encoder = nn.data.LabelEncoder()
    >>> encoder.fit_transform(["dog", "cat", "dog", "bird"]).tolist()
    [2, 1, 2, 0]
    >>> encoder.classes_.tolist(), encoder.inverse_transform([0, 2]).tolist()
    (['bird', 'cat', 'dog'], ['bird', 'dog'])

    Shape: ``y`` is one label per sample, ``(N,)``; the codes are ``(N,)`` int64.
    """

    def fit(self, y) -> LabelEncoder:
        """Learn the distinct labels of ``y``."""
        self.classes_ = np.unique(_labels(y, "fit"))
        return self

    def fit_transform(self, y) -> np.ndarray:
        """``fit(y)``, then the code of each label of ``y``."""
        y = _labels(y, "fit_transform")
        self.classes_, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64).reshape(-1)

    def transform(self, y) -> np.ndarray:
        """The code (index in ``classes_``) of each label; an unseen label is an error."""
        y = _labels(y, "transform", self._classes("transform"))
        codes = np.searchsorted(self.classes_, y)
        found = codes < len(self.classes_)
        found[found] = self.classes_[codes[found]] == y[found]
        if not found.all():
            unseen = np.unique(y[~found])
            raise ValueError(
                f"LabelEncoder.transform: y contains labels not seen by fit: "
                f"{unseen[:10].tolist()}; fit on every label (the training and test labels "
                "together), or drop those samples"
            )
        return codes.astype(np.int64)

    def inverse_transform(self, y) -> np.ndarray:
        """The label of each code; codes outside ``0..len(classes_)-1`` are an error."""
        classes = self._classes("inverse_transform")
        codes = _labels(y, "inverse_transform")
        if len(codes) and (
            codes.dtype.kind not in "iu" or not 0 <= codes.min() <= codes.max() < len(classes)
        ):
            raise ValueError(
                f"LabelEncoder.inverse_transform: expected integer codes in 0..{len(classes) - 1},"
                f" got {codes[:10].tolist()}"
            )
        return classes[codes.astype(np.intp)]

    def _classes(self, what: str) -> np.ndarray:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"LabelEncoder.{what}: call fit(y) first")
        return self.classes_


def _labels(y, what: str, classes=None) -> np.ndarray:
    """``y`` as a 1-D array (a column ``(N, 1)`` is flattened, as scikit-learn does)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"LabelEncoder.{what}: expected one label per sample, (N,), got {y.shape}")
    if classes is not None and len(y) == 0:
        return y.astype(classes.dtype)
    return y
