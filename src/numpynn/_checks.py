"""Checks of input arrays shared by layers and losses, with errors that say what to do.

>>> import numpy as np, numpynn as nn
>>> check_real(np.ones(2, dtype=np.complex64), nn.Linear(2, 3))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: Linear(2 -> 3): expected real numbers, got complex64 (its imaginary part ...
"""

from __future__ import annotations

import numpy as np


def check_real(x: np.ndarray, where, what: str = "") -> np.ndarray:
    """``x`` itself if it is not complex, else a TypeError naming ``where`` (a string, or a
    layer or loss whose ``describe()`` is called only then: the check costs one comparison)."""
    if x.dtype.kind == "c":
        name = where.describe() if hasattr(where, "describe") else where
        raise TypeError(
            f"{name}: expected real numbers{what and ' as ' + what}, got {x.dtype} (its "
            "imaginary part would be dropped); pass x.real, np.abs(x), or the real and "
            "imaginary parts as separate features"
        )
    return x
