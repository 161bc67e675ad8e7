"""MLP training speed: numpynn against PyTorch on the same machine, in one run.

784-256-128-10 ReLU network, softmax cross-entropy, SGD with momentum 0.9, batch 128, on
the first Fashion-MNIST training images (synthetic data where the data set is absent; the
same data and batch order for both). ``fit`` is the same numpynn
training through ``model.fit`` instead of a hand-written loop. Each repetition times
``--steps`` training steps of each library in turn (alternating, so that both see the same
machine state); the figures are medians, scaled to seconds per epoch of 60,000 samples.

    python benchmarks/mlp.py                 # default: 5 repetitions of 100 steps
    python benchmarks/mlp.py --reps 3 --steps 50 --batch-size 32
"""

from __future__ import annotations

import argparse

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

SIZES = (784, 256, 128, 10)


def make_data(steps, batch_size, seed=0):
    """``steps`` batches of Fashion-MNIST (synthetic data where it is absent)."""
    x, y, _ = training_data(min(steps * batch_size, 60_000), (SIZES[0],), seed)
    return x, y


def numpynn_model() -> nn.Sequential:
    nn.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def torch_model(torch, weights_from: nn.Module):
    """The same network in PyTorch, with the weights of ``weights_from``."""
    layers = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights_from.state_dict().items()})
    return model


def numpynn_runner(x, y, batch_size):
    model = numpynn_model()
    return numpynn_training(model, x, y, batch_size), model


def fit_runner(x, y, batch_size, model_np):
    """The same training through the Keras front door: ``model.fit`` (no progress bar)."""
    model = numpynn_model()
    model.load_state_dict(model_np.state_dict())
    opt = nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.compile(optimizer=opt, loss=nn.CrossEntropyLoss())

    def run():
        model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)

    return run


def torch_runner(torch, x, y, batch_size, model_np):
    return torch_training(torch, torch_model(torch, model_np), x, y, batch_size)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)

    x, y = make_data(args.steps, args.batch_size)
    run_np, model_np = numpynn_runner(x, y, args.batch_size)
    runners = {"numpynn": run_np, "fit": fit_runner(x, y, args.batch_size, model_np)}
    threads = blas_threads()
    torch = torch_or_none(threads)
    if torch is None:
        print("pytorch: skipped (not installed; pip install torch==2.13.0)")
    else:
        runners["pytorch"] = torch_runner(torch, x, y, args.batch_size, model_np)

    times = alternating_times(runners, args.reps)

    per_epoch = 60_000 / (args.steps * args.batch_size)
    print(
        f"MLP {'-'.join(map(str, SIZES))}, batch {args.batch_size}, {args.steps} steps x "
        f"{args.reps} reps, {threads} threads, numpy {np.__version__}"
    )
    medians = {}
    for name, ts in times.items():
        medians[name] = median(ts) * per_epoch
        print(f"  {name:8s} {medians[name]:7.3f} s/epoch  (min {min(ts) * per_epoch:.3f})")
    print(f"  ratio fit / numpynn loop: {medians['fit'] / medians['numpynn']:.2f}")
    if "pytorch" in medians:
        print(f"  ratio numpynn / pytorch: {medians['numpynn'] / medians['pytorch']:.2f}")


if __name__ == "__main__":
    main()
