"""CNN training speed and memory: numpynn against PyTorch on the same machine.

Conv(1->8, 3x3, pad 1)-ReLU-MaxPool2 - Conv(8->16, 3x3, pad 1)-ReLU-MaxPool2 - Flatten -
Linear(784->128)-ReLU-Linear(128->10), softmax cross-entropy, SGD momentum 0.9, batch 128,
the first Fashion-MNIST training images (synthetic ones where the data set is absent; the
same data, weights and batch order for both). Time: each
repetition runs ``--steps`` steps of each library in turn, in one process; the medians are
scaled to one epoch of 60,000 samples. Peak memory: each library trains alone in a fresh
subprocess, and the figure is the growth of its peak RSS over the training (data and
imports excluded).

    python benchmarks/cnn.py                      # 5 repetitions of 60 steps
    python benchmarks/cnn.py --reps 3 --steps 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from common import (
    alternating_times,
    blas_threads,
    median,
    numpynn_training,
    torch_or_none,
    torch_training,
    training_data,
)

import numpynn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def make_data(steps, batch_size, seed=0):
    """``steps`` batches of Fashion-MNIST (synthetic data where it is absent)."""
    x, y, _ = training_data(min(steps * batch_size, 60_000), (1, 28, 28), seed)
    return x, y


def numpynn_model():
    nn.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def numpynn_runner(x, y, batch_size):
    return numpynn_training(numpynn_model(), x, y, batch_size)


def torch_model(torch, weights_from: nn.Module):
    """The same network in PyTorch, with the weights of ``weights_from``."""
    t = torch.nn
    model = t.Sequential(
        t.Conv2d(1, 8, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(8, 16, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
        t.Flatten(), t.Linear(784, 128), t.ReLU(), t.Linear(128, 10),
    )  # fmt: skip
    state = weights_from.state_dict()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return model


def torch_runner(x, y, batch_size):
    import torch

    return torch_training(torch, torch_model(torch, numpynn_model()), x, y, batch_size)


def rss(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def peak_memory(library: str, steps: int, batch_size: int, threads: int) -> float:
    """MiB of peak-RSS growth while ``library`` trains, measured in a fresh process."""
    threads_line = (
        f"import torch; torch.set_num_threads({threads})\n" if library == "pytorch" else ""
    )
    runner = "torch_runner" if library == "pytorch" else "numpynn_runner"
    code = (
        f"import sys, json; sys.path.insert(0, {HERE!r}); import cnn\n"
        f"x, y = cnn.make_data({steps}, {batch_size})\n"
        + threads_line
        + f"run = cnn.{runner}(x, y, {batch_size})\n"
        "before = cnn.rss('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')  # resets the peak (VmHWM) to now\n"
        "run()\n"
        "print(json.dumps((cnn.rss('VmHWM') - before) / 1024))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    threads = blas_threads()
    x, y = make_data(args.steps, args.batch_size)
    runners = {"numpynn": numpynn_runner(x, y, args.batch_size)}
    if torch_or_none(threads) is None:
        print("pytorch: skipped (not installed; pip install torch==2.13.0)")
    else:
        runners["pytorch"] = torch_runner(x, y, args.batch_size)
    times = alternating_times(runners, args.reps)
    per_epoch = 60_000 / (args.steps * args.batch_size)
    print(
        f"CNN, batch {args.batch_size}, {args.steps} steps x {args.reps} reps, {threads} threads, "
        f"numpy {np.__version__}"
    )
    medians = {name: median(ts) * per_epoch for name, ts in times.items()}
    memory = {name: peak_memory(name, args.steps, args.batch_size, threads) for name in runners}
    for name in runners:
        print(f"  {name:8s} {medians[name]:7.2f} s/epoch   peak memory +{memory[name]:.0f} MiB")
    if "pytorch" in medians:
        print(f"  ratio numpynn / pytorch: time {medians['numpynn'] / medians['pytorch']:.2f}, "
              f"memory {memory['numpynn'] / max(memory['pytorch'], 1e-9):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
