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

from numpynn._threads import batch_parts, run_parts, sum_in_order
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
    shape: tuple, dtype, value_at, kernel, stride, dilation=(1, 1), axes=(2, 3), like=None, out=None
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
    channels-last image gets a channels-last gradient), else C order. ``out``, if given,
    receives it: an array from ``col2im_output``, or the rows of it that one part of a batch
    fills (``shape`` is then the part's).
    """
    out_size = window_counts(shape, kernel, stride, dilation, axes)
    tiles = _tiles(shape, kernel, stride, dilation, axes)
    if out is None:
        out = col2im_output(shape, dtype, kernel, stride, dilation, axes, like)
    index = [slice(None)] * len(shape)
    for a, b, rows, cols in offset_slices(kernel, stride, dilation, out_size):
        index[axes[0]], index[axes[1]] = rows, cols
        slot = out[tuple(index)]
        if not tiles:
            slot += value_at(a, b, None)
        elif (value := value_at(a, b, slot)) is not slot:
            slot[...] = value
    return out


def _tiles(shape, kernel, stride, dilation, axes) -> bool:
    """Whether the windows tile the input exactly (each element in one window)."""
    out_size = window_counts(shape, kernel, stride, dilation, axes)
    tiles = tuple(stride) == tuple(kernel) and tuple(dilation) == (1, 1)
    return tiles and all(shape[axis] == n * k for axis, n, k in zip(axes, out_size, kernel))


def col2im_output(shape, dtype, kernel, stride, dilation=(1, 1), axes=(2, 3), like=None):
    """The array ``col2im`` fills: zeros where windows overlap or leave gaps, else left
    empty (every element is written once); in the memory order of ``like`` if given."""
    if _tiles(shape, kernel, stride, dilation, axes):
        return np.empty(shape, dtype) if like is None else np.empty_like(like, dtype, shape=shape)
    return np.zeros(shape, dtype) if like is None else np.zeros_like(like, dtype, shape=shape)


# --- convolution as products with the columns ----------------------------------------------------

# The multiply-adds of a convolution (N*OH*OW * KH*KW*C * O) from which its batch is split
# over the threads (``_threads.batch_parts``). benchmarks/threads.py on 2 cores (benchmarks/
# README.md, "Threads"), split / one thread at load 1.4 and at load 5: 0.84 and 0.70 at 29M
# (Conv2d(8, 16, 3), batch 128), 0.47 and 0.55 at 118M (Conv2d(32, 64, 3), batch 128);
# 1.10 and 0.83 at 14.5M (batch 64); 1.08 to 4.7 at 7.2M and below.
CONV_SPLIT_FROM = 20_000_000


def conv2d_forward(x, weight, bias, pads, window, groups=1, channels_last=False):
    """y = W·cols + b, one product per group, the columns cols = im2col(x) as (g,
    N*OH*OW, KH*KW*C/g) rows; the batch split over the threads (``run_parts``). Return
    (y (N, O, OH, OW), the columns of each part, the parts).

    ``channels_last``: write y channels-last in memory, (N, OH, OW, O), shown as (N, O, OH,
    OW): the products then write rows of channels, and the layers up to the next
    convolution (ReLU, BatchNorm, pooling) follow the memory order of their input, so the
    image is never transposed inside the stack. Below 16 channels, or for one sample,
    channels-first is faster (NumPy's loops over so few channels are short;
    benchmarks/README.md, "Channels-last images and BatchNorm").
    """
    kernel, stride, dilation = window
    n, o = len(x), weight.shape[0]
    oh = output_size(x.shape[2], pads[0], kernel[0], stride[0], dilation[0])
    ow = output_size(x.shape[3], pads[1], kernel[1], stride[1], dilation[1])
    kernels = weight_as_kernels(weight, groups)  # (g, O/g, KH*KW*C/g)
    out = np.empty((n, oh, ow, o) if channels_last else (n, o, oh * ow), weight.dtype)

    def forward_part(rows):
        cols = group_columns(x[rows], pads, kernel, stride, dilation, groups)
        if channels_last:
            _products_plus_bias_channels_last(cols, kernels, bias, out[rows])
        else:
            _products_plus_bias_channels_first(cols, kernels, bias, out[rows])
        return cols

    parts = batch_parts(n, n * oh * ow * kernels.shape[2] * o, CONV_SPLIT_FROM)
    cols = run_parts(forward_part, parts)
    shown = out.transpose(0, 3, 1, 2) if channels_last else out.reshape(n, o, oh, ow)
    return shown, cols, parts


def conv2d_backward(grad, cols, parts, weight, input_shape, pads, window, groups=1, last=False):
    """The gradients of y = W·cols + b: dW = dyᵀ·cols and db = sum(dy), summed over the
    batch parts in order, and dx = col2im(dy·W) (None when ``input_shape`` is None, for a
    first layer). ``cols`` and ``parts`` are ``conv2d_forward``'s; dx is channels-last in
    memory if ``last`` (as the input was), else C order: as a transposed view, the layers
    below would read it strided (max-pool's backward took 5.1 ms instead of 3.8 on
    benchmarks/cnn.py). Return (dx, dW, db).

    col2im adds dy·W back one kernel offset's (N*OH*OW, C) slab at a time, into a
    channels-last image so that each slab is one contiguous product (measured on
    benchmarks/cnn.py: 54 -> 39 ms a step, profiled, against one product followed by a
    strided col2im).
    """
    kernel, stride, dilation = window
    kernels = weight_as_kernels(weight, groups)
    dx = None
    if input_shape is not None:
        n, c, h, w = input_shape
        (top, bottom), (left, right) = pads
        padded_shape = (n, h + top + bottom, w + left + right, c)
        padded = col2im_output(padded_shape, grad.dtype, kernel, stride, dilation, (1, 2))
        dx = crop(padded, pads, axes=(1, 2)).transpose(0, 3, 1, 2)
        dx_copy = None if last else np.empty(input_shape, grad.dtype)

    def backward_part(rows, cols_part):
        dy = output_as_rows(grad[rows], groups)  # (g, n*OH*OW, O/g)
        if input_shape is not None:
            slabs = _input_grad_slabs(dy, kernels, kernel, grad[rows].shape, c)
            part = padded[rows]
            col2im(part.shape, grad.dtype, slabs, kernel, stride, dilation, (1, 2), out=part)
            if dx_copy is not None:
                dx_copy[rows] = dx[rows]
        return dy.mT @ cols_part, dy.sum(axis=1).reshape(-1)

    grads = run_parts(backward_part, parts, cols)
    dW = kernels_as_weight(sum_in_order([g[0] for g in grads]), weight.shape)
    if input_shape is not None and not last:
        dx = dx_copy
    return dx, dW, sum_in_order([g[1] for g in grads])


def weight_as_kernels(weight: np.ndarray, groups: int) -> np.ndarray:
    """The weight (O, C/g, KH, KW) as (g, O/g, KH*KW*C/g), in the column order of
    ``group_columns`` (kernel offset, then channel)."""
    o = weight.shape[0]
    return weight.transpose(0, 2, 3, 1).reshape(groups, o // groups, -1)


def kernels_as_weight(kernels: np.ndarray, shape: tuple) -> np.ndarray:
    """The inverse of ``weight_as_kernels``: (g, O/g, KH*KW*C/g) to the weight's ``shape``."""
    o, c, kh, kw = shape
    return kernels.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)


