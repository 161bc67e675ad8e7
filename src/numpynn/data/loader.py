"""DataLoader: mini-batches of arrays, shuffled anew each epoch."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from numpynn._config import Seed, get_rng


class DataLoader:
    """Iterate over ``x`` (and ``y``) in batches of ``batch_size`` samples.

    Args:
        x, y: arrays with the samples along the first axis; ``y`` may be None.
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: a new random order at every pass (every ``for`` loop over the loader).
        seed: int or Generator for the order (default: the library's generator).

    Yields ``(xb, yb)``, or ``xb`` alone when there is no ``y``.

    >>> import numpy as np, numpynn as nn
    >>> loader = nn.data.DataLoader(np.arange(10), np.arange(10) * 2, batch_size=4)
    >>> len(loader), [len(xb) for xb, _ in loader]
    (3, [4, 4, 2])
    """

    def __init__(
        self,
        x,
        y=None,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: Seed = None,
    ):
        self.x = np.asarray(x)
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"DataLoader: x holds {len(self.x)} samples but y holds {len(self.y)}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self._rng = None if seed is None else get_rng(seed)

    def __len__(self) -> int:
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.x)
        order = (self._rng or get_rng()).permutation(n) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            end = min(start + self.batch_size, n)
            index = slice(start, end) if order is None else order[start:end]
            xb = self.x[index]
            yield xb if self.y is None else (xb, self.y[index])
