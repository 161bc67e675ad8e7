"""Layers that only rearrange: Flatten and Reshape."""

from __future__ import annotations

import math

from numpynn.module import Module


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` into one (by default all but the batch).

    y = x.reshape(N, -1); dx = grad.reshape(x.shape).

    Args:
        start_dim: the first dimension merged (1: keep the batch).
        end_dim: the last dimension merged (inclusive; -1: the last).

    Shape:
        input (N, *), output (N, prod(*)).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Flatten()(np.zeros((2, 1, 28, 28))).shape
        (2, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def output_shape(self, input_shape):
        ndim = len(input_shape)
        start, end = self.start_dim % ndim, self.end_dim % ndim
        middle = input_shape[start : end + 1]
        merged = None if None in middle else math.prod(middle)
        return (*input_shape[:start], merged, *input_shape[end + 1 :])

    def check_input(self, x):
        if x.ndim < 2 or not -x.ndim <= self.start_dim < x.ndim:
            raise ValueError(
                f"{self.describe()}: expected input with at least "
                f"{max(2, self.start_dim + 1)} dimensions (batch first), got {x.shape}"
            )
        return x

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(self.output_shape(x.shape))

    def backward(self, grad):
        return grad.reshape(self.input_shape)

    def get_config(self):
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Reshape(Module):
    """Reshape every sample to ``shape`` (the batch dimension is kept; one entry may be -1).

    y = x.reshape(N, *shape); dx = grad.reshape(x.shape).

    Args:
        *shape: the shape of one sample, as integers or one tuple.

    Shape:
        input (N, *), output (N, *shape).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Reshape(1, 28, 28)(np.zeros((2, 784))).shape
        (2, 1, 28, 28)
    """

    def __init__(self, *shape: int):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        self.shape = tuple(int(s) for s in shape)

    def output_shape(self, input_shape):
        sample = input_shape[1:]
        if -1 not in self.shape or None in sample:
            return (input_shape[0], *self.shape)
        known = math.prod(s for s in self.shape if s != -1)
        return (input_shape[0], *(math.prod(sample) // known if s == -1 else s for s in self.shape))

    def check_input(self, x):
        sample = math.prod(x.shape[1:]) if x.ndim else 0
        known = math.prod(s for s in self.shape if s != -1)
        fits = sample % known == 0 if -1 in self.shape else sample == known
        if x.ndim < 1 or not fits:
            raise ValueError(
                f"{self.describe()}: expected samples of {known} values"
                f"{' (times the -1 size)' if -1 in self.shape else ''}, got input {x.shape}"
            )
        return x

    def forward(self, x):
        self.input_shape = x.shape
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, grad):
        return grad.reshape(self.input_shape)

    def get_config(self):
        return {"shape": list(self.shape)}

    @classmethod
    def from_config(cls, config):
        return cls(*config["shape"])

    def extra_repr(self):
        return f"shape={self.shape}"
