"""Gradient clipping."""

from __future__ import annotations

import math

import numpy as np


def _grads(parameters):
    if hasattr(parameters, "grad"):
        parameters = [parameters]
    return [p.grad for p in parameters]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients as if concatenated into one vector; the scale is
    max_norm / (norm + 1e-6), applied only when below 1 (PyTorch's rule). Returns the norm
    before clipping.

    Args:
        parameters: a Parameter or an iterable of them.
        max_norm: the largest joint norm allowed.
        norm_type: p of the p-norm (``math.inf`` for the largest magnitude).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.zeros(2))
        >>> p.grad[...] = [3.0, 4.0]
        >>> nn.optim.clip_grad_norm_([p], max_norm=1.0)
        5.0
        >>> p.grad.round(4)
        array([0.6, 0.8])
    """
    grads = _grads(parameters)
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = _largest_magnitude(grads)
    else:
        with np.errstate(over="ignore"):  # an overflow is caught below, by the scaled form
            total = _sum_of_powers(grads, norm_type, 1.0) ** (1 / norm_type)
        peak = _largest_magnitude(grads) if not math.isfinite(total) else 0.0
        if 0 < peak < math.inf:
            # ||g|| = peak * ||g / peak||: the powers of entries <= 1 cannot overflow (1e20 ** 2
            # in float32 would); only taken when the plain sum overflowed
            total = peak * _sum_of_powers(grads, norm_type, peak) ** (1 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= scale
    return total


def _largest_magnitude(grads) -> float:
    return max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)


def _sum_of_powers(grads, p: float, scale: float) -> float:
    """sum |g / scale|^p over every gradient, summed in float64."""
    return sum(float(np.sum((np.abs(g) / scale) ** p, dtype=np.float64)) for g in grads)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value], in place.

    Args:
        parameters: a Parameter or an iterable of them.
        clip_value: the largest magnitude allowed.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> p = nn.Parameter(np.zeros(2))
        >>> p.grad[...] = [-2.0, 0.5]
        >>> nn.optim.clip_grad_value_(p, 1.0)
        >>> p.grad
        array([-1. ,  0.5])
    """
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
