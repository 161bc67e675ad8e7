"""Convolution: Conv2d on (N, C, H, W), Conv1d on (N, C, L), and Keras's Conv2D.

The forward pass is one matrix product per group, y = W·cols + b: the flattened kernels
times the input's windows copied side by side ("im2col", one row per output position). The
backward pass gets dW = dyᵀ·cols from one more product, and the input gradient as
dcols = dy·W added back under the windows ("col2im"). The kernels (``conv2d_forward``,
``conv2d_backward``) and the windows live in ``layers/_windows.py``, shared with the pools;
they split the batch over the threads (``_threads.run_parts``). No loop runs over the batch
or over output positions. With 16 or more output channels the output is channels-last in
memory, shown as (N, O, OH, OW).
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import init
from numpynn._config import Seed, get_rng
from numpynn.layers._windows import (
    Windowed,
    conv2d_backward,
    conv2d_forward,
    is_channels_last,
)
from numpynn.layers.keras_mixin import KerasLayer
from numpynn.module import Module, Parameter


class Conv2d(Windowed, Module):
    """2-D convolution (cross-correlation, as in PyTorch):

        y[n, o, i, j] = b[o] + sum_{c, a, b} W[o, c, a, b] x[n, g(o) c, i s + a d, j s + b d]

    Args:
        in_channels: C, or None to take it from the first input.
        out_channels: O (a multiple of ``groups``).
        kernel_size, stride, dilation: an int or a pair (height, width).
        padding: an int or pair (zeros on both sides), ``"valid"`` (none) or ``"same"``
            (an output of ceil(size / stride), the odd extra after: PyTorch's for stride 1,
            Keras's for any stride).
        groups: split the channels into groups convolved separately (C and O multiples).
        bias: learn one bias per output channel.

    Weights are PyTorch's layout (O, C / groups, KH, KW) and initialisation,
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C / groups * KH * KW.

    Shape: input (N, C, H, W); output (N, O, OH, OW) with
    OH = (H + pad_top + pad_bottom - d (KH - 1) - 1) // s + 1.

    >>> import numpy as np, numpynn as nn
    >>> conv = nn.Conv2d(3, 16, kernel_size=3, padding="same")
    >>> conv(np.zeros((2, 3, 28, 28), dtype=np.float32)).shape
    (2, 16, 28, 28)
    """

    channels_last_from = 16  # output channels from which the output is channels-last

    def __init__(
        self,
        in_channels: int | None,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        seed: Seed = None,
    ):
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self._set_windows(kernel_size, stride, padding, dilation)
        if groups < 1:
            raise ValueError(f"{self.describe()}: groups must be positive, got {groups}")
        if out_channels % groups or (in_channels is not None and in_channels % groups):
            raise ValueError(
                f"{self.describe()}: in_channels and out_channels must be multiples of "
                f"groups={groups}"
            )
        self.use_bias, self._seed = bias, seed
        self.built = False
        if in_channels is not None:
            self.build((None, in_channels) + (None,) * self.spatial)

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError(f"{self.describe()}: cannot build on an unknown channel count")
        self.in_channels = int(input_shape[1])
        if self.in_channels % self.groups:
            raise ValueError(
                f"{self.describe()}: in_channels must be a multiple of groups={self.groups}"
            )
        shape = (self.out_channels, self.in_channels // self.groups, *self._shown(self.kernel_size))
        weight, bias = self.initial_weights(shape, get_rng(self._seed))
        self.weight = Parameter(weight, "weight")
        self.bias = None if bias is None else Parameter(bias, "bias")
        self.built = True

    def initial_weights(self, shape, rng):
        bound = 1 / math.sqrt(math.prod(shape[1:]))
        weight = init.uniform(shape, -bound, bound, rng)
        return weight, init.uniform(shape[0], -bound, bound, rng) if self.use_bias else None

    def output_shape(self, input_shape):
        return self._window_output_shape(input_shape, self.out_channels)

    def check_input(self, x):
        expected = 2 + self.spatial
        if x.ndim != expected or x.shape[1] != self.in_channels:
            dims = "(N, C, H, W)" if self.spatial == 2 else "(N, C, L)"
            hint = ""
            if x.ndim == expected and x.shape[-1] == self.in_channels:
                hint = "; images are channels-first here: x.transpose(0, 3, 1, 2)"
            elif x.ndim == expected - 1:
                hint = "; add the channel axis: x[:, None]"
            raise ValueError(
                f"{self.describe()}: expected {dims.replace('C', str(self.in_channels))}, "
                f"got {x.shape}{hint}"
            )
        self._check_windows_fit(x.shape)
        return x if x.dtype == self.weight.dtype else x.astype(self.weight.dtype)

    # --- the computation ---------------------------------------------------------------------

    def forward(self, x):
        x = x.reshape(self._as_2d(x.shape))
        self.pads = self._geometry(x.shape[2:])[0]
        self.input_shape, self.input_channels_last = x.shape, is_channels_last(x)
        # y = W·cols + b, cols = im2col(x): the windows side by side, one row per position
        channels_last = self.out_channels >= self.channels_last_from and len(x) > 1
        bias = None if self.bias is None else self.bias.data
        y, self.cols, self.parts = conv2d_forward(
            x, self._weight_2d(), bias, self.pads, self._window(), self.groups, channels_last
        )
        return self._as_given(y)

    def backward(self, grad):
        return self._gradients(grad, input_grad=True)

    def backward_params(self, grad):
        self._gradients(grad, input_grad=False)

    def _gradients(self, grad, input_grad):
        """Add dW = dyᵀ·cols and db = sum(dy) to the parameters' gradients; return
        dx = col2im(dy·W) if ``input_grad``."""
        dx, dW, db = conv2d_backward(
            grad.reshape(self._as_2d(grad.shape)), self.cols, self.parts, self._weight_2d(),
            self.input_shape if input_grad else None, self.pads, self._window(), self.groups,
            self.input_channels_last,
        )  # fmt: skip
        self.weight.grad += dW.reshape(self.weight.shape)
        if self.bias is not None:
            self.bias.grad += db
        return None if dx is None else self._as_given(dx)

    def _weight_2d(self) -> np.ndarray:
        """The weight as (O, C/g, KH, KW) (a Conv1d's (O, C/g, K) at height 1)."""
        return self.weight.data.reshape(self.out_channels, -1, *self.kernel_size)

    def _window(self) -> tuple:
        return self.kernel_size, self.stride, self.dilation

    # --- description -------------------------------------------------------------------------

    def get_config(self):
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            **self._window_config(),
            "dilation": list(self._shown(self.dilation)),
            "groups": self.groups,
            "bias": self.use_bias,
        }

    def extra_repr(self):
        shown = {
            k: v for k, v in self.get_config().items() if k not in ("in_channels", "out_channels")
        }
        details = ", ".join(
            f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in shown.items()
        )
        return f"{self.in_channels}, {self.out_channels}, {details}"

    def describe(self):
        k = "x".join(map(str, self._shown(self.kernel_size)))
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels}, k={k})"


