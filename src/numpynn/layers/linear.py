"""Fully connected layers."""

from __future__ import annotations

import math

from numpynn import init
from numpynn._config import Seed, get_rng
from numpynn.module import Module, Parameter


class Linear(Module):
    """y = x W^T + b.

    Args:
        in_features: size of each input row; ``None`` infers it from the first input.
        out_features: size of each output row.
        bias: learn an additive bias.
        seed: int or Generator for the initial weights (default: the library's generator).

    Weight layout is PyTorch's: ``weight`` is ``(out_features, in_features)``, ``bias`` is
    ``(out_features,)``. Both start as U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default
    (``kaiming_uniform`` with a = sqrt(5) for the weight).

    Shape: input (*, in_features), output (*, out_features).

    >>> import numpy as np, numpynn as nn
    >>> nn.Linear(784, 128)
    Linear(in_features=784, out_features=128, bias=True)
    >>> nn.Linear(None, 10)(np.zeros((2, 5), dtype=np.float32)).shape
    (2, 10)
    """

    def __init__(
        self, in_features: int | None, out_features: int, bias: bool = True, seed: Seed = None
    ):
        self.in_features = in_features
        self.out_features = out_features
        self.use_bias = bias
        self._seed = seed
        self.built = False
        if in_features is not None:
            self.build((None, in_features))

    def build(self, input_shape):
        self.in_features = int(input_shape[-1])
        bound = 1 / math.sqrt(self.in_features)
        shape = (self.out_features, self.in_features)
        rng = get_rng(self._seed)
        self.weight = Parameter(init.uniform(shape, -bound, bound, rng), "weight")
        self.bias = None
        if self.use_bias:
            self.bias = Parameter(init.uniform(self.out_features, -bound, bound, rng), "bias")
        self.built = True

    def check_input(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self.describe()}: expected input (N, {self.in_features}), got {x.shape}"
                + ("; flatten images first (nn.Flatten())" if x.ndim > 2 else "")
            )
        return x if x.dtype == self.weight.dtype else x.astype(self.weight.dtype)

    def forward(self, x):
        self.x = x
        out = x @ self.weight.data.T
        if self.bias is not None:
            out += self.bias.data
        return out

    def backward(self, grad):
        x2 = self.x.reshape(-1, self.in_features)
        grad2 = grad.reshape(-1, self.out_features)
        self.weight.grad += grad2.T @ x2  # dW = sum over rows of grad^T x
        if self.bias is not None:
            self.bias.grad += grad2.sum(axis=0)  # db sums over the batch, never averages
        return grad @ self.weight.data  # dx = grad W

    def output_shape(self, input_shape):
        return (*input_shape[:-1], self.out_features)

    def get_config(self):
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.use_bias,
        }

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.use_bias}"
        )

    def describe(self):
        return f"Linear({self.in_features} -> {self.out_features})"


class Identity(Module):
    """y = x. Shape: any, unchanged."""

    def forward(self, x):
        return x

    def backward(self, grad):
        return grad
