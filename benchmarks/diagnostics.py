"""The cost of ``nn.callbacks.Diagnostics``: ``fit`` with and without it, A/B in one process.

The networks are those of ``mlp.py`` (784-256-128-10 ReLU) and ``cnn.py`` (two conv-ReLU-pool
blocks, then 784-128-10), SGD with momentum 0.9, batch 128, on the first Fashion-MNIST
training images (synthetic ones where the data set is absent). Each repetition runs one
``fit`` epoch of ``--steps`` batches without the callback, then one with it (default: 4
sampled batches per epoch), on the *same* model: two copies of one network, trained alike,
differ by up to 8% in speed on this machine (where their arrays lie in memory), which an A/A
run of two copies shows and one model does not (within 1%). The figure is the ratio of the
medians, minus one: the overhead per epoch. On a busy machine that ratio is noisy by a few
percent either way, so the time spent inside the callback's hooks is measured too (a
subclass adds up the time of each call) and reported as a share of the epoch: the figure
that does not depend on the load. (What it leaves out: the containers' one test per layer and
forward of whether to keep the output, and holding the outputs of the sampled steps.)

An epoch here is ``--steps`` batches; a Fashion-MNIST epoch has 469, so with the same
sampled batches per epoch its overhead is smaller still (the per-step cost of the callback,
two calls that return at once, is the only part that grows with the epoch).

    python benchmarks/diagnostics.py                  # 7 repetitions, 100 / 40 steps
    python benchmarks/diagnostics.py --reps 5 --mlp-steps 200 --cnn-steps 60
"""

from __future__ import annotations

import argparse
import time

from cnn import make_data as cnn_data
from cnn import numpynn_model as cnn_model
from common import alternating_times, blas_threads, median
from mlp import make_data as mlp_data
from mlp import numpynn_model as mlp_model

import numpynn as nn


class TimedDiagnostics(nn.callbacks.Diagnostics):
    """Diagnostics that add up the seconds spent in their hooks."""

    seconds = 0.0

    def _timed(hook):
        def timed(self, *args):
            start = time.perf_counter()
            hook(self, *args)
            self.seconds += time.perf_counter() - start

        return timed

    on_train_begin = _timed(nn.callbacks.Diagnostics.on_train_begin)
    on_epoch_begin = _timed(nn.callbacks.Diagnostics.on_epoch_begin)
    on_epoch_end = _timed(nn.callbacks.Diagnostics.on_epoch_end)
    on_train_batch_begin = _timed(nn.callbacks.Diagnostics.on_train_batch_begin)
    on_train_batch_end = _timed(nn.callbacks.Diagnostics.on_train_batch_end)
    on_train_end = _timed(nn.callbacks.Diagnostics.on_train_end)


def fit_runners(build, x, y, callback) -> dict:
    """Two runners over one model: one epoch of ``fit`` over ``x``, ``y`` (batch 128, no
    shuffling) per call, without and with ``callback``."""
    model = build()
    model.compile(
        optimizer=nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9),
        loss=nn.CrossEntropyLoss(),
    )

    def runner(callbacks):
        def run():
            model.fit(x, y, batch_size=128, epochs=1, shuffle=False, verbose=0, callbacks=callbacks)

        return run

    return {"without": runner([]), "with": runner([callback])}


def overhead(name, build, data, steps, reps, batches) -> float:
    x, y = data(steps, 128)
    callback = TimedDiagnostics(batches=batches)
    times = alternating_times(fit_runners(build, x, y, callback), reps)
    without, with_ = median(times["without"]), median(times["with"])
    extra = with_ / without - 1
    inside = callback.seconds / (reps + 1)  # the warm-up run counts too
    print(
        f"{name}: {steps} steps per epoch, {batches} sampled: without {without:.3f} s, "
        f"with {with_:.3f} s per epoch -> {extra:+.1%}; inside the callback "
        f"{inside * 1000:.1f} ms per epoch = {inside / without:.2%} of it"
    )
    return extra


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--mlp-steps", type=int, default=100)
    parser.add_argument("--cnn-steps", type=int, default=40)
    parser.add_argument("--batches", type=int, default=4, help="sampled batches per epoch")
    args = parser.parse_args(argv)
    print(f"BLAS threads: {blas_threads()}; {args.reps} repetitions, medians")
    overhead("MLP", mlp_model, mlp_data, args.mlp_steps, args.reps, args.batches)
    overhead("CNN", cnn_model, cnn_data, args.cnn_steps, args.reps, args.batches)


if __name__ == "__main__":
    main()
