"""Convolution: Conv2d on (N, C, H, W), Conv1d on (N, C, L), and Keras's Conv2D.

The forward pass is one matrix product per group, out = W·cols + b: the flattened kernels
times the input's windows copied side by side ("im2col", one row per output position). The
backward pass gets dW = dyᵀ·cols from one more product, and the input gradient as
dcols = dy·W added back under the windows ("col2im"), one kernel offset at a time so that
each offset's slab is one contiguous product. The windows (sizes, padding, im2col, col2im)
are ``layers/_windows.py``'s, shared with the pools. No loop runs over the batch or over
output positions. With 16 or more output channels the output is channels-last in memory,
shown as (N, O, OH, OW) (see the note above ``_plus_bias_channels_last``).
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import init
from numpynn._config import Seed, get_rng
from numpynn.layers._windows import Windowed, col2im, crop, im2col, is_channels_last
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
        n, _, h, w = x.shape
        self.pads, (oh, ow) = self._geometry((h, w))
        self.padded_shape = (n, h + sum(self.pads[0]), w + sum(self.pads[1]), self.in_channels)
        self.input_channels_last = is_channels_last(x)  # the gradient goes back in x's order
        self.cols = self._columns(x)  # (g, N*OH*OW, KH*KW*C/g): one row per output position
        W, b = self._kernels(), self.bias
        if self.out_channels >= self.channels_last_from and n > 1:
            out = _plus_bias_channels_last(self.cols @ W.mT, b, n)  # out = cols·Wᵀ + b
        else:
            out = _plus_bias_channels_first(W @ self.cols.mT, b, n)  # out = (W·colsᵀ)ᵀ + b
        return self._as_given(out.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2))

    def backward_params(self, grad):
        self._parameter_grads(grad.reshape(self._as_2d(grad.shape)))

    def backward(self, grad):
        grad = grad.reshape(self._as_2d(grad.shape))
        n, _, oh, ow = grad.shape
        grad_rows = self._parameter_grads(grad)  # (g, N*OH*OW, O/g)
        # dx = col2im(dy·W), one kernel offset's (N*OH*OW, C) slab at a time, into a
        # channels-last image so that each slab is contiguous (measured on benchmarks/cnn.py:
        # 54 -> 39 ms a step, profiled, against one product followed by a strided col2im)
        slab_at = self._input_grad_slabs(grad_rows, (n, oh, ow))
        k, s, d = self.kernel_size, self.stride, self.dilation
        dx = col2im(self.padded_shape, grad.dtype, slab_at, k, s, d, axes=(1, 2))
        dx = crop(dx, self.pads, axes=(1, 2)).transpose(0, 3, 1, 2)
        # in the memory order of the input: as a transposed view, the layers below would
        # read it strided (max-pool's backward took 5.1 ms instead of 3.8 on benchmarks/cnn.py)
        return self._as_given(dx if self.input_channels_last else np.ascontiguousarray(dx))

    def _parameter_grads(self, grad):
        """Add dW = dyᵀ·cols and db = sum(dy); return dy as (g, N*OH*OW, O/g) rows, which
        the input gradient needs too."""
        grad_rows = _as_rows(grad, self.groups)  # (g, N*OH*OW, O/g)
        if self.bias is not None:
            self.bias.grad += grad_rows.sum(axis=1).reshape(-1)
        self.weight.grad += self._as_weight(grad_rows.mT @ self.cols)
        return grad_rows

    # --- layouts: the weight and the columns as the products want them -----------------------

    def _columns(self, x):
        """im2col per group: (g, N*OH*OW, KH*KW*C/g), columns by kernel offset then channel."""
        cols = im2col(x, self.pads, self.kernel_size, self.stride, self.dilation)
        g, kernel_taps = self.groups, self.kernel_size[0] * self.kernel_size[1]
        cols = cols.reshape(len(cols), kernel_taps, g, -1).transpose(2, 0, 1, 3)
        return cols.reshape(g, len(cols[0]), -1)

    def _kernels(self) -> np.ndarray:
        """The weight as (g, O/g, KH*KW*C/g), in the column order of ``cols``."""
        weight = self.weight.data.reshape(self.out_channels, -1, *self.kernel_size)
        return weight.transpose(0, 2, 3, 1).reshape(
            self.groups, self.out_channels // self.groups, -1
        )

    def _as_weight(self, kernels: np.ndarray) -> np.ndarray:
        """The inverse of ``_kernels``: (g, O/g, KH*KW*C/g) to the weight's shape."""
        kh, kw = self.kernel_size
        kernels = kernels.reshape(self.out_channels, kh, kw, -1).transpose(0, 3, 1, 2)
        return kernels.reshape(self.weight.shape)

    def _input_grad_slabs(self, grad_rows, out_size):
        """``slab_at(a, b, slot)`` for ``col2im``: dy·W[:, :, a, b], the gradient of the
        inputs that kernel offset (a, b) read, as (N, OH, OW, C)."""
        g, kh, kw = self.groups, *self.kernel_size
        kernels = self._kernels().reshape(g, self.out_channels // g, kh, kw, -1)

        def slab_at(a, b, slot):
            slab = grad_rows @ kernels[:, :, a, b, :]  # (g, N*OH*OW, C/g)
            return slab.transpose(1, 0, 2).reshape(*out_size, self.in_channels)

        return slab_at

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


# The output's memory order is chosen by its channel count: from ``channels_last_from``
# channels on, channels-last (N, OH, OW, O), shown as (N, O, OH, OW) through a transposed
# view: the products write rows of channels, and the layers up to the next convolution
# (ReLU, BatchNorm, pooling, dropout) follow the memory order of their input, so the image
# is never transposed inside the stack. Below it, and for a single sample, channels-first,
# where NumPy's loops over so few channels would be short and nothing is gained
# (benchmarks/README.md, "Channels-last images and BatchNorm").


def _plus_bias_channels_last(products: np.ndarray, bias, n: int) -> np.ndarray:
    """The per-group products (g, N*OH*OW, O/g) plus the bias as one (N*OH*OW, O) array
    (in place for one group)."""
    g, m, per_group = products.shape
    out = products[0] if g == 1 else products.transpose(1, 0, 2).reshape(m, g * per_group)
    if bias is not None:  # along rows of OH*OW*O numbers, the bias repeated OH*OW times
        out.reshape(n, -1)[...] += np.tile(bias.data, m // n)
    return out


def _plus_bias_channels_first(products: np.ndarray, bias, n: int) -> np.ndarray:
    """The per-group products (g, O/g, N*OH*OW) plus the bias, in (N, O, OH*OW) memory,
    returned as its (N, OH*OW, O) transpose: one pass that moves runs of OH*OW numbers."""
    o = products.shape[0] * products.shape[1]
    out = np.empty((n, o, products.shape[2] // n), dtype=products.dtype)
    b = bias.data[:, None] if bias is not None else products.dtype.type(0)
    np.add(products.reshape(o, n, -1).transpose(1, 0, 2), b, out=out)
    return out.transpose(0, 2, 1)


def _as_rows(images: np.ndarray, groups: int) -> np.ndarray:
    """(N, O, OH, OW) images as (g, N*OH*OW, O/g) rows: a view of channels-last memory;
    from channels-first memory, the transpose of a copy that moves runs of OH*OW numbers
    (a copy straight to channels-last moves single numbers: 1.1 ms against 0.4 for the
    second convolution of benchmarks/cnn.py)."""
    n, o, oh, ow = images.shape
    if is_channels_last(images):
        rows = images.transpose(0, 2, 3, 1).reshape(n * oh * ow, groups, o // groups)
        return rows.transpose(1, 0, 2)
    rows_t = np.ascontiguousarray(images.reshape(n, o, -1).transpose(1, 0, 2))
    return rows_t.reshape(groups, o // groups, -1).mT


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
