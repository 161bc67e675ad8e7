"""Pooling: MaxPool2d, AvgPool2d, MaxPool1d, AdaptiveAvgPool2d(1), and Keras's names.

Windows come from the same engine as convolution (``layers/_windows.py``): the forward
pass reads a strided view of every window (no copy), the backward pass adds each window's
gradient back with ``col2im``, one kernel offset at a time, never ``np.add.at``.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn._threads import batch_parts, run_parts
from numpynn.layers._windows import (
    Windowed,
    col2im,
    col2im_output,
    crop,
    in_order_of,
    pad,
    pair,
    sliding_windows,
)
from numpynn.module import Module

# The window reads of a pool (N*C*OH*OW * KH*KW) from which its batch is split over the
# threads. benchmarks/threads.py, 2 cores at load 5 to 8 (benchmarks/README.md, "Threads"):
# no size won, split / one thread 1.06 at 3.2M (MaxPool2d(2) on 128x32x28x28), 1.2 to 2.7
# below (memory-bound: the two parts share the memory bandwidth); so only larger pools split.
POOL_SPLIT_FROM = 16_000_000


class _Pool2d(Windowed, Module):
    """What the 2-D pools share: the windows (``Windowed``), padding and config;
    ``spatial = 1`` pools (N, C, L) as height 1."""

    def __init__(self, kernel_size, stride=None, padding=0):
        self._set_windows(kernel_size, stride, padding)
        if not isinstance(self.padding, str) and any(
            2 * p > k for p, k in zip(self.padding, self.kernel_size)
        ):
            raise ValueError(f"{self.describe()}: padding must be at most half the kernel size")

    def output_shape(self, input_shape):
        return self._window_output_shape(input_shape, input_shape[1])

    def check_input(self, x):
        if x.ndim != 2 + self.spatial:
            dims = "(N, C, H, W)" if self.spatial == 2 else "(N, C, L)"
            raise ValueError(f"{self.describe()}: expected {dims}, got {x.shape}")
        self._check_windows_fit(x.shape)
        return x

    def _windows(self, x, fill):
        """(N, C, OH, OW, KH, KW): a view of the windows of ``x`` padded with ``fill``; and
        the batch parts (``_threads.batch_parts``) the pool computes at once."""
        x = x.reshape(self._as_2d(x.shape))
        self.pads, out_size = self._geometry(x.shape[2:])
        self.padded = pad(x, self.pads, fill=fill)
        work = x.shape[0] * x.shape[1] * out_size[0] * out_size[1] * math.prod(self.kernel_size)
        self.parts = batch_parts(len(x), work, POOL_SPLIT_FROM)
        return sliding_windows(self.padded, self.kernel_size, self.stride)

    def _input_grad(self, values_of, dtype):
        """col2im of the windows' gradients, part by part: ``values_of(rows)`` gives the
        ``value_at(a, b, slot)`` of those rows (see ``col2im``); without the padding, in
        the layer's shape."""
        k, s = self.kernel_size, self.stride
        padded = col2im_output(self.padded.shape, dtype, k, s, like=self.padded)

        def add_part(rows):
            part = padded[rows]
            col2im(part.shape, dtype, values_of(rows), k, s, out=part)

        run_parts(add_part, self.parts)
        return self._as_given(crop(padded, self.pads))

    def get_config(self):
        return self._window_config()

    def extra_repr(self):
        return ", ".join(
            f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in self.get_config().items()
        )


