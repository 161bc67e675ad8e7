"""Normalization layers."""

from __future__ import annotations

import numpy as np

from numpynn._config import get_default_dtype
from numpynn.module import Module


class Normalization(Module):
    """Keras's ``Normalization``: y = (x - mean) / std per feature, with the mean and the
    variance of the training data, set by ``adapt(x_train)`` (or given), never trained.

    The statistics are buffers: saved with the model, counted as non-trainable, so a saved
    model takes raw features. A constant feature (variance 0) is only centred.

    Args:
        axis: the feature axis (statistics per index along it, over all other axes).

    Shape: any, unchanged; ``x.shape[axis]`` is the number of features.

    >>> import numpy as np, numpynn as nn
    >>> layer = nn.Normalization()
    >>> layer.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> layer(np.array([[2.0, 40.0]]))
    array([[0., 2.]], dtype=float32)
    """

    buffers = ("mean", "variance")

    def __init__(self, axis: int = -1, mean=None, variance=None, name: str | None = None):
        self.axis, self.name = axis, name
        self.mean = self.variance = None
        self.built = False
        if mean is not None or variance is not None:
            if mean is None or variance is None:
                raise ValueError("Normalization: give both mean and variance, or neither")
            self._set(np.asarray(mean), np.asarray(variance))

    def adapt(self, data) -> None:
        """Set the mean and variance from ``data`` (the training set)."""
        data = np.asarray(data, dtype=np.float64)
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"{self.describe()}: adapt expects (N, ...) data, got {data.shape}")
        axis = self.axis % data.ndim
        if axis == 0:
            raise ValueError(f"{self.describe()}: the feature axis cannot be the batch axis")
        others = tuple(a for a in range(data.ndim) if a != axis)
        self._set(data.mean(axis=others), data.var(axis=others))

    def _set(self, mean, variance):
        if mean.shape != variance.shape or mean.ndim != 1:
            raise ValueError(
                f"{self.describe()}: mean and variance must be 1-D of one length, got "
                f"{mean.shape} and {variance.shape}"
            )
        dtype = get_default_dtype()
        self.mean, self.variance = mean.astype(dtype), variance.astype(dtype)
        self.built = True

    def build(self, input_shape):
        raise RuntimeError(f"{self.describe()}: call adapt(x_train) before using the layer")

    def _broadcast(self, value, ndim):
        shape = [1] * ndim
        shape[self.axis % ndim] = -1
        return value.reshape(shape)

    def check_input(self, x):
        if x.ndim < 2 or x.shape[self.axis] != len(self.mean):
            raise ValueError(
                f"{self.describe()}: expected {len(self.mean)} features on axis {self.axis}, "
                f"got input {x.shape}"
            )
        return x if x.dtype == self.mean.dtype else x.astype(self.mean.dtype)

    def forward(self, x):
        std = np.sqrt(self.variance)
        self.std = self._broadcast(np.where(std > 0, std, 1).astype(std.dtype), x.ndim)
        return (x - self._broadcast(self.mean, x.ndim)) / self.std

    def backward(self, grad):
        return grad / self.std  # d((x - m) / s)/dx = 1 / s

    def get_config(self):
        if self.mean is None:
            return {"axis": self.axis}
        return {"axis": self.axis, "mean": self.mean.tolist(), "variance": self.variance.tolist()}

    def extra_repr(self):
        return f"axis={self.axis}, features={None if self.mean is None else len(self.mean)}"
