"""Assertions that say which quantity differs and where."""

import numpy as np


def assert_close(actual, expected, rtol, atol, what):
    """Like np.testing.assert_allclose, but the message names the quantity and the worst element."""
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (
        f"{what}: shape {actual.shape} != expected {expected.shape}"
    )
    if actual.size == 0:
        return
    err = np.abs(actual - expected)
    excess = err - (atol + rtol * np.abs(expected))
    at = tuple(int(i) for i in np.unravel_index(np.argmax(excess), actual.shape))
    assert excess[at] <= 0, (
        f"{what}: max abs err {err[at]:.3g} at {list(at)} "
        f"(got {actual[at]:.10g}, expected {expected[at]:.10g}; rtol={rtol}, atol={atol})"
    )


def peak_allocation(call) -> int:
    """The peak of the memory Python and NumPy allocate while ``call()`` runs (bytes)."""
    import tracemalloc  # NumPy reports its array buffers to tracemalloc

    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak
