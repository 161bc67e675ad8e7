"""Dropout."""

from __future__ import annotations

import numpy as np

from numpynn._config import Seed, get_rng
from numpynn.module import Module


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by 1 / (1 - p), so that eval mode is the identity and needs no rescaling.

    y = x m with m = 1 / (1 - p) where kept, 0 where dropped; dx = grad m (the same mask).

    Args:
        p: the probability of *dropping* an element (PyTorch's and Keras's ``rate``).
        seed: int or Generator for the masks (default: the library's generator at call time).

    Shape:
        input (*), output (*): the same shape. The input array is never modified.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.Dropout(0.5, seed=0)
        >>> y = layer(np.ones((4, 1000)))
        >>> sorted(set(y.ravel().tolist()))   # dropped, or kept and scaled by 1 / (1 - p)
        [0.0, 2.0]
        >>> layer.eval()(np.ones(3))          # the identity in eval mode
        array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, seed: Seed = None):
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is the drop probability and must lie in [0, 1], got {p}")
        self.p = p
        self._rng = None if seed is None else get_rng(seed)

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        keep = 1 - self.p
        rng = self._rng or get_rng()
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        draw = rng.random(x.shape, dtype=dtype)
        # mask holds 0 or 1/keep: one multiply applies drop and rescale in both passes
        scale = 1 / keep if keep > 0 else 0
        self.mask = np.multiply(draw >= self.p, scale, dtype=dtype)
        return x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask

    def get_config(self):
        return {"p": self.p}

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Channel dropout: in training, zero whole channels of (N, C, H, W) (or (N, C, L))
    with probability ``p`` and scale the others by 1 / (1 - p); the identity in eval mode.

    y[n, c] = x[n, c] m_nc with one m_nc per sample and channel (as in ``Dropout``).

    Args:
        p: the probability of dropping a channel.
        seed: int or Generator for the masks.

    Shape:
        input (N, C, H, W) or (N, C, L), output the same shape.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> y = nn.Dropout2d(0.5, seed=0)(np.ones((2, 8, 3, 3)))
        >>> bool(np.all(y.min(axis=(2, 3)) == y.max(axis=(2, 3))))   # whole channels
        True
    """

    def check_input(self, x):
        if x.ndim not in (3, 4):
            raise ValueError(
                f"{self.describe()}: expected (N, C, H, W) or (N, C, L), got {x.shape}"
            )
        return x

    def forward(self, x):
        if not self.training or self.p == 0:
            self.mask = None
            return x
        rng = self._rng or get_rng()
        dtype = x.dtype if x.dtype.kind == "f" else np.float64
        draw = rng.random(x.shape[:2] + (1,) * (x.ndim - 2), dtype=dtype)
        keep = 1 - self.p
        self.mask = np.multiply(draw >= self.p, 1 / keep if keep > 0 else 0, dtype=dtype)
        return x * self.mask
