"""The window engine of convolution and pooling, written once.

A convolution or a pool reads its input through windows: a kernel of KH x KW offsets,
moved by a stride, its taps spread by a dilation, over an input padded at its borders.
This module holds everything about those windows, for ``Conv2d``, ``Conv1d`` and the pools:

- ``Windowed``, the mixin that turns the layer's arguments (an int, a pair, ``"same"``,
  ``"valid"``) into pairs, padding per border and output sizes, and runs 1-D layers as
  2-D ones of height 1;
- ``output_size`` and ``same_padding`` (in ``functional.py``, which ``onnx.py`` uses too),
  the two formulas;
- ``sliding_windows`` (a view of every window, no copy), ``im2col`` (the windows copied
  side by side as the rows of a matrix, for the convolution's product) and ``col2im``
  (their adjoint: values per window added back where the windows came from, the one
  scatter-add of every backward pass here).

It lives beside the layers rather than in ``functional.py`` because half of it is the
layers' argument handling (errors that name the layer), and the other half is used by
these layers only.
"""

from __future__ import annotations

import numpy as np

from numpynn.functional import same_padding


def pair(value, name: str = "size") -> tuple[int, int]:
    """(value, value) for an int; a 2-tuple unchanged (as ints)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")


def output_size(size: int, pads: tuple[int, int], kernel: int, stride: int, dilation: int) -> int:
    """Window positions along one axis: (size + before + after - d (k - 1) - 1) // s + 1.

    >>> output_size(28, (1, 1), kernel=3, stride=1, dilation=1)
    28
    """
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1


class Windowed:
    """The window arguments of a layer (a mixin listed before ``Module``): ``kernel_size``,
    ``stride``, ``dilation`` and ``padding`` kept as (height, width) pairs, the padding
    as ``"same"``, ``"valid"`` or a pair. A 1-D layer (``spatial = 1``) on (N, C, L) runs as
    a 2-D one on (N, C, 1, L): its pairs are (1, k) (padding (0, p)).
    """

    spatial = 2
    dilation = (1, 1)

    def _set_windows(self, kernel_size, stride, padding, dilation=1) -> None:
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else self._tuple(stride, "stride")
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
        if min(self.kernel_size + self.stride + self.dilation) < 1:
            raise ValueError(
                f"{type(self).__name__}: kernel_size, stride and dilation must be positive"
            )

    def _tuple(self, value, name: str) -> tuple[int, int]:
        if self.spatial == 2:
            return pair(value, name)
        if isinstance(value, (tuple, list)):
            if len(value) != 1:
                raise ValueError(f"{name}: expected an int or a 1-tuple, got {value!r}")
            value = value[0]
        return (0 if name == "padding" else 1, pair(value, name)[1])

    def _shown(self, value: tuple) -> tuple:
        """A pair as the layer's arguments show it (a 1-D layer drops the height)."""
        return value if self.spatial == 2 else value[1:]

    def _window_config(self) -> dict:
        padding = self.padding if isinstance(self.padding, str) else list(self._shown(self.padding))
        return {
            "kernel_size": list(self._shown(self.kernel_size)),
            "stride": list(self._shown(self.stride)),
            "padding": padding,
        }

    def _pads(self, size: tuple) -> list[tuple[int, int]]:
        """(before, after) zeros for height and width, for an input of ``size`` (H, W)."""
        if self.padding == "valid":
            return [(0, 0), (0, 0)]
        if self.padding == "same":
            return [
                same_padding(n, k, s, d) if n is not None else (0, 0)
                for n, k, s, d in zip(size, self.kernel_size, self.stride, self.dilation)
            ]
        return [(p, p) for p in self.padding]

    def _out_size(self, size: tuple) -> tuple:
        """(OH, OW) for an input of ``size`` (H, W); None stays None (unknown sizes)."""
        return tuple(
            None if n is None else output_size(n, pads, k, s, d)
            for n, pads, k, s, d in zip(
                size, self._pads(size), self.kernel_size, self.stride, self.dilation
            )
        )

    def _geometry(self, size: tuple) -> tuple:
        """(pads, (OH, OW)) for an input of ``size`` (H, W), worked out once per size (a
        tenth of a one-sample convolution's time when worked out on every call)."""
        known = self.__dict__.setdefault("_geometry_by_size", {})
        if size not in known:
            known[size] = (self._pads(size), self._out_size(size))
        return known[size]

    def _as_2d(self, shape: tuple) -> tuple:
        """The shape a 1-D layer computes on: (N, C, L) -> (N, C, 1, L)."""
        return tuple(shape) if self.spatial == 2 else (*shape[:2], 1, shape[2])

    def _as_given(self, images: np.ndarray) -> np.ndarray:
        """The 2-D result back in the layer's own shape: (N, C, 1, L) -> (N, C, L)."""
        return images if self.spatial == 2 else images[:, :, 0]

    def _window_output_shape(self, input_shape: tuple, channels) -> tuple:
        n, _, *size = self._as_2d(input_shape)
        out = (n, channels, *self._out_size(tuple(size)))
        return out if self.spatial == 2 else (out[0], out[1], out[3])

    def _check_windows_fit(self, shape: tuple) -> None:
        if min(self._geometry(self._as_2d(shape)[2:])[1]) < 1:
            raise ValueError(
                f"{self.describe()}: the input {shape} is smaller than the kernel window "
                f"{self._shown(self.kernel_size)} (dilation {self._shown(self.dilation)}) "
                "after padding: the output would be empty"
            )


