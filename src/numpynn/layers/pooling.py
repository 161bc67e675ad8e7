"""Pooling: MaxPool2d, AvgPool2d, MaxPool1d, AdaptiveAvgPool2d(1), and Keras's names.

Windows come from the same strided view as convolution (``F.sliding_windows``); backward
puts gradients back with a loop over the window offsets (``F.add_windows`` and its max
twin below), never ``np.add.at``.
"""

from __future__ import annotations

import numpy as np

from numpynn import functional as F
from numpynn.module import Module


class _Pool2d(Module):
    """Shared shape logic of the 2-D pools; ``spatial = 1`` pools (N, C, L) as height 1."""

    spatial = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else self._tuple(stride, "stride")
        if isinstance(padding, str):  # Keras's names
            if padding not in ("valid", "same"):
                raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
            self.padding = padding
        else:
            self.padding = self._tuple(padding, "padding")
            if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
                raise ValueError(f"{self.describe()}: padding must be at most half the kernel size")

    def _tuple(self, value, name):
        if self.spatial == 2:
            return F.pair(value, name)
        value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
        return (1 if name != "padding" else 0, F.pair(value, name)[1])

    def _shown(self, value):
        return value if self.spatial == 2 else value[1:]

    def _pads(self, size):
        if self.padding == "valid":
            return [(0, 0), (0, 0)]
        if self.padding == "same":
            return [
                F.same_padding(n, k, s, 1) if n is not None else (0, 0)
                for n, k, s in zip(size, self.kernel_size, self.stride)
            ]
        return [(p, p) for p in self.padding]

    def _out_size(self, size):
        pads = self._pads(size)
        return tuple(
            None if n is None else (n + a + b - k) // s + 1
            for n, (a, b), k, s in zip(size, pads, self.kernel_size, self.stride)
        )

    def _as_2d(self, shape):
        return tuple(shape) if self.spatial == 2 else (*shape[:2], 1, shape[2])

    def output_shape(self, input_shape):
        n, c, *size = self._as_2d(input_shape)
        out = (n, c, *self._out_size(tuple(size)))
        return out if self.spatial == 2 else (out[0], out[1], out[3])

    def check_input(self, x):
        if x.ndim != 2 + self.spatial:
            dims = "(N, C, H, W)" if self.spatial == 2 else "(N, C, L)"
            raise ValueError(f"{self.describe()}: expected {dims}, got {x.shape}")
        if min(self._out_size(self._as_2d(x.shape)[2:])) < 1:
            raise ValueError(
                f"{self.describe()}: the input {x.shape} is smaller than the window: the "
                "output would be empty"
            )
        return x

    def _windows(self, x, fill):
        x = x.reshape(self._as_2d(x.shape))
        pads = self._pads(x.shape[2:])
        if any(map(any, pads)):
            x = np.pad(x, [(0, 0), (0, 0), *pads], constant_values=fill)
        self.padded_shape, self.pads = x.shape, pads
        return F.sliding_windows(x, self.kernel_size, self.stride)

    def _unpad(self, padded):
        (top, bottom), (left, right) = self.pads
        dx = padded[:, :, top : padded.shape[2] - bottom, left : padded.shape[3] - right]
        return dx if self.spatial == 2 else dx[:, :, 0]

    def get_config(self):
        padding = self.padding if isinstance(self.padding, str) else list(self._shown(self.padding))
        return {
            "kernel_size": list(self._shown(self.kernel_size)),
            "stride": list(self._shown(self.stride)),
            "padding": padding,
        }

    def extra_repr(self):
        return ", ".join(
            f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in self.get_config().items()
        )


class MaxPool2d(_Pool2d):
    """The maximum of each window; padding counts as -inf (never the maximum).

    The gradient goes to exactly one element per window: the first maximum in row-major
    order within the window (PyTorch's rule on the CPU for ties). Overlapping windows that
    pick the same element add up.

    Shape: (N, C, H, W) -> (N, C, OH, OW), OH = (H + 2 pad - KH) // stride + 1.
    """

    def forward(self, x):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        self.windows = self._windows(x, fill)  # (N, C, OH, OW, KH, KW), a view
        kh, kw = self.kernel_size
        # the maximum as a running np.maximum over the kernel offsets: elementwise work on
        # strided views, no copy of the windows side by side (argmax over such a copy made
        # a training step of examples/cnn.py take 0.253 s instead of 0.199 s)
        self.out = self.windows[..., 0, 0].copy()
        for k in range(1, kh * kw):
            np.maximum(self.out, self.windows[..., k // kw, k % kw], out=self.out)
        return self.out if self.spatial == 2 else self.out[:, :, 0]

    def backward(self, grad):
        grad = grad.reshape(self._as_2d(grad.shape))
        n, c, oh, ow = grad.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        padded_h, padded_w = self.padded_shape[2:]
        if (sh, sw) == (kh, kw) and (padded_h, padded_w) == (oh * kh, ow * kw):
            # the windows tile the input: each offset's slab is written once, in place
            padded = np.empty(self.padded_shape, dtype=grad.dtype)
            slab = padded.reshape(n, c, oh, kh, ow, kw)
        else:
            padded = np.zeros(self.padded_shape, dtype=grad.dtype)
            slab = None
        unrouted = None  # windows whose maximum is not found yet (None: all of them)
        for k in range(kh * kw):
            a, b = divmod(k, kw)
            if k == kh * kw - 1 and unrouted is not None:
                first = unrouted  # every window has its maximum somewhere: the rest are here
            else:
                hit = self.windows[..., a, b] == self.out
                first = hit if unrouted is None else hit & unrouted  # ties: the first offset
                unrouted = ~hit if unrouted is None else unrouted & ~hit
            if slab is not None:
                np.multiply(grad, first, out=slab[:, :, :, a, :, b])
            else:
                rows = slice(a, a + sh * (oh - 1) + 1, sh)
                cols = slice(b, b + sw * (ow - 1) + 1, sw)
                padded[:, :, rows, cols] += grad * first
        return self._unpad(padded)


class AvgPool2d(_Pool2d):
    """The mean of each window; zero padding counts in the mean (PyTorch's default,
    count_include_pad=True). Each input gets grad / (KH KW) from every window it is in.

    Shape: (N, C, H, W) -> (N, C, OH, OW).
    """

    def forward(self, x):
        windows = self._windows(x, 0)
        out = windows.mean(axis=(-2, -1))
        return out if self.spatial == 2 else out[:, :, 0]

    def backward(self, grad):
        grad = grad.reshape(self._as_2d(grad.shape))
        kh, kw = self.kernel_size
        share = grad / (kh * kw)
        windows = np.broadcast_to(share[..., None, None], (*share.shape, kh, kw))
        padded = np.zeros(self.padded_shape, dtype=grad.dtype)
        return self._unpad(F.add_windows(padded, windows, self.stride))


class MaxPool1d(MaxPool2d):
    """Max pooling over (N, C, L): MaxPool2d on a height of 1."""

    spatial = 1


class AdaptiveAvgPool2d(Module):
    """The mean over each channel's whole image (output_size 1, the only size supported):
    global average pooling with PyTorch's output shape.

    Shape: (N, C, H, W) -> (N, C, 1, 1).
    """

    def __init__(self, output_size=1):
        if F.pair(output_size, "output_size") != (1, 1):
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
