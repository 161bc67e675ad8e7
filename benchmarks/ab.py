"""A/B of two versions of numpynn in one process: the working tree against a git revision.

The revision's ``src/numpynn`` is exported to a temporary folder as a package named
``numpynn_<rev>`` (its imports renamed), so both versions load side by side; every workload
then runs on both with the same weights and data, the two taking turns in each repetition.
The figure to read is the ratio new / old (below 1: the working tree is faster).

    python benchmarks/ab.py --rev e89ba51                  # every workload
    python benchmarks/ab.py --rev HEAD --only conv2,cnn-step --reps 9

Workloads: single layers forward and backward at the shapes of ``cnn.py``'s network and of
``examples/cnn.py``'s, whole training steps of both networks (batch 128), and one-sample
inference of ``cnn.py``'s network.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

import numpynn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def load_revision(rev: str):
    """numpynn as it is at ``rev``, imported under another name."""
    name = "numpynn_" + rev.replace("~", "_").replace("^", "_")
    archive = subprocess.run(
        ["git", "-C", os.path.dirname(HERE), "archive", rev, "src/numpynn"],
        capture_output=True,
        check=True,
    ).stdout
    folder = tempfile.mkdtemp(prefix="numpynn-ab-")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    package = os.path.join(folder, "src", "numpynn")
    for root, _, files in os.walk(package):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(root, file)
                with open(path) as f:
                    text = f.read().replace("numpynn", name)
                with open(path, "w") as f:
                    f.write(text)
    os.rename(package, os.path.join(folder, "src", name))
    sys.path.insert(0, os.path.join(folder, "src"))
    return importlib.import_module(name)


def same_weights(new_model, old_model):
    old_model.load_state_dict({k: v.copy() for k, v in new_model.state_dict().items()})


def layer_workload(make, shape, backward="full"):
    """Forward then backward of one layer (``backward_params`` for a first layer)."""

    def prepare(lib):
        layer = make(lib)
        x = np.random.default_rng(0).random(shape, dtype=np.float32)
        grad = np.random.default_rng(1).standard_normal(layer(x).shape).astype(np.float32)

        def run():
            layer(x)
            if backward == "params":
                layer.backward_params(grad)
            else:
                layer.backward(grad)

        return layer, run

    return prepare


def training_workload(build, shape, optimizer="sgd", batch=128):
    def prepare(lib):
        lib.manual_seed(0)
        model = build(lib)
        x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
        y = np.random.default_rng(1).integers(0, 10, batch)
        loss_fn = lib.CrossEntropyLoss()
        params = model.parameters()
        opt = (
            lib.optim.SGD(params, lr=0.01, momentum=0.9)
            if optimizer == "sgd"
            else lib.optim.Adam(params, lr=1e-3)
        )

        def run():
            loss_fn(model(x), y)
            opt.zero_grad()
            model.backward_params(loss_fn.backward())
            opt.step()

        return model, run

    return prepare


def inference_workload(build, shape):
    def prepare(lib):
        lib.manual_seed(0)
        model = build(lib).eval()
        x = np.random.default_rng(0).random((1, *shape), dtype=np.float32)

        def run():
            for _ in range(20):
                model(x)

        return model, run

    return prepare


def bench_cnn(lib):
    return lib.Sequential(
        lib.Conv2d(1, 8, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(8, 16, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(784, 128), lib.ReLU(), lib.Linear(128, 10),
    )  # fmt: skip


def example_cnn(lib):
    return lib.Sequential(
        lib.Conv2d(1, 32, 3, padding=1), lib.BatchNorm2d(32), lib.ReLU(), lib.MaxPool2d(2),
        lib.Conv2d(32, 64, 3, padding=1), lib.BatchNorm2d(64), lib.ReLU(), lib.MaxPool2d(2),
        lib.Flatten(), lib.Linear(64 * 7 * 7, 128), lib.ReLU(), lib.Linear(128, 10),
    )  # fmt: skip


def bench_mlp(lib):
    return lib.Sequential(
        lib.Flatten(), lib.Linear(784, 256), lib.ReLU(), lib.Linear(256, 128), lib.ReLU(),
        lib.Linear(128, 10),
    )  # fmt: skip


WORKLOADS = {
    "conv1": layer_workload(lambda m: m.Conv2d(1, 8, 3, padding=1), (128, 1, 28, 28), "params"),
    "conv2": layer_workload(lambda m: m.Conv2d(8, 16, 3, padding=1), (128, 8, 14, 14)),
    "conv32": layer_workload(lambda m: m.Conv2d(32, 64, 3, padding=1), (128, 32, 14, 14)),
    "conv-s2-groups": layer_workload(
        lambda m: m.Conv2d(16, 16, 3, stride=2, padding="same", groups=4), (64, 16, 14, 14)
    ),
    "maxpool1": layer_workload(lambda m: m.MaxPool2d(2), (128, 8, 28, 28)),
    "maxpool2": layer_workload(lambda m: m.MaxPool2d(2), (128, 16, 14, 14)),
    "maxpool-3s2": layer_workload(lambda m: m.MaxPool2d(3, 2, 1), (128, 16, 14, 14)),
    "avgpool": layer_workload(lambda m: m.AvgPool2d(2), (128, 16, 14, 14)),
    "batchnorm": layer_workload(lambda m: m.BatchNorm2d(32), (128, 32, 28, 28)),
    "cnn-step": training_workload(bench_cnn, (1, 28, 28)),
    "example-cnn-step": training_workload(example_cnn, (1, 28, 28), "adam"),
    "cnn-1-sample-x20": inference_workload(bench_cnn, (1, 28, 28)),
    "mlp-step": training_workload(bench_mlp, (1, 28, 28)),
    "mlp-step-b32": training_workload(bench_mlp, (1, 28, 28), batch=32),
    "mlp-step-b1024": training_workload(bench_mlp, (1, 28, 28), batch=1024),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="HEAD", help="the git revision to compare with")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: this process's CPU time, which a busy machine disturbs far less than the "
        "wall clock (use it with OPENBLAS_NUM_THREADS=1, where it measures the work done)",
    )
    args = parser.parse_args(argv)
    old = load_revision(args.rev)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"new: {os.path.dirname(nn.__file__)}; old: {args.rev}; {args.clock} clock")
    print(
        f"{'workload':20s} {'new ms':>8s} {'old ms':>8s} {'new/old':>8s} {'paired':>8s}"
        "  (medians; paired: the median of each repetition's own ratio)"
    )
    for name in args.only.split(","):
        new_layer, new_run = WORKLOADS[name](nn)
        old_layer, old_run = WORKLOADS[name](old)
        same_weights(new_layer, old_layer)
        times = {"new": [], "old": []}
        new_run(), old_run()  # warm-up
        for _ in range(args.reps):
            for label, run in (("new", new_run), ("old", old_run)):
                start = clock()
                run()
                times[label].append(clock() - start)
        new, old_ms = (1e3 * float(np.median(times[k])) for k in ("new", "old"))
        paired = float(np.median(np.divide(times["new"], times["old"])))
        print(f"{name:20s} {new:8.2f} {old_ms:8.2f} {new / old_ms:8.2f} {paired:8.2f}", flush=True)


if __name__ == "__main__":
    main()
