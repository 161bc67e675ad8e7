"""Dropout, and the one mask of inverted dropout that every layer with dropout draws
(``dropout_mask``: Dropout, Dropout2d, the recurrent layers between their stacked layers,
attention on its weights)."""

from __future__ import annotations

import numpy as np

from numpynn._config import Seed, get_rng
from numpynn.module import Module


def dropout_mask(shape, p: float, dtype, rng: np.random.Generator | None = None) -> np.ndarray:
    """The mask of inverted dropout: 0 with probability ``p``, else 1 / (1 - p), in ``dtype``.

    One multiply by the mask applies the drop and the rescale, in forward and backward alike.
    Drawn from ``rng`` (a layer's seeded Generator; the library's when None), in ``dtype``
    itself when it is float32 or float64 (a float32 draw is half the work), else in float64.

    >>> dropout_mask((2, 4), 0.5, np.float32, np.random.default_rng(0))
    array([[2., 2., 2., 0.],
           [0., 0., 0., 0.]], dtype=float32)
    """
    dtype = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype(np.float64)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.float64
    draw = (rng or get_rng()).random(shape, dtype=draw_dtype)
    return np.multiply(draw >= p, 1 / (1 - p) if p < 1 else 0, dtype=dtype)


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
        self.mask = self.draw_mask(x.shape, x.dtype)
        return x if self.mask is None else x * self.mask

    def backward(self, grad):
        return grad if self.mask is None else grad * self.mask

    def draw_mask(self, shape, dtype) -> np.ndarray | None:
        """This layer's next ``dropout_mask`` (its seed, ``dtype``), or None in eval mode
        or with p = 0, where dropout is the identity."""
        if not self.training or self.p == 0:
            return None
        return dropout_mask(shape, self.p, dtype, self._rng)

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
        self.mask = self.draw_mask(x.shape[:2] + (1,) * (x.ndim - 2), x.dtype)  # per channel
        return x if self.mask is None else x * self.mask