def group_columns(x, pads, kernel, stride, dilation, groups):
    """im2col per group: (g, N*OH*OW, KH*KW*C/g), columns by kernel offset then channel."""
    cols = im2col(x, pads, kernel, stride, dilation)
    cols = cols.reshape(len(cols), kernel[0] * kernel[1], groups, -1).transpose(2, 0, 1, 3)
    return cols.reshape(groups, len(cols[0]), -1)


def output_as_rows(images: np.ndarray, groups: int) -> np.ndarray:
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


def _products_plus_bias_channels_last(cols, kernels, bias, out) -> None:
    """out (N, OH, OW, O) = cols·Wᵀ + b, the products written in place for one group;
    the bias added along rows of OH*OW*O numbers (the bias repeated OH*OW times)."""
    g, m, _ = cols.shape
    rows = out.reshape(m, -1)
    if g == 1:
        np.matmul(cols[0], kernels[0].T, out=rows)
    else:
        rows[...] = (cols @ kernels.mT).transpose(1, 0, 2).reshape(m, -1)
    if bias is not None:
        out.reshape(len(out), -1)[...] += np.tile(bias, m // len(out))


def _products_plus_bias_channels_first(cols, kernels, bias, out) -> None:
    """out (N, O, OH*OW) = W·colsᵀ + b: products (g, O/g, N*OH*OW) moved to (N, O, OH*OW)
    with the bias added in one pass that moves runs of OH*OW numbers."""
    products = kernels @ cols.mT
    o = products.shape[0] * products.shape[1]
    b = bias[:, None] if bias is not None else products.dtype.type(0)
    np.add(products.reshape(o, len(out), -1).transpose(1, 0, 2), b, out=out)


def _input_grad_slabs(dy, kernels, kernel, out_shape, channels):
    """``slab_at(a, b, slot)`` for ``col2im``: dy·W[:, :, a, b], the gradient of the
    inputs that kernel offset (a, b) read, as (N, OH, OW, C)."""
    g, per_group = kernels.shape[:2]
    kernels = kernels.reshape(g, per_group, *kernel, -1)
    n, _, oh, ow = out_shape

    def slab_at(a, b, slot):
        slab = dy @ kernels[:, :, a, b, :]  # (g, N*OH*OW, C/g)
        return slab.transpose(1, 0, 2).reshape(n, oh, ow, channels)

    return slab_at


# --- per-channel arithmetic on (N, C, ...) arrays, in either memory order -----------------------


def _is_channels_last_only(a: np.ndarray) -> bool:
    """Channels-last in memory and not also channels-first (C, or H*W, above 1)."""
    return a.ndim == 4 and not a.flags.c_contiguous and is_channels_last(a)


def channel_sums(a: np.ndarray) -> np.ndarray:
    """The (C,) sums of ``a`` (N, C, ...) over every axis but the channels'.

    Channels-last images are summed as (N, H*W*C) rows, by one product with a vector of
    ones (BLAS, over whole rows), then over the H*W positions: NumPy's reductions over
    such memory run C numbers at a time (one pass over 128x32x28x28: 0.7 ms against 1.9).
    """
    if _is_channels_last_only(a):
        n, c, h, w = a.shape
        rows = a.transpose(0, 2, 3, 1).reshape(n, -1)
        return (np.ones(n, a.dtype) @ rows).reshape(h * w, c).sum(axis=0)
    return a.reshape(a.shape[0], a.shape[1], -1).sum(axis=(0, 2))


def per_channel(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The (C,) ``values`` shaped to broadcast over ``like`` (N, C, ...) along its channels.

    For channels-last images, a (C, H, W) array laid out as (H, W, C), ``values`` repeated
    H*W times: NumPy's loops then run over whole rows of H*W*C numbers, not over C numbers
    at a time (see ``channel_sums``); else a (C, 1, ...) view.
    """
    if _is_channels_last_only(like):
        _, c, h, w = like.shape
        return np.tile(values, h * w).reshape(h, w, c).transpose(2, 0, 1)
    return values.reshape((-1,) + (1,) * (like.ndim - 2))
