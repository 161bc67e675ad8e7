"""Convolution: Conv2d on (N, C, H, W), Conv1d on (N, C, L), and Keras's Conv2D.

The forward pass is one matrix product per group: the flattened kernels times the input's
windows, copied side by side as the rows of a matrix ("im2col", ``F.gather_windows``, which
picks its memory layout by the channel count). The backward pass gets the weight gradient
from one more product, and the input gradient one kernel offset at a time: the output
gradient times that offset's weights is the slab to add back under that offset, into a
channels-last image, so that the slab is contiguous. No loop runs over the batch or over
output positions.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import functional as F
from numpynn import init
from numpynn._config import Seed, get_rng
from numpynn.layers.keras_mixin import KerasLayer
from numpynn.module import Module, Parameter


class Conv2d(Module):
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

    spatial = 2

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
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride = self._tuple(stride, "stride")
        self.dilation = self._tuple(dilation, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{type(self).__name__}: padding must be 'same', 'valid' or an int, "
                    f"got {padding!r}"
                )
            self.padding = padding
        else:
            self.padding = self._tuple(padding, "padding")
        if min(self.kernel_size + self.stride + self.dilation) < 1 or groups < 1:
            raise ValueError(
                f"{self.describe()}: kernel_size, stride, dilation and groups must be positive"
            )
        if out_channels % groups or (in_channels is not None and in_channels % groups):
            raise ValueError(
                f"{self.describe()}: in_channels and out_channels must be multiples of "
                f"groups={groups}"
            )
        self.use_bias, self._seed = bias, seed
        self.built = False
        if in_channels is not None:
            self.build((None, in_channels) + (None,) * self.spatial)

    def _tuple(self, value, name):
        return F.pair(value, name) if self.spatial == 2 else (1, F.pair(value, name)[1])

    # (KH, KW) etc. as the PyTorch-facing arguments show them (Conv1d drops the height)
    def _shown(self, value):
        return value if self.spatial == 2 else value[1:]

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

    # --- shapes ------------------------------------------------------------------------------

    def _pads(self, size: tuple) -> list[tuple[int, int]]:
        """(before, after) for height and width."""
        if self.padding == "valid":
            return [(0, 0), (0, 0)]
        if self.padding == "same":
            return [
                F.same_padding(n, k, s, d) if n is not None else (0, 0)
                for n, k, s, d in zip(size, self.kernel_size, self.stride, self.dilation)
            ]
        return [(p, p) for p in self.padding]

    def _out_size(self, size: tuple) -> tuple:
        out = []
        for n, (before, after), k, s, d in zip(
            size, self._pads(size), self.kernel_size, self.stride, self.dilation
        ):
            out.append(None if n is None else (n + before + after - d * (k - 1) - 1) // s + 1)
        return tuple(out)

    def _as_2d_shape(self, shape):
        return tuple(shape) if self.spatial == 2 else (*shape[:2], 1, shape[2])

    def output_shape(self, input_shape):
        n, _, *size = self._as_2d_shape(input_shape)
        out = (n, self.out_channels, *self._out_size(tuple(size)))
        return out if self.spatial == 2 else (out[0], out[1], out[3])

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
        size = self._as_2d_shape(x.shape)[2:]
        if min(self._out_size(size)) < 1:
            raise ValueError(
                f"{self.describe()}: the input {x.shape} is smaller than the kernel "
                f"{self._shown(self.kernel_size)} (dilation {self._shown(self.dilation)}) "
                "after padding: the output would be empty"
            )
        return x if x.dtype == self.weight.dtype else x.astype(self.weight.dtype)

    # --- the computation ---------------------------------------------------------------------

    def forward(self, x):
        x = x.reshape(self._as_2d_shape(x.shape))
        n, c, h, w = x.shape
        pads = self._pads((h, w))
        cols = F.gather_windows(x, pads, self.kernel_size, self.stride, self.dilation)
        oh, ow = self._out_size((h, w))
        kh, kw = self.kernel_size
        g, o = self.groups, self.out_channels
        cols = cols.reshape(n * oh * ow, kh * kw, g, c // g)  # "im2col"
        self.cols = cols.transpose(2, 0, 1, 3).reshape(g, n * oh * ow, kh * kw * (c // g))
        (top, bottom), (left, right) = pads
        self.padded_shape, self.pads = (n, h + top + bottom, w + left + right, c), pads
        # the kernels times the columns: (O, N*OH*OW), whose rows of OH*OW positions then go
        # to channels-first as contiguous runs, with the bias added in the same pass
        out = np.matmul(self._kernels(), self.cols.transpose(0, 2, 1))  # (g, O/g, N*OH*OW)
        result = np.empty((n, o, oh, ow), dtype=out.dtype)
        bias = self.bias.data[:, None] if self.bias is not None else out.dtype.type(0)
        np.add(out.reshape(o, n, oh * ow).transpose(1, 0, 2), bias, out=result.reshape(n, o, -1))
        return result if self.spatial == 2 else result[:, :, 0]

    def _kernels(self) -> np.ndarray:
        """The weight as (g, O/g, KH*KW*C/g), in the column order of ``cols``."""
        weight = self.weight.data.reshape(self.out_channels, -1, *self.kernel_size)
        return weight.transpose(0, 2, 3, 1).reshape(
            self.groups, self.out_channels // self.groups, -1
        )

    def backward_params(self, grad):
        self._parameter_grads(grad.reshape(self._as_2d_shape(grad.shape)))

    def _parameter_grads(self, grad):
        """Add the weight and bias gradients; return the output gradient as (g, N*OH*OW,
        O/g) rows, which the input gradient needs too."""
        n, o, oh, ow = grad.shape
        g, c = self.groups, self.in_channels
        kh, kw = self.kernel_size
        # (N, O, OH*OW) -> (O, N*OH*OW), which moves runs of OH*OW contiguous numbers; the
        # rows are its transpose, a view (a copy straight to channels-last moves single
        # numbers: 1.1 ms against 0.4 for the second convolution of benchmarks/cnn.py)
        rows_t = np.ascontiguousarray(grad.reshape(n, o, -1).transpose(1, 0, 2))
        rows_t = rows_t.reshape(g, o // g, n * oh * ow)
        if self.bias is not None:
            self.bias.grad += rows_t.reshape(o, -1).sum(axis=1)
        weight_grad = np.matmul(rows_t, self.cols)  # (g, O/g, KH*KW*C/g)
        weight_grad = weight_grad.reshape(o, kh, kw, c // g).transpose(0, 3, 1, 2)
        self.weight.grad += weight_grad.reshape(self.weight.shape)
        return rows_t.transpose(0, 2, 1)

    def backward(self, grad):
        grad = grad.reshape(self._as_2d_shape(grad.shape))
        n, o, oh, ow = grad.shape
        g, c = self.groups, self.in_channels
        kh, kw = self.kernel_size
        rows = self._parameter_grads(grad)
        # the input gradient, one kernel offset at a time: the rows times that offset's
        # weights is exactly the slab of windows to add back at that offset, contiguous
        # (measured on benchmarks/cnn.py: 54 -> 39 ms a step, profiled, against one product
        # followed by a strided col2im)
        kernels = self._kernels().reshape(g, o // g, kh, kw, c // g)
        (sh, sw), (dh, dw) = self.stride, self.dilation
        padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        for a in range(kh):
            for b in range(kw):
                rows_at = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
                cols_at = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
                for group in range(g):
                    channels = slice(group * (c // g), (group + 1) * (c // g))
                    slab = rows[group] @ kernels[group, :, a, b, :]  # (N*OH*OW, C/g)
                    padded[:, rows_at, cols_at, channels] += slab.reshape(n, oh, ow, -1)
        (top, bottom), (left, right) = self.pads
        dx = padded[:, top : padded.shape[1] - bottom, left : padded.shape[2] - right, :]
        # channels first and contiguous: as a transposed view, the layers below would read
        # it strided (max-pool's backward took 5.1 ms instead of 3.8 on benchmarks/cnn.py)
        dx = np.ascontiguousarray(dx.transpose(0, 3, 1, 2))
        return dx if self.spatial == 2 else dx[:, :, 0]

    # --- description -------------------------------------------------------------------------

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self._shown(self.padding))
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self._shown(self.kernel_size)),
            "stride": list(self._shown(self.stride)),
            "padding": padding,
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
    """1-D convolution on (N, C, L), PyTorch's ``Conv1d``: computed as a Conv2d of height 1.

    Weights (O, C / groups, K). Shape: input (N, C, L), output (N, O, OL).
    """

    spatial = 1

    def _tuple(self, value, name):
        if isinstance(value, (tuple, list)):
            if len(value) != 1:
                raise ValueError(f"{name}: expected an int or a 1-tuple, got {value!r}")
            value = value[0]
        return (1 if name != "padding" else 0, F.pair(value, name)[1])


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
