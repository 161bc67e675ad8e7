"""Library-wide settings: the default floating dtype and the library's random generator.

Every random thing in numpynn draws from a ``numpy.random.Generator``: either one passed
to it (``seed=`` an int or a Generator) or the library's own, which ``manual_seed`` resets.
NumPy's global ``np.random`` state is never touched, so other code cannot disturb a run.
"""

from __future__ import annotations

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
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
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
        return _generator
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed: expected an int, a numpy.random.Generator or None, got {seed!r}")