class Conv1d(Conv2d):
    """1-D convolution on (N, C, L), PyTorch's ``Conv1d``: computed as a Conv2d of height 1,

        y[n, o, t] = b[o] + sum_{c, k} W[o, c, k] x[n, g(o) c, t s + k d]

    Args: as ``Conv2d``, each an int (or a 1-tuple).

    Weights (O, C / groups, K). Shape: input (N, C, L), output (N, O, OL) with
    OL = (L + 2 pad - d (K - 1) - 1) // s + 1.

    >>> import numpy as np, numpynn as nn
    >>> nn.Conv1d(4, 8, kernel_size=5, stride=2)(np.zeros((3, 4, 50), dtype=np.float32)).shape
    (3, 8, 23)
    """

    spatial = 1


def _keras_padding(padding: str) -> str:
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same' (Keras's names), got {padding!r}")
    return padding


class Conv2D(KerasLayer, Conv2d):
    """Keras's ``Conv2D`` on channels-first images (N, C, H, W): ``filters`` output
    channels, the input channels taken from the first input, Glorot-uniform kernels and
    zero biases by default, and an optional activation by name.

    Same engine and weight layout as ``Conv2d`` (O, C, KH, KW); a Keras kernel
    (KH, KW, C, O) is its transpose (3, 2, 0, 1).
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias: bool = True,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        input_shape=None,
        name: str | None = None,
        seed: Seed = None,
    ):
        self._set_initializers(kernel_initializer, bias_initializer)
        in_channels = None if input_shape is None else tuple(input_shape)[0]
        if input_shape is not None and len(tuple(input_shape)) == 3:
            self.declared_input_shape = (None, *input_shape)  # a Sequential builds from it
        padding = _keras_padding(padding)
        super().__init__(
            in_channels,
            filters,
            kernel_size,
            strides,
            padding,
            dilation_rate,
            groups,
            use_bias,
            seed,
        )
        self._set_activation(activation)
        self.name = name

    def get_config(self):
        return {
            "filters": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.stride),
            "padding": self.padding,
            "dilation_rate": list(self.dilation),
            "groups": self.groups,
            "activation": self._activation_spec,
            "use_bias": self.use_bias,
            "kernel_initializer": self.kernel_initializer,
            "bias_initializer": self.bias_initializer,
            "input_shape": list(getattr(self, "declared_input_shape", (None, self.in_channels)))[1:]
            if self.in_channels is not None
            else None,
        }

    def extra_repr(self):
        return (
            f"filters={self.out_channels}, kernel_size={self.kernel_size}, strides={self.stride}, "
            f"padding={self.padding!r}, activation={self._activation_spec!r}, in={self.in_channels}"
        )

    def __repr__(self):
        return f"Conv2D({self.extra_repr()})"
