"""Checks of input arrays shared by layers and losses, with errors that say what to do.

>>> import numpy as np
>>> check_real("Linear(2 -> 3)", np.ones(2, dtype=np.complex64))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: Linear(2 -> 3): expected real numbers, got complex64 (its imaginary part ...
"""

from __future__ import annotations

import numpy as np


def check_real(where: str, x: np.ndarray, what: str = "") -> np.ndarray:
    """``x`` itself if it is not complex; a TypeError naming ``where`` if it is."""
    if x.dtype.kind == "c":
        raise TypeError(
            f"{where}: expected real numbers{what and ' as ' + what}, got {x.dtype} (its "
            "imaginary part would be dropped); pass x.real, np.abs(x), or the real and "
            "imaginary parts as separate features"
        )
    return x