# --- the windows themselves ----------------------------------------------------------------------


def window_counts(shape, kernel, stride, dilation=(1, 1), axes=(2, 3)) -> tuple[int, int]:
    """(OH, OW): the windows that fit along the two ``axes`` of an (already padded) ``shape``."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    return (
        output_size(shape[axes[0]], (0, 0), kh, sh, dh),
        output_size(shape[axes[1]], (0, 0), kw, sw, dw),
    )


def is_channels_last(images: np.ndarray) -> bool:
    """Whether (N, C, H, W) ``images`` lie in memory as a contiguous (N, H, W, C)."""
    return images.ndim == 4 and images.transpose(0, 2, 3, 1).flags.c_contiguous


def in_order_of(like: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` laid out in memory as ``like`` (same shape)."""
    copy = np.empty_like(like, dtype=a.dtype)
    copy[...] = a
    return copy


def offset_slices(kernel, stride, dilation, out_size):
    """Each kernel offset (a, b), row-major, with the input rows and columns it meets over
    all output positions: the strided slices i sh + a dh (i < OH) and j sw + b dw (j < OW)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
            yield a, b, rows, cols


def pad(x: np.ndarray, pads, axes=(2, 3), fill=0) -> np.ndarray:
    """``x`` with ``pads`` ((top, bottom), (left, right)) rows and columns of ``fill`` added
    around its two spatial ``axes`` (consecutive); ``x`` itself when there is nothing to add."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    h, w = x.shape[axes[0]], x.shape[axes[1]]
    shape = list(x.shape)
    shape[axes[0]], shape[axes[1]] = h + top + bottom, w + left + right
    padded = np.zeros(shape, x.dtype) if fill == 0 else np.full(shape, fill, x.dtype)
    padded[(slice(None),) * axes[0] + (slice(top, top + h), slice(left, left + w))] = x
    return padded


def crop(padded: np.ndarray, pads, axes=(2, 3)) -> np.ndarray:
    """The inverse of ``pad``: a view without the border."""
    (top, bottom), (left, right) = pads
    index = [slice(None)] * padded.ndim
    index[axes[0]] = slice(top, padded.shape[axes[0]] - bottom)
    index[axes[1]] = slice(left, padded.shape[axes[1]] - right)
    return padded[tuple(index)]


