"""Where splitting the batch over threads wins: each layer family at four settings, in turn.

- ``blas``: the code before the split: no split, BLAS at every core;
- ``one``: ``set_num_threads(1)``, no split and BLAS at one thread (the oracle's arithmetic);
- ``split``: ``set_num_threads(cores)`` with the split forced on at every size (the
  thresholds set to 0), BLAS at one thread;
- ``default``: ``set_num_threads(cores)`` with the thresholds as they are.

The four take turns in every repetition; the figures are medians of wall-clock and CPU
time (this process's, all threads), and the paired median of split / blas and split / one.
On a machine shared with other work the wall clock of a split waits for a free core, so
read the load average printed beside the figures.

    python benchmarks/threads.py                    # every workload, 15 repetitions
    python benchmarks/threads.py --only conv2,relu2 --reps 31
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from ab import WORKLOADS as AB_WORKLOADS
from ab import layer_workload

import numpynn as nn
from numpynn import _threads
from numpynn.layers import _windows, activation, linear, pooling, recurrent

THRESHOLDS = [  # (module, name) of every split threshold
    (_windows, "CONV_SPLIT_FROM"),
    (pooling, "POOL_SPLIT_FROM"),
    (activation, "ELEMENTWISE_SPLIT_FROM"),
    (recurrent, "RECURRENT_SPLIT_FROM"),
    (linear, "LINEAR_SPLIT_FROM"),
]


def sequence_workload(make, shape):
    """Forward then backward of a recurrent layer on (N, T, F)."""

    def prepare(lib):
        layer = make(lib)
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        grad = np.random.default_rng(1).standard_normal(layer(x)[0].shape).astype(np.float32)

        def run():
            layer(x)
            layer.backward(grad)

        return layer, run

    return prepare


def sweep(name, make, shape, batches):
    """One workload per batch size: the size from which a split wins."""
    return {f"{name}-b{n}": layer_workload(make, (n, *shape)) for n in batches}


WORKLOADS = {
    **sweep("conv1", lambda m: m.Conv2d(1, 8, 3, padding=1), (1, 28, 28), (8, 32, 128)),
    **sweep("conv2", lambda m: m.Conv2d(8, 16, 3, padding=1), (8, 14, 14), (8, 16, 32, 64, 128)),
    "conv32-b128": AB_WORKLOADS["conv32"],
    **sweep("maxpool1", lambda m: m.MaxPool2d(2), (8, 28, 28), (16, 32, 128)),
    **sweep("maxpool2", lambda m: m.MaxPool2d(2), (16, 14, 14), (16, 32, 64, 128)),
    **sweep("relu", lambda m: m.ReLU(), (16, 14, 14), (16, 32, 64, 128)),
    "relu1-b128": layer_workload(lambda m: m.ReLU(), (128, 8, 28, 28)),
    "relu32-b128": layer_workload(lambda m: m.ReLU(), (128, 32, 28, 28)),
    "maxpool32-b128": layer_workload(lambda m: m.MaxPool2d(2), (128, 32, 28, 28)),
    "batchnorm": AB_WORKLOADS["batchnorm"],
    **sweep("linear", lambda m: m.Linear(784, 128), (784,), (32, 128)),
    "linear-b1024": layer_workload(lambda m: m.Linear(784, 256), (1024, 784)),
    **{
        f"lstm-b{n}": sequence_workload(lambda m: m.LSTM(28, 128, batch_first=True), (n, 28, 28))
        for n in (8, 32, 128)
    },
    "cnn-step": AB_WORKLOADS["cnn-step"],
    "example-cnn-step": AB_WORKLOADS["example-cnn-step"],
}


SETTINGS = ("blas", "one", "split", "default")


def setting(name: str, cores: int):
    """Switch this process to a setting (see the module's docstring)."""
    nn.set_num_threads(1 if name == "one" else cores)
    if name == "blas":  # no split, BLAS at every core: the code before the split
        _threads._threads = 1
        _threads._blas().limit(cores)
    for module, threshold in THRESHOLDS:
        default = getattr(module, "_default_" + threshold, getattr(module, threshold))
        setattr(module, "_default_" + threshold, default)
        setattr(module, threshold, 0 if name == "split" else default)


def measure(name: str, reps: int, cores: int) -> dict:
    _, run = WORKLOADS[name](nn)
    wall = {s: [] for s in SETTINGS}
    cpu = {s: [] for s in wall}
    for s in wall:  # warm-up
        setting(s, cores)
        run()
    for _ in range(reps):
        for s in wall:
            setting(s, cores)
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[s].append(time.perf_counter() - start)
            cpu[s].append(time.process_time() - start_cpu)
    return {"wall": wall, "cpu": cpu}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"{cores} cores; load average {os.getloadavg()[0]:.2f} at the start")
    print(
        f"{'workload':18s} "
        + " ".join(f"{s + ' ms':>11s}" for s in SETTINGS)
        + " | split/blas split/one | cpu ms: "
        + " ".join(f"{s:>11s}" for s in SETTINGS)
    )
    for name in args.only.split(","):
        t = measure(name, args.reps, cores)
        wall = {s: 1e3 * float(np.median(v)) for s, v in t["wall"].items()}
        cpu = {s: 1e3 * float(np.median(v)) for s, v in t["cpu"].items()}
        paired = {
            b: float(np.median(np.divide(t["wall"]["split"], t["wall"][b])))
            for b in ("blas", "one")
        }
        print(
            f"{name:18s} "
            + " ".join(f"{wall[s]:11.3f}" for s in SETTINGS)
            + f" | {paired['blas']:10.2f} {paired['one']:9.2f} | cpu ms: "
            + " ".join(f"{cpu[s]:11.3f}" for s in SETTINGS),
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    setting("one", cores)


if __name__ == "__main__":
    main()
