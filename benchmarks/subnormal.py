"""The subnormal trap: optimizer state that decays into the subnormal range, with and without
numpynn's flush (``Optimizer.flush_every``), epoch by epoch, in one run.

    python benchmarks/subnormal.py                 # SGD momentum and Adam, 4 epochs each
    python benchmarks/subnormal.py --epochs 6 --optimizers sgd

First the CPU itself: the time of float32 arithmetic on arrays whose entries are all
subnormal, against normal entries. Then the MLP of ``mlp.py`` trained on Fashion-MNIST (or
synthetic data when it is absent) twice from the same weights, flush on and off, the two
runs taking turns epoch by epoch: seconds per epoch spent in ``optimizer.step()``, and how
many state entries are subnormal at the end of each epoch. The weights of the two runs are
compared at the end: the flush must not change them.
"""

from __future__ import annotations

import argparse
import time

import mlp
import numpy as np
from common import blas_threads, training_data

import numpynn as nn

TINY = np.finfo(np.float32).tiny


def arithmetic(size: int = 235_146, reps: int = 200) -> None:
    """Microseconds per operation on ``size`` float32 entries, normal against subnormal."""
    print(f"float32 arithmetic on {size:,} entries (us per call; subnormal / normal)")
    for name, op in (
        ("multiply", lambda a, out: np.multiply(a, np.float32(0.9), out=out)),
        ("add", lambda a, out: np.add(a, a, out=out)),
        ("sqrt", lambda a, out: np.sqrt(a, out=out)),
        ("divide", lambda a, out: np.divide(np.float32(1e-3), a, out=out)),
    ):
        times = {}
        for kind, value in (("normal", 1e-3), ("subnormal", 1e-40)):
            a, out = np.full(size, value, np.float32), np.empty(size, np.float32)
            op(a, out)
            start = time.perf_counter()
            for _ in range(reps):
                op(a, out)
            times[kind] = (time.perf_counter() - start) / reps * 1e6
        ratio = times["subnormal"] / times["normal"]
        print(f"  {name:9s} {times['normal']:8.1f} {times['subnormal']:8.1f}   {ratio:.2f}")


def optimizer(name: str, params, flush_every: int):
    opt = (
        nn.optim.SGD(params, lr=0.01, momentum=0.9)
        if name == "sgd"
        else nn.optim.Adam(params, lr=1e-3)
    )
    opt.flush_every = flush_every
    return opt


def subnormal_entries(opt) -> int:
    arrays = [v for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray)]
    return sum(int(((a != 0) & (np.abs(a) < TINY)).sum()) for a in arrays)


def training(name: str, epochs: int, batch_size: int = 128) -> None:
    x, y, source = training_data(60_000, (784,))
    print(f"\n{name}: MLP 784-256-128-10 on {source}, batch {batch_size}")
    print("epoch   step() s/epoch (flush off, on)   subnormal entries (off, on)")
    runs = {}
    for flush_every in (0, nn.optim.Optimizer.flush_every):
        model = mlp.numpynn_model()  # the same seed: the same initial weights
        runs[flush_every] = (model, optimizer(name, model.parameters(), flush_every))
    loss_fn = nn.CrossEntropyLoss()
    order = np.random.default_rng(0).permutation(len(x))
    for epoch in range(1, epochs + 1):
        step_time, counts = {}, {}
        for flush_every, (model, opt) in runs.items():
            spent = 0.0
            for start in range(0, len(x), batch_size):
                batch = order[start : start + batch_size]
                loss_fn(model(x[batch]), y[batch])
                opt.zero_grad()
                model.backward_params(loss_fn.backward())
                begin = time.perf_counter()
                opt.step()
                spent += time.perf_counter() - begin
            step_time[flush_every], counts[flush_every] = spent, subnormal_entries(opt)
        off, on = sorted(step_time)  # 0 first
        print(
            f"{epoch:5d}   {step_time[off]:10.3f} {step_time[on]:10.3f}"
            f"              {counts[off]:10,d} {counts[on]:10,d}"
        )
    (kept, _), (flushed, _) = runs.values()
    same = all(
        np.array_equal(a, b)
        for a, b in zip(kept.state_dict().values(), flushed.state_dict().values())
    )
    print(f"weights identical with and without the flush: {same}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--optimizers", default="sgd,adam")
    args = parser.parse_args(argv)
    print(f"BLAS threads: {blas_threads()}")
    arithmetic()
    for name in args.optimizers.split(","):
        training(name, args.epochs)


if __name__ == "__main__":
    main()