class MaxPool2d(_Pool2d):
    """The maximum of each window, y[n, c, i, j] = max_{a, b} x[n, c, i s + a, j s + b];
    padding counts as -inf (never the maximum).

    The gradient goes to exactly one element per window: the first maximum in row-major
    order within the window (PyTorch's rule on the CPU for ties). Overlapping windows that
    pick the same element add up.

    Args:
        kernel_size: the window, an int or a pair (height, width).
        stride: the step between windows; the kernel size when None.
        padding: -inf rows and columns on both sides (at most half the kernel), or Keras's
            ``"valid"`` / ``"same"`` (the odd extra after).

    Shape: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2 pad - KH) // stride + 1.

    >>> import numpy as np, numpynn as nn
    >>> nn.MaxPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """

    def forward(self, x):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        self.windows = self._windows(x, fill)  # (N, C, OH, OW, KH, KW), a view
        self.out = np.empty_like(self.windows[..., 0, 0])  # in the input's memory order
        run_parts(self._maximum, self.parts)
        return self._as_given(self.out)

    def _maximum(self, rows):
        """out = the maximum of each window, for the batch's ``rows``: a running np.maximum
        over the kernel offsets, elementwise work on strided views, no copy of the windows
        side by side (argmax over such a copy made a training step of examples/cnn.py take
        0.253 s instead of 0.199 s)."""
        kh, kw = self.kernel_size
        out, windows = self.out[rows], self.windows[rows]
        out[...] = windows[..., 0, 0]
        for k in range(1, kh * kw):
            np.maximum(out, windows[..., k // kw, k % kw], out=out)

    def backward(self, grad):
        grad = grad.reshape(self._as_2d(grad.shape))
        if grad.strides != self.out.strides:  # one copy to the windows' memory order, not
            grad = in_order_of(self.out, grad)  # a product of mixed orders per offset

        def values_of(rows):  # each window's gradient goes to its first maximum
            firsts = self._first_maxima(rows)
            return lambda a, b, slot: np.multiply(grad[rows], next(firsts), out=slot)

        return self._input_grad(values_of, grad.dtype)

    def _first_maxima(self, rows):
        """For each kernel offset, row-major: the mask (n, C, OH, OW) of the windows of the
        batch's ``rows`` whose first maximum sits at that offset."""
        kh, kw = self.kernel_size
        windows, out = self.windows[rows], self.out[rows]
        unrouted = None  # windows whose maximum is not found yet (None: all of them)
        for k in range(kh * kw):
            if k == kh * kw - 1 and unrouted is not None:
                yield unrouted  # every window has its maximum somewhere: the rest are here
                return
            hit = windows[..., k // kw, k % kw] == out
            yield hit if unrouted is None else hit & unrouted  # ties: the first offset
            unrouted = ~hit if unrouted is None else unrouted & ~hit


class AvgPool2d(_Pool2d):
    """The mean of each window, y[n, c, i, j] = mean_{a, b} x[n, c, i s + a, j s + b];
    zero padding counts in the mean (PyTorch's default, count_include_pad=True). Each input
    gets grad / (KH KW) from every window it is in.

    Args: as ``MaxPool2d`` (padding with zeros).

    Shape: (N, C, H, W) -> (N, C, OH, OW).

    >>> import numpy as np, numpynn as nn
    >>> nn.AvgPool2d(2)(np.arange(16.0).reshape(1, 1, 4, 4))
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """

    def forward(self, x):
        windows = self._windows(x, 0)
        out = np.empty_like(windows[..., 0, 0])
        run_parts(lambda rows: np.mean(windows[rows], axis=(-2, -1), out=out[rows]), self.parts)
        return self._as_given(out)

    def backward(self, grad):
        grad = grad.reshape(self._as_2d(grad.shape))
        kh, kw = self.kernel_size
        share = grad / (kh * kw)  # every offset of every window gets the same share
        return self._input_grad(lambda rows: lambda a, b, slot: share[rows], grad.dtype)


class MaxPool1d(MaxPool2d):
    """Max pooling over (N, C, L): MaxPool2d on a height of 1,
    y[n, c, t] = max_k x[n, c, t s + k].

    Args: as ``MaxPool2d``, each an int.

    Shape: (N, C, L) -> (N, C, OL), OL = (L + 2 pad - K) // stride + 1.

    >>> import numpy as np, numpynn as nn
    >>> nn.MaxPool1d(2)(np.array([[[1.0, 3.0, 2.0, 0.0, 5.0]]]))
    array([[[3., 2.]]])
    """

    spatial = 1


class AdaptiveAvgPool2d(Module):
    """The mean over each channel's whole image (output_size 1, the only size supported):
    global average pooling with PyTorch's output shape.

    Shape: (N, C, H, W) -> (N, C, 1, 1).
    """

    def __init__(self, output_size=1):
        if pair(output_size, "output_size") != (1, 1):
            raise ValueError(
                f"AdaptiveAvgPool2d: only output_size=1 is supported, got {output_size!r}"
            )
        self.output_size = 1

    def check_input(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self.describe()}: expected (N, C, H, W), got {x.shape}")
        return x

    def forward(self, x):
        self.input_shape = x.shape
        return x.mean(axis=(2, 3), keepdims=True)

    def backward(self, grad):
        h, w = self.input_shape[2:]
        return np.broadcast_to(grad / (h * w), self.input_shape).copy()

    def output_shape(self, input_shape):
        return (*input_shape[:2], 1, 1)

    def get_config(self):
        return {"output_size": 1}

    def extra_repr(self):
        return "output_size=1"


class GlobalAveragePooling2D(AdaptiveAvgPool2d):
    """Keras's global average pooling, channels-first: (N, C, H, W) -> (N, C)."""

    def __init__(self, name: str | None = None):
        super().__init__(1)
        self.name = name

    def forward(self, x):
        return super().forward(x)[:, :, 0, 0]

    def backward(self, grad):
        return super().backward(grad[:, :, None, None])

    def output_shape(self, input_shape):
        return tuple(input_shape[:2])

    def get_config(self):
        return {}

    def extra_repr(self):
        return ""


class KerasPooling:
    """Keras's arguments for a pooling layer (a mixin listed before the PyTorch-style class):
    ``pool_size=2, strides=None, padding="valid"``, channels-first."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", name: str | None = None):
        super().__init__(pool_size, strides, padding)
        self.name = name

    def get_config(self):
        config = super().get_config()
        return {
            "pool_size": config["kernel_size"],
            "strides": config["stride"],
            "padding": config["padding"],
        }


class MaxPooling2D(KerasPooling, MaxPool2d):
    """Keras's ``MaxPooling2D(pool_size=2, strides=None, padding="valid")``, channels-first."""


class AveragePooling2D(KerasPooling, AvgPool2d):
    """Keras's ``AveragePooling2D(pool_size=2, strides=None, padding="valid")``,
    channels-first. With "same" the padded zeros count in the mean (Keras leaves them out)."""
