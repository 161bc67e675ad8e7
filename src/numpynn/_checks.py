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


def numeric_array(data, what: str, labels: bool = False) -> np.ndarray:
    """``data`` as an array of numbers (integers, floats or booleans), else an error naming
    ``what`` and saying what to do: a ragged nested list names the first item whose shape
    differs; text asks for encoding (``labels``: targets, to encode with ``LabelEncoder``).

    >>> numeric_array([[1, 2], [3]], "fit: x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: fit: x: the items differ in shape, [1] has shape (1,) where [0] has (2,); ...
    >>> numeric_array(["cat", "dog"], "fit: y", labels=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: fit: y: expected numbers, got text (dtype <U3); encode the labels as integers: ...
    """
    array = rectangular_array(data, what)
    if array.dtype.kind not in "biuf":
        if labels and array.dtype.kind in "USO":
            fix = (
                "encode the labels as integers: encoder = nn.data.LabelEncoder(); "
                "y = encoder.fit_transform(y) (encoder.inverse_transform gives the names back)"
            )
        elif array.dtype.kind in "USO":
            fix = "convert them to numbers first (nn.data.LabelEncoder for a column of categories)"
        else:
            fix = "pass an array of integers or floats"
        kind = "text" if array.dtype.kind in "US" else "objects" if array.dtype.kind == "O" else ""
        got = f"{kind} (dtype {array.dtype})" if kind else f"dtype {array.dtype}"
        raise TypeError(f"{what}: expected numbers, got {got}; {fix}")
    return array


def rectangular_array(data, what: str) -> np.ndarray:
    """``np.asarray(data)``; a ragged nested list is an error naming ``what`` and the first
    item whose shape differs, in place of NumPy's "inhomogeneous shape"."""
    try:
        return np.asarray(data)
    except ValueError:  # NumPy refuses ragged nested lists
        raise ValueError(
            f"{what}: the items differ in shape, {_first_ragged(data)}; give every sample the "
            "same shape (pad sequences to one length)"
        ) from None


def _first_ragged(data, where: str = "") -> str:
    """Where nested sequences stop being rectangular: ``[1] has shape (1,) where [0] has (2,)``."""
    first = None
    for i, item in enumerate(data):
        try:
            shape = np.shape(item)
        except ValueError:  # this item is ragged itself
            return _first_ragged(item, f"{where}[{i}]")
        if first is None:
            first = shape
        elif shape != first:
            return f"{where}[{i}] has shape {shape} where {where}[0] has {first}"
    return "the nested lists are not rectangular"
