"""Library-wide settings: the default floating dtype and the library's random generator.

Every random thing in numpynn draws from a ``numpy.random.Generator``: either one passed
to it (``seed=`` an int or a Generator) or the library's own, which ``manual_seed`` resets.
NumPy's global ``np.random`` state is never touched, so other code cannot disturb a run.
"""

from __future__ import annotations

import contextlib
import functools
import os
from typing import TypeAlias

import numpy as np

_default_dtype: np.dtype = np.dtype(np.float32)
# Made on first use: numpy.random is a lazy submodule of NumPy, 15 ms to import.
_generator: np.random.Generator | None = None

Seed: TypeAlias = "int | np.random.Generator | None"


def set_default_dtype(dtype) -> None:
    """Set the dtype of new parameters (float32 unless changed; gradcheck uses float64).

    >>> import numpy as np, numpynn as nn
    >>> nn.set_default_dtype(np.float64); nn.get_default_dtype()
    dtype('float64')
    >>> nn.set_default_dtype(np.float32)
    """
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(
            f"set_default_dtype: expected a floating dtype, float32 or float64, got {dtype}; "
            "layers and optimizers compute in these two (float16 loses small gradients)"
        )
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype new parameters are created with."""
    return _default_dtype


def manual_seed(seed: int) -> None:
    """Reset the library's generator: the same seed gives the same run, bit for bit."""
    global _generator
    _generator = np.random.default_rng(seed)


def get_rng(seed: Seed = None) -> np.random.Generator:
    """The generator to draw from: ``seed`` itself if it is a Generator, a new one if it
    is an int, the library's own if it is None."""
    global _generator
    if seed is None:
        if _generator is None:
            _generator = np.random.default_rng()
        rng = _generator
    elif isinstance(seed, np.random.Generator):
        rng = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        rng = np.random.default_rng(int(seed))
    else:
        raise TypeError(f"seed: expected an int, a numpy.random.Generator or None, got {seed!r}")
    limited = _draw_budget is not None and _limited_generator_class()
    if limited and not isinstance(rng, limited):
        return limited(rng.bit_generator)  # the same stream, counted
    return rng


# --- a limit on random draws while a model file is rebuilt ------------------------------------
#
# Layers draw their initial weights from get_rng before a loaded file overwrites them. A file
# whose architecture claims more parameters than it stores (Linear(20000, 20000) in 424
# bytes) must be refused before those draws allocate gigabytes: io.load_model builds under
# draw_limit(number of stored weights), and every draw counts against it first.

_draw_budget: list[int] | None = None


class DrawLimitError(MemoryError):
    """More random numbers asked for than ``draw_limit`` allows."""


@contextlib.contextmanager
def draw_limit(count: int):
    """Within the block, random draws from ``get_rng`` may make at most ``count`` numbers in
    all; a draw that would exceed it raises ``DrawLimitError`` before allocating."""
    global _draw_budget
    saved, _draw_budget = _draw_budget, [int(count)]
    try:
        yield
    finally:
        _draw_budget = saved


@functools.cache
def _limited_generator_class() -> type:
    """Made on first use: subclassing ``np.random.Generator`` imports ``numpy.random``,
    which ``import numpynn`` otherwise leaves for later (about 8 ms)."""

    class _LimitedGenerator(np.random.Generator):
        """A Generator on the same bit stream whose draws are charged to ``_draw_budget``."""

        def _charge(self, size) -> None:
            count = 1 if size is None else int(np.prod(size, dtype=object))
            if _draw_budget is not None:
                if count > _draw_budget[0]:
                    left = _draw_budget[0]
                    raise DrawLimitError(f"{count} random numbers asked for, {left} left")
                _draw_budget[0] -= count

        def random(self, size=None, *args, **kwargs):
            self._charge(size)
            return super().random(size, *args, **kwargs)

        def standard_normal(self, size=None, *args, **kwargs):
            self._charge(size)
            return super().standard_normal(size, *args, **kwargs)

        def uniform(self, low=0.0, high=1.0, size=None):
            self._charge(size)
            return super().uniform(low, high, size)

        def normal(self, loc=0.0, scale=1.0, size=None):
            self._charge(size)
            return super().normal(loc, scale, size)

        def integers(self, low, high=None, size=None, *args, **kwargs):
            self._charge(size)
            return super().integers(low, high, size, *args, **kwargs)

    return _LimitedGenerator


# The number of ranks as the launchers announce it: MPICH/Intel MPI (and srun's PMI-2),
# Open MPI, MVAPICH, and a Slurm job step (srun)
SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS")


def launched_size() -> int:
    """How many ranks the launcher (mpiexec, srun) started, from its environment; 1 if none."""
    sizes = [os.environ.get(name, "") for name in SIZE_VARIABLES]
    return max([int(s) for s in sizes if s.isdigit()] or [1])


def wants_data_parallel(distributed: bool | None, optimizer=None) -> bool:
    """Whether ``fit`` should train data-parallel: ``distributed=True``, an optimizer made
    by ``DistributedOptimizer``, or (``distributed=None``) a launch with several ranks,
    unless the environment says ``NUMPYNN_DISTRIBUTED=0`` (independent runs side by side).

    Decided here, below the training code, so that ``numpynn.distributed`` (and mpi4py) is
    imported only by a run that trains data-parallel.
    """
    if distributed is None:
        if os.environ.get("NUMPYNN_DISTRIBUTED") == "0":
            return False
        return getattr(optimizer, "averages_gradients", False) or launched_size() > 1
    return bool(distributed)
