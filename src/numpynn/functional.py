"""Numerically stable kernels shared by layers and losses, and activations as functions.

Every function here takes and returns NumPy arrays, keeps the input's dtype and never
overflows for finite input: no ``exp`` of a large positive number, no ``log(0)``, and no
``np.where`` whose discarded branch could overflow (``inf * 0`` is NaN).

>>> import numpy as np, numpynn.functional as F
>>> F.sigmoid(np.array([-1e4, 0.0, 1e4], dtype=np.float32))
array([0. , 0.5, 1. ], dtype=float32)
>>> F.softmax(np.array([[1e8, 1e8]]))
array([[0.5, 0.5]])
"""

from __future__ import annotations

import math

import numpy as np

from numpynn._config import get_default_dtype

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0)."""
    return np.maximum(x, 0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """x for x > 0, negative_slope * x otherwise."""
    return np.where(x > 0, x, x * negative_slope)


def elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """x for x > 0, alpha * (exp(x) - 1) otherwise (exp only sees x <= 0)."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), computed from exp(-|x|) <= 1 so that nothing overflows."""
    e = np.exp(-np.abs(x))
    positive = 1 / (1 + e)
    return np.where(x >= 0, positive, e * positive)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent."""
    return np.tanh(x)


def softplus(x: np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> np.ndarray:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    bx = beta * x
    smooth = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, smooth)


def silu(x: np.ndarray) -> np.ndarray:
    """x * sigmoid(x), also called swish."""
    return x * sigmoid(x)


def erfc(x: np.ndarray) -> np.ndarray:
    """Complementary error function, accurate to about 1e-15 relative in float64.

    |x| < 2: the series erf(a) = 2/sqrt(pi) exp(-a^2) sum_n (2a^2)^n a / (2n+1)!!, whose
    terms are all positive (no cancellation). |x| >= 2: the continued fraction
    erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...)))), which keeps
    the relative accuracy of the tiny tail. Computed in float64, returned in x's dtype.
    """
    x = np.asarray(x)
    a = np.abs(x.astype(np.float64))
    result = np.empty_like(a)
    near = a < 2.0
    s = a[near]
    term, total, two_s2 = s.copy(), s.copy(), 2 * s * s
    for n in range(1, 40):
        term *= two_s2 / (2 * n + 1)
        total += term
    result[near] = 1 - 2 / math.sqrt(math.pi) * np.exp(-s * s) * total
    t = a[~near]
    fraction = np.zeros_like(t)
    for k in range(60, 0, -1):
        fraction = (k / 2) / (t + fraction)
    result[~near] = np.exp(-t * t) / math.sqrt(math.pi) / (t + fraction)
    result = np.where(x < 0, 2 - result, result)  # erfc(-a) = 2 - erfc(a)
    return result.astype(x.dtype if x.dtype.kind == "f" else np.float64)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, 1 - erfc(x)."""
    return 1 - erfc(x)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) = P(Z <= x) for a standard normal Z, accurate in both tails."""
    x = np.clip(x, -40, 40)  # Phi is 0 or 1 beyond, in float64; erfc's x * x would overflow
    return 0.5 * erfc(-x / _SQRT_2)


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """x * Phi(x) (exact, PyTorch's default) or its tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    if approximate == "tanh":
        u = np.clip(x, -10, 10)  # tanh(u ...) is +-1 beyond, and u**3 cannot overflow
        return 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (u + 0.044715 * u**3)))
    return x * normal_cdf(x)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x) / sum(exp(x)) along ``axis``, shifted by the maximum so exp never overflows."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """x - log(sum(exp(x))) along ``axis``, with the same shift: never log(0) nor overflow."""
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def one_hot(labels: np.ndarray, num_classes: int, dtype=None) -> np.ndarray:
    """(N,) integer class indices to an (N, num_classes) matrix of zeros and ones.

    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: class indices must lie in [0, {num_classes - 1}], "
            f"got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((*labels.shape, num_classes), dtype=dtype or get_default_dtype())
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


# --- sliding windows: the im2col of convolution and pooling --------------------------------------


def pair(value, name: str = "size") -> tuple[int, int]:
    """(value, value) for an int; a 2-tuple unchanged (as ints)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """(before, after) padding so that the output has ceil(size / stride) positions (Keras's
    "same"; PyTorch's for stride 1); the odd extra goes after, as in both."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


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
    for axis, k, s, d in ((axes[0], kh, sh, dh), (axes[1], kw, sw, dw)):
        shape[axis] = (x.shape[axis] - (k - 1) * d - 1) // s + 1
        strides[axis] = x.strides[axis] * s
    shape += [kh, kw]
    strides += [x.strides[axes[0]] * dh, x.strides[axes[1]] * dw]
    if x.flags.c_contiguous:  # numpy's sliding_window_view costs ~45 us more, as_strided ~6
        view = np.ndarray(shape, x.dtype, buffer=x, strides=strides)
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def gather_windows(x: np.ndarray, pads, kernel, stride, dilation=(1, 1)) -> np.ndarray:
    """The windows of ``x`` (N, C, H, W), zero-padded by ``pads`` ((top, bottom), (left,
    right)), side by side: "im2col", (N*OH*OW, KH*KW*C), one row per output position, the
    columns ordered by kernel offset, then channel.

    Two layouts of the same matrix, chosen by speed (3x3 kernels, batch 128): with fewer
    than 8 channels, a transposed view of a contiguous (KH*KW*C, N*OH*OW), one copy per
    kernel offset moving runs of OW numbers (C=4, 28x28: 2.0 ms against 4.2); with more,
    channels-last, one copy of the strided window view moving runs of C numbers (C=8,
    14x14: 1.4 ms against 1.5; C=32, 7x7: 1.3 ms against 3.2).
    """
    n, c, h, w = x.shape
    (top, bottom), (left, right) = pads
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    if c >= 8:
        padded = np.zeros((n, h + top + bottom, w + left + right, c), dtype=x.dtype)
        padded[:, top : top + h, left : left + w, :] = x.transpose(0, 2, 3, 1)
        windows = sliding_windows(padded, kernel, stride, dilation, axes=(1, 2))
        return np.ascontiguousarray(windows.transpose(0, 1, 2, 4, 5, 3)).reshape(-1, kh * kw * c)
    padded = x
    if top or bottom or left or right:
        padded = np.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        padded[:, :, top : top + h, left : left + w] = x
    oh = (padded.shape[2] - (kh - 1) * dh - 1) // sh + 1
    ow = (padded.shape[3] - (kw - 1) * dw - 1) // sw + 1
    out = np.empty((kh, kw, c, n, oh, ow), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
            out[a, b] = padded[:, :, rows, cols].transpose(1, 0, 2, 3)
    return out.reshape(kh * kw * c, n * oh * ow).T


def add_windows(target: np.ndarray, windows: np.ndarray, stride, dilation=(1, 1), axes=(2, 3)):
    """The adjoint of ``sliding_windows``: add each window of ``windows`` (laid out as that
    function returns them) back into ``target`` where it came from, in place.

    A loop over the KH * KW kernel offsets, each one strided slice addition over the whole
    batch: overlapping windows add up, and no ``np.add.at`` is needed.
    """
    kh, kw = windows.shape[-2:]
    oh, ow = windows.shape[axes[0]], windows.shape[axes[1]]
    (sh, sw), (dh, dw) = stride, dilation
    index = [slice(None)] * target.ndim
    for a in range(kh):
        for b in range(kw):
            index[axes[0]] = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
            index[axes[1]] = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
            target[tuple(index)] += windows[..., a, b]
    return target
