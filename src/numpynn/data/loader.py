"""DataLoader: mini-batches of arrays, shuffled anew each epoch, optionally one rank's shard."""

from __future__ import annotations

from collections.abc import Iterator

from numpynn._checks import rectangular_array
from numpynn._config import Seed, get_rng


class DataLoader:
    """Iterate over ``x`` (and ``y``) in batches of ``batch_size`` samples.

    Args:
        x, y: arrays with the samples along the first axis; ``y`` may be None.
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: a new random order at every pass (every ``for`` loop over the loader).
        seed: int or Generator for the order (default: the library's generator).
        shard: ``(rank, size)`` for data-parallel training (``numpynn.distributed``): each
            step takes one *global* batch of ``batch_size * size`` samples of the epoch's
            order and this loader yields piece ``rank`` of it, so the ``size`` loaders
            together visit every sample once per epoch, and step k of all ranks together is
            batch k of ``DataLoader(x, y, batch_size * size, shuffle, seed=seed)``. The
            last global batch is split as evenly as possible (shards differ by at most one
            sample); if it holds fewer samples than there are ranks, it is left out (a rank
            would have nothing to compute). With ``shuffle``, every rank must draw the same
            order, so ``seed`` is required: the same int on every rank.

    Yields ``(xb, yb)``, or ``xb`` alone when there is no ``y``. ``last_batch_size`` is the
    number of samples in the batch yielded last.

    >>> import numpy as np, numpynn as nn
    >>> loader = nn.data.DataLoader(np.arange(10), np.arange(10) * 2, batch_size=4)
    >>> len(loader), [len(xb) for xb, _ in loader]
    (3, [4, 4, 2])
    >>> shard = nn.data.DataLoader(np.arange(10), batch_size=2, shard=(1, 2))  # rank 1 of 2
    >>> [xb.tolist() for xb in shard]
    [[2, 3], [6, 7], [9]]
    """

    def __init__(
        self,
        x,
        y=None,
        batch_size: int = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: Seed = None,
        shard: tuple[int, int] | None = None,
    ):
        self.x = rectangular_array(x, "DataLoader: x")
        self.y = None if y is None else rectangular_array(y, "DataLoader: y")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"DataLoader: x holds {len(self.x)} samples but y holds {len(self.y)}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rank, self.size = _check_shard(shard, shuffle, seed)
        self.rng = None if seed is None else get_rng(seed)  # None: the library's generator
        self.last_batch_size = 0

    def sharded(self, rank: int, size: int, seed: int) -> DataLoader:
        """The same data, batch size, shuffling and ``drop_last``, as piece ``rank`` of
        ``size`` (see ``shard``); ``seed`` must be the same int on every rank (draw it from
        ``self.rng``: ``numpynn.distributed.shared_seed(loader.rng)``)."""
        return DataLoader(
            self.x, self.y, self.batch_size, self.shuffle, self.drop_last, seed, (rank, size)
        )

    def __len__(self) -> int:
        step = self.batch_size * self.size
        if self.drop_last:
            return len(self.x) // step
        full, rest = divmod(len(self.x), step)
        return full + (rest >= self.size)  # a rest smaller than the ranks is left out

    def __iter__(self) -> Iterator:
        n, step = len(self.x), self.batch_size * self.size
        order = (self.rng or get_rng()).permutation(n) if self.shuffle else None
        for start in range(0, len(self) * step, step):
            piece = shard_piece(min(start + step, n) - start, self.rank, self.size, start)
            index = piece if order is None else order[piece]
            xb = self.x[index]
            self.last_batch_size = len(xb)
            yield xb if self.y is None else (xb, self.y[index])


def shard_piece(n: int, rank: int, size: int, start: int = 0) -> slice:
    """Piece ``rank`` of ``size`` of the ``n`` items from ``start``: contiguous, in rank
    order, their sizes differing by at most one (the first ``n % size`` pieces are larger).

    >>> [shard_piece(5, rank, 2) for rank in range(2)]
    [slice(0, 3, None), slice(3, 5, None)]
    """
    share, extra = divmod(n, size)
    first = start + rank * share + min(rank, extra)
    return slice(first, first + share + (rank < extra))


def _check_shard(shard, shuffle: bool, seed) -> tuple[int, int]:
    if shard is None:
        return 0, 1
    try:
        rank, size = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise TypeError(f"DataLoader: shard must be a pair (rank, size), got {shard!r}") from None
    if size < 1 or not 0 <= rank < size:
        raise ValueError(f"DataLoader: shard=(rank, size) needs 0 <= rank < size, got {shard}")
    if shuffle and size > 1 and seed is None:
        raise ValueError(
            "DataLoader: shuffle with shard=(rank, size) needs seed=, the same int on every "
            "rank, so that all ranks draw the same order (numpynn.distributed.shared_seed() "
            "gives one)"
        )
    return rank, size
