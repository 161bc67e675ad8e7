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


def at_blas_threads(run, threads: int):
    """``run`` with NumPy's BLAS at ``threads`` threads, its count restored after: the
    NumPy peers (tutorial code, scikit-learn, the matmul peak) keep the machine's BLAS
    threads though numpynn, in the same process, runs BLAS at one thread beside its own
    (``numpynn/_threads.py``)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return run

    def limited():
        with threadpool_limits(threads, user_api="blas"):
            return run()

    return limited


def torch_or_none(threads: int):
    """PyTorch with ``threads`` threads (NumPy's BLAS count), or None where it is not
    installed: the peer is then reported as skipped."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


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


def training_data(samples: int, image_shape: tuple, seed: int = 0):
    """The first ``samples`` images and labels of Fashion-MNIST's training set where it is
    on this machine (never downloaded here; at most 60,000), else synthetic float32 data of
    the same shape; plus the name of the source."""
    import numpy as np

    import numpynn as nn

    try:
        (x, y), _ = nn.data.load_fashion_mnist(download=False)
        x, y = x[:samples].reshape(-1, *image_shape), y[:samples]
        return x, y, f"Fashion-MNIST, {len(x):,} training images"
    except nn.data.DataNotFoundError:
        rng = np.random.default_rng(seed)
        x = rng.random((samples, *image_shape), dtype=np.float32)
        return x, rng.integers(0, 10, samples), f"synthetic, {samples:,} samples"


def median(values: list[float]) -> float:
    return statistics.median(values)


def numpynn_training(model, x, y, batch_size: int, lr: float = 0.01):
    """One epoch of a hand-written numpynn loop (SGD, momentum 0.9) over x, y in order."""
    import numpynn as nn

    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=0.9)

    def run():
        for start in range(0, len(x), batch_size):
            loss_fn(model(x[start : start + batch_size]), y[start : start + batch_size])
            opt.zero_grad()
            model.backward_params(loss_fn.backward())  # the data needs no gradient
            opt.step()

    return run


def torch_training(torch, model, x, y, batch_size: int, lr: float = 0.01):
    """The same epoch in PyTorch."""
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        for start in range(0, len(tx), batch_size):
            loss = loss_fn(model(tx[start : start + batch_size]), ty[start : start + batch_size])
            opt.zero_grad()
            loss.backward()
            opt.step()

    return run