def sliding_windows(x: np.ndarray, kernel, stride, dilation=(1, 1), axes=(2, 3)) -> np.ndarray:
    """The windows of ``x`` over its two spatial ``axes`` as a view, the output positions in
    place of those axes and the kernel offsets appended: for (N, C, H, W) and axes (2, 3),
    (N, C, OH, OW, KH, KW) with element [n, c, i, j, a, b] = x[n, c, i sh + a dh, j sw + b dw].
    No data is copied.

    >>> import numpy as np
    >>> sliding_windows(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2), (2, 2))[0, 0, 1, 1]
    array([[10., 11.],
           [14., 15.]])
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    shape, strides = list(x.shape), list(x.strides)
    shape[axes[0]], shape[axes[1]] = window_counts(x.shape, kernel, stride, dilation, axes)
    strides[axes[0]], strides[axes[1]] = x.strides[axes[0]] * sh, x.strides[axes[1]] * sw
    shape += [kh, kw]
    strides += [x.strides[axes[0]] * dh, x.strides[axes[1]] * dw]
    if x.flags.c_contiguous:  # numpy's sliding_window_view costs ~45 us more, as_strided ~6
        view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def im2col(x: np.ndarray, pads, kernel, stride, dilation=(1, 1)) -> np.ndarray:
    """The windows of ``x`` (N, C, H, W), zero-padded by ``pads`` ((top, bottom), (left,
    right)), side by side: (N*OH*OW, KH*KW*C), one row per output position, the columns
    ordered by kernel offset, then channel:

        cols[(n, i, j), (a, b, c)] = padded[n, c, i sh + a dh, j sw + b dw]

    Two layouts of the same matrix, chosen by speed (3x3 kernels, batch 128): with fewer
    than 8 channels, a transposed view of a contiguous (KH*KW*C, N*OH*OW), one copy per
    kernel offset moving runs of OW numbers (C=4, 28x28: 2.0 ms against 4.2); with more,
    channels-last, one copy of the strided window view moving runs of C numbers (C=8,
    14x14: 1.4 ms against 1.5; C=32, 7x7: 1.3 ms against 3.2).
    """
    n, c = x.shape[:2]
    (kh, kw) = kernel
    if c >= 8:
        padded = pad(x.transpose(0, 2, 3, 1), pads, axes=(1, 2))
        windows = sliding_windows(padded, kernel, stride, dilation, axes=(1, 2))
        return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3)).reshape(-1, kh * kw * c)
    padded = pad(x, pads)
    out_size = window_counts(padded.shape, kernel, stride, dilation)
    out = np.empty((kh, kw, c, n, *out_size), dtype=x.dtype)
    for a, b, rows, cols in offset_slices(kernel, stride, dilation, out_size):
        out[a, b] = padded[:, :, rows, cols].transpose(1, 0, 2, 3)
    return out.reshape(kh * kw * c, -1).T


def col2im(
    shape: tuple, dtype, value_at, kernel, stride, dilation=(1, 1), axes=(2, 3), like=None
) -> np.ndarray:
    """The adjoint of ``sliding_windows`` and ``im2col``: a new array of ``shape`` (the
    padded input's) where every window's values are added back where the window came from,

        out[..., i sh + a dh, j sw + b dw, ...] += values_(a, b)[..., i, j, ...]

    ``value_at(a, b, slot)`` gives kernel offset (a, b)'s values, laid out as the input with
    (OH, OW) on ``axes``; it is called once per offset, in row-major order. A loop over the
    KH*KW offsets, one strided slice addition over the whole batch each, so that
    overlapping windows add up without ``np.add.at``. Where the windows tile the input
    exactly (stride = kernel, no dilation), each element is in one window: the values are
    written once instead of added to zeros, and ``slot`` is their place in the result, which
    ``value_at`` may fill itself to save a copy (max-pool's backward: 10 to 25% faster);
    otherwise ``slot`` is None. The result has the memory order of ``like`` if given (a
    channels-last image gets a channels-last gradient), else C order.
    """
    out_size = window_counts(shape, kernel, stride, dilation, axes)
    tiles = tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1)
    tiles = tiles and all(shape[axis] == n * k for axis, n, k in zip(axes, out_size, kernel))
    if like is None:
        out = (np.empty if tiles else np.zeros)(shape, dtype=dtype)
    else:
        out = (np.empty_like if tiles else np.zeros_like)(like, dtype=dtype, shape=shape)
    index = [slice(None)] * len(shape)
    for a, b, rows, cols in offset_slices(kernel, stride, dilation, out_size):
        index[axes[0]], index[axes[1]] = rows, cols
        slot = out[tuple(index)]
        if not tiles:
            slot += value_at(a, b, None)
        elif (value := value_at(a, b, slot)) is not slot:
            slot[...] = value
    return out
