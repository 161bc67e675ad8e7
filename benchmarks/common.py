"""What the benchmark scripts share: the BLAS thread count and alternating timing."""

from __future__ import annotations

import os
import statistics
import time


def blas_threads() -> int:
    """The threads NumPy's BLAS uses (PyTorch is given as many)."""
    try:
        from threadpoolctl import threadpool_info

        return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
    except ImportError:
        return int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1))


def alternating_times(runners: dict, reps: int) -> dict[str, list[float]]:
    """Seconds of each runner per repetition, after one warm-up run each; the runners take
    turns within every repetition, so that all of them see the same machine state."""
    for run in runners.values():
        run()  # warm-up: allocations, BLAS thread start
    times = {name: [] for name in runners}
    for _ in range(reps):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)
