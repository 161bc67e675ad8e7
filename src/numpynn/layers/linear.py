"""Fully connected layers."""

from __future__ import annotations

import math

import numpy as np

from numpynn import init, names
from numpynn._config import Seed, get_rng
from numpynn._threads import batch_parts, run_parts, sum_in_order
from numpynn.layers.keras_mixin import KerasLayer
from numpynn.module import Module, Parameter

# The multiply-adds of a Linear layer (N * in * out) from which its batch is split over the
# threads. benchmarks/threads.py on 2 cores (benchmarks/README.md, "Threads"), split / one
# thread: at 205M (784 -> 256, batch 1024) 0.88 at load 5, 1.16 at load 1.4 (the thresholds'
# setting, which splits it: 0.92); 2 to 10 at 3.2M and 12.8M.
LINEAR_SPLIT_FROM = 50_000_000


class Linear(Module):
    """Fully connected layer, y = x W^T + b.

    Backward: dx = grad W, dW = grad^T x and db = the sum of grad over the rows (both
    summed over the batch, never averaged: the loss's backward already divides by N).

    Args:
        in_features: size of each input row; ``None`` infers it from the first input.
        out_features: size of each output row.
        bias: learn an additive bias.
        seed: int or Generator for the initial weights (default: the library's generator).

    Weight layout is PyTorch's: ``weight`` is ``(out_features, in_features)``, ``bias`` is
    ``(out_features,)``. Both start as U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default
    (``kaiming_uniform`` with a = sqrt(5) for the weight).

    Shape:
        input (*, in_features), output (*, out_features).

    Examples:
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
        if input_shape[-1] is None:
            raise ValueError(
                f"{self.describe()}: cannot build on an unknown input size {input_shape}"
            )
        self.in_features = int(input_shape[-1])
        weight, bias = self.initial_weights(
            (self.out_features, self.in_features), get_rng(self._seed)
        )
        # (out, in) as in PyTorch, laid out in memory as (in, out): see _parameter_grads
        self.weight = Parameter(np.asfortranarray(weight), "weight")
        self.bias = None if bias is None else Parameter(bias, "bias")
        self.built = True

    def initial_weights(self, shape, rng):
        """PyTorch's initialisation: weight and bias from U(-1/sqrt(in), 1/sqrt(in))."""
        bound = 1 / math.sqrt(shape[1])
        weight = init.uniform(shape, -bound, bound, rng)
        return weight, init.uniform(shape[0], -bound, bound, rng) if self.use_bias else None

    def check_input(self, x):
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self.describe()}: expected input (N, {self.in_features}), got {x.shape}"
                + ("; flatten images first (nn.Flatten())" if x.ndim > 2 else "")
            )
        return x if x.dtype == self.weight.dtype else x.astype(self.weight.dtype)

    def forward(self, x):
        self.x = x
        work = x.size * self.out_features
        self.parts = batch_parts(len(x) if x.ndim > 1 else 1, work, LINEAR_SPLIT_FROM)
        if len(self.parts) == 1:
            return self._affine(x)
        out = np.empty(x.shape[:-1] + (self.out_features,), np.result_type(x, self.weight.data))
        run_parts(lambda rows: self._affine(x[rows], out[rows]), self.parts)
        return out

    def _affine(self, x, out=None):
        out = np.matmul(x, self.weight.data.T, out=out)  # y = x W^T + b
        if self.bias is not None:
            out += self.bias.data
        return out

    def backward(self, grad):
        self._parameter_grads(grad)
        if len(self.parts) == 1:
            return grad @ self.weight.data  # dx = grad W
        dx = np.empty(grad.shape[:-1] + (self.in_features,), self.x.dtype)
        run_parts(lambda rows: np.matmul(grad[rows], self.weight.data, out=dx[rows]), self.parts)
        return dx

    def backward_params(self, grad):
        self._parameter_grads(grad)

    def _parameter_grads(self, grad):
        if len(self.parts) > 1:  # one sum per part of the batch, added in part order
            grads = run_parts(lambda rows: self._sums(grad[rows], self.x[rows]), self.parts)
            self.weight.grad += sum_in_order([g[0] for g in grads])
            if self.bias is not None:
                self.bias.grad += sum_in_order([g[1] for g in grads])
            return
        x2 = self.x.reshape(-1, self.in_features)
        grad2 = grad.reshape(-1, self.out_features)
        self.weight.add_grad(grad_t_x, grad2, x2)  # dW = grad^T x, summed over the rows
        if self.bias is not None:  # db sums over the batch, never averages
            self.bias.add_grad(np.add.reduce, grad2, axis=0)

    def _sums(self, grad, x):
        """dW = grad^T x and db = the sum of grad's rows, over one part of the batch."""
        grad2 = grad.reshape(-1, self.out_features)
        db = None if self.bias is None else np.add.reduce(grad2, axis=0)
        return grad_t_x(grad2, x.reshape(-1, self.in_features)), db

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


def grad_t_x(grad, x, out=None):
    """grad^T x, the (out, in) weight gradient of a Linear layer, into ``out`` if given.

    Computed as (x^T grad)^T: BLAS writes x^T grad into the (in, out) memory that a
    Fortran-ordered (out, in) weight has, up to 2.5x faster than grad^T x into C order
    (benchmarks/README.md); that is why Linear keeps its weight Fortran-ordered.
    """
    if out is None:
        return np.matmul(x.T, grad).T
    np.matmul(x.T, grad, out=out.T)
    return out


class Dense(KerasLayer, Linear):
    """Keras's fully connected layer: activation(x W^T + b), built from the first input.

    The engine is ``Linear``'s; the defaults are Keras's: Glorot-uniform weights, zero bias.

    Args:
        units: size of each output row.
        activation: a name (``"relu"``, ``"softmax"``, ... see ``nn.names``), a Module, or
            None for none.
        use_bias: learn an additive bias.
        kernel_initializer, bias_initializer: initialiser names (``"glorot_uniform"``,
            ``"he_normal"``, ``"zeros"``, ...).
        input_dim, input_shape: the input size, to build at once (the first layer of a
            Sequential) rather than on the first input.
        name: the layer's name in a model (default: ``dense_1``, ``dense_2``, ...).
        seed: int or Generator for the initial weights.

    The weight keeps PyTorch's layout ``(units, in)``; a Keras kernel is its transpose.

    Shape:
        input (*, in), output (*, units).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.Dense(3, activation="softmax")
        >>> p = layer(np.ones((2, 5), dtype=np.float32))
        >>> p.shape, p.dtype, bool(np.allclose(p.sum(axis=1), 1))
        ((2, 3), dtype('float32'), True)
        >>> layer
        Dense(units=3, activation='softmax', in=5)
    """

    def __init__(
        self,
        units: int,
        activation=None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        input_dim: int | None = None,
        input_shape: tuple | None = None,
        name: str | None = None,
        seed: Seed = None,
    ):
        self._set_initializers(kernel_initializer, bias_initializer)
        if input_shape is not None:
            input_dim = tuple(input_shape)[-1]
        super().__init__(input_dim, units, bias=use_bias, seed=seed)
        self._set_activation(activation)  # after the weights: they list first
        self.name = name

    def get_config(self):
        return {
            "units": self.out_features,
            "activation": self._activation_spec,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "input_dim": self.in_features,
        }

    def extra_repr(self):
        spec = self._activation_spec
        shown = repr(spec) if spec is None or isinstance(spec, str) else repr(self.activation)
        return f"units={self.out_features}, activation={shown}, in={self.in_features}"

    def describe(self):
        return f"Dense({self.in_features} -> {self.out_features})"

    def __repr__(self):
        return f"Dense({self.extra_repr()})"


@names.register("activation", "linear")
class Identity(Module):
    """The identity, y = x; dx = grad (Keras's ``"linear"`` activation).

    Shape:
        input (*), output (*): the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> nn.Identity()(np.array([1.0, -2.0]))
        array([ 1., -2.])
    """

    def forward(self, x):
        return x

    def backward(self, grad):
        return grad
