"""The benchmark suite: every workload, numpynn against each peer that is installed, in one run.

    python benchmarks/run.py                    # all workloads, 5 repetitions
    python benchmarks/run.py --only mlp,import --reps 3 --json results.json

Peers: PyTorch (``torch==2.13.0``, as many threads as NumPy's BLAS), scikit-learn's
``MLPClassifier`` (float32 input, for the MLP workloads), and plain NumPy written the way
tutorials write it (``tutorial.py``). A peer that is not installed is reported as skipped.
Training runs alternate between the libraries within each repetition; the table gives
medians and the ratio numpynn / peer (below 1: numpynn is faster). ``--json`` writes the
same with the machine's description.

Workloads: ``mlp`` (784-256-128-10 ReLU, softmax cross-entropy, SGD momentum 0.9, batch
128), ``mlp-small-batch`` (32), ``mlp-large-batch`` (1024, also GFLOP/s against the float32
matrix-product peak measured in the same run), ``cnn`` (``cnn.py``'s network), ``inference``
(one sample, and 1,000, through the MLP and the CNN), ``import`` (``import numpynn``
against ``import torch`` in a fresh interpreter), and ``memory`` (peak RSS growth while
training the MLP and the CNN). Training runs one epoch of Fashion-MNIST's 60,000 training
images where the data set is on this machine (60,000 synthetic samples otherwise; ``--steps``
shortens it, and times are then scaled to an epoch).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile

import cnn
import mlp
import numpy as np
import tutorial
from common import (
    alternating_times,
    at_blas_threads,
    blas_threads,
    median,
    torch_or_none,
    training_data,
)

import numpynn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("mlp", "mlp-small-batch", "mlp-large-batch", "cnn", "inference", "import", "memory")
MLP_BATCH = {"mlp": 128, "mlp-small-batch": 32, "mlp-large-batch": 1024}
MEMORY_STEPS = 60  # the peak is reached within the first steps


def sklearn_runner(x, y, batch_size):
    """One epoch of scikit-learn's MLPClassifier with the same layers, SGD with momentum 0.9
    (no Nesterov, no L2), in the stored order."""
    from sklearn.neural_network import MLPClassifier

    classes = np.arange(mlp.SIZES[-1])
    model = MLPClassifier(
        hidden_layer_sizes=mlp.SIZES[1:-1], solver="sgd", learning_rate_init=0.01,
        momentum=0.9, nesterovs_momentum=False, alpha=0.0, batch_size=batch_size,
        shuffle=False, random_state=0,
    )  # fmt: skip
    model.partial_fit(x[:batch_size], y[:batch_size], classes=classes)  # builds it

    def run():
        model.partial_fit(x, y)

    return run


def mlp_training(name: str, reps: int, steps: int, threads: int) -> list[dict]:
    batch = MLP_BATCH[name]
    steps = max(4, steps * 128 // batch)
    x, y = mlp.make_data(steps, batch)
    run_np, model_np = mlp.numpynn_runner(x, y, batch)
    tutorial_run = tutorial.mlp_runner(x, y, batch, model_np)
    runners = {"numpynn": run_np, "tutorial NumPy": at_blas_threads(tutorial_run, threads)}
    torch = torch_or_none(threads)
    if torch is not None:
        runners["PyTorch"] = mlp.torch_runner(torch, x, y, batch, model_np)
    try:
        runners["scikit-learn"] = at_blas_threads(sklearn_runner(x, y, batch), threads)
    except ImportError:
        pass
    times = alternating_times(runners, reps)
    per_epoch = 60_000 / len(x)
    rows = [row(name, peer, median(ts) * per_epoch, "s/epoch") for peer, ts in times.items()]
    if name == "mlp-large-batch":
        # forward, weight gradients and input gradients, but no input gradient for the first
        # layer: two multiply-adds (flops) per weight and sample for each product
        weights = [a * b for a, b in zip(mlp.SIZES[:-1], mlp.SIZES[1:])]
        flops = 2 * len(x) * (3 * sum(weights) - weights[0])
        achieved = flops / median(times["numpynn"]) / 1e9
        peak = at_blas_threads(matmul_peak, threads)()
        rows.append(row(name, "numpynn GFLOP/s", achieved, "GFLOP/s"))
        rows.append(row(name, "float32 matmul peak", peak, "GFLOP/s"))
        rows.append(row(name, "fraction of peak", achieved / peak, ""))
    return skipped(rows, name, torch, "scikit-learn" in runners)


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    """GFLOP/s of NumPy's float32 matrix product on n x n matrices, the best of ``reps``."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n), dtype=np.float32), rng.random((n, n), dtype=np.float32)
    times = alternating_times({"matmul": lambda: a @ b}, reps)["matmul"]
    return 2 * n**3 / min(times) / 1e9


def cnn_training(reps: int, steps: int, threads: int) -> list[dict]:
    x, y = cnn.make_data(steps, 128)
    runners = {"numpynn": cnn.numpynn_runner(x, y, 128)}
    torch = torch_or_none(threads)
    if torch is not None:
        runners["PyTorch"] = cnn.torch_runner(x, y, 128)
    times = alternating_times(runners, reps)
    per_epoch = 60_000 / len(x)
    rows = [row("cnn", peer, median(ts) * per_epoch, "s/epoch") for peer, ts in times.items()]
    rows.append(row("cnn", "tutorial NumPy", None, "", "not written: a loop over positions"))
    return skipped(rows, "cnn", torch, None)


def inference(reps: int, threads: int) -> list[dict]:
    torch = torch_or_none(threads)
    rows = []
    for network, make_np, make_torch, shape in (
        ("MLP", mlp.numpynn_model, mlp_torch_model, (784,)),
        ("CNN", cnn.numpynn_model, cnn_torch_model, (1, 28, 28)),
    ):
        model = make_np().eval()
        twin = None if torch is None else make_torch(torch, model)
        for batch in (1, 1000):
            x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
            calls = 200 if batch == 1 else 5
            runners = {"numpynn": repeat(lambda model=model, x=x: model(x), calls)}
            if twin is not None:
                tx = torch.from_numpy(x)

                def torch_call(tx=tx, twin=twin):
                    with torch.no_grad():
                        twin(tx)

                runners["PyTorch"] = repeat(torch_call, calls)
            times = alternating_times(runners, reps)
            name = f"inference {network} batch {batch}"
            rows += [row(name, p, median(ts) / calls * 1e3, "ms") for p, ts in times.items()]
            rows = skipped(rows, name, torch, None)
    return rows


def mlp_torch_model(torch, model):
    return mlp.torch_model(torch, model).eval()


def cnn_torch_model(torch, model):
    return cnn.torch_model(torch, model).eval()


def repeat(call, times: int):
    def run():
        for _ in range(times):
            call()

    return run


def import_time(reps: int) -> list[dict]:
    """Wall time of a fresh ``python -c "import X"``, alternating, minus an empty start.

    Every library is timed with its compiled bytecode cached, as after ``pip install``: the
    interpreters write it to a temporary folder in the warm-up run. (This machine sets
    PYTHONDONTWRITEBYTECODE, under which an editable install recompiles numpynn's modules
    at every start, about 100 ms.)"""
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache

        def start(code):
            return lambda: subprocess.run([sys.executable, "-c", code], check=True, env=env)

        runners = {"python alone": start("pass"), "numpynn": start("import numpynn")}
        runners["NumPy alone"] = start("import numpy")
        if torch_or_none(1) is not None:
            runners["PyTorch"] = start("import torch")
        times = alternating_times(runners, reps)
    base = median(times.pop("python alone"))
    rows = [row("import", p, (median(ts) - base) * 1e3, "ms") for p, ts in times.items()]
    return skipped(rows, "import", "PyTorch" in runners or None, None)


def memory(steps: int, threads: int) -> list[dict]:
    rows = []
    for name, measure in (
        ("memory mlp", lambda lib: mlp_peak_memory(lib, steps, threads)),
        ("memory cnn", lambda lib: cnn.peak_memory(lib, steps, 128, threads)),
    ):
        rows.append(row(name, "numpynn", measure("numpynn"), "MiB"))
        if torch_or_none(threads) is not None:
            rows.append(row(name, "PyTorch", measure("pytorch"), "MiB"))
        rows = skipped(rows, name, torch_or_none(threads), None)
    return rows


def mlp_peak_memory(library: str, steps: int, threads: int) -> float:
    """MiB of peak-RSS growth while ``library`` trains the MLP, in a fresh process."""
    code = (
        f"import sys, json; sys.path.insert(0, {HERE!r}); import cnn, mlp\n"
        f"x, y = mlp.make_data({steps}, 128)\n"
        "run, model = mlp.numpynn_runner(x, y, 128)\n"
        + (
            f"import torch; torch.set_num_threads({threads}); "
            "run = mlp.torch_runner(torch, x, y, 128, model)\n"
            if library == "pytorch"
            else ""
        )
        + "before = cnn.rss('VmRSS')\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "run()\n"
        "print(json.dumps((cnn.rss('VmHWM') - before) / 1024))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def row(workload, peer, value, unit, note=""):
    return {"workload": workload, "peer": peer, "value": value, "unit": unit, "note": note}


def skipped(rows, workload, torch, sklearn):
    """Rows saying which peers were not installed (never a made-up figure)."""
    if torch is None:
        rows.append(row(workload, "PyTorch", None, "", "skipped: pip install torch==2.13.0"))
    if sklearn is False:
        rows.append(row(workload, "scikit-learn", None, "", "skipped: pip install scikit-learn"))
    return rows


def add_ratios(rows: list[dict]) -> None:
    """ratio = numpynn / peer for rows of one workload in the same unit."""
    ours = {r["workload"]: r["value"] for r in rows if r["peer"] == "numpynn"}
    for r in rows:
        mine = ours.get(r["workload"])
        comparable = r["unit"] in ("s/epoch", "ms", "MiB") and r["peer"] != "numpynn"
        r["ratio"] = mine / r["value"] if comparable and mine and r["value"] else None


def machine(threads: int) -> dict:
    """The machine and libraries; ``threads``: NumPy's BLAS threads when the run began
    (numpynn sets BLAS to one thread beside its own during the run)."""
    info = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "numpy": np.__version__,
        "numpynn": nn.__version__,
        "blas_threads": threads,
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: lib.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for lib in threadpool_info()
            if lib["user_api"] == "blas"
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    for package in ("torch", "sklearn"):
        try:
            info[package] = __import__(package).__version__
        except ImportError:
            info[package] = None
    return info


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument(
        "--steps", type=int, default=469, help="training steps at batch 128 (469: one epoch)"
    )
    parser.add_argument("--only", help=f"a comma-separated subset of {', '.join(WORKLOADS)}")
    parser.add_argument("--json", help="also write the results and the machine here")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = set(chosen) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {', '.join(WORKLOADS)}")
    threads = blas_threads()
    source = training_data(1, (784,))[2].split(",")[0]
    print(f"training data: {source}; BLAS threads: {threads}")
    rows = []
    for name in chosen:
        if name in MLP_BATCH:
            rows += mlp_training(name, args.reps, args.steps, threads)
        elif name == "cnn":
            rows += cnn_training(args.reps, args.steps, threads)
        elif name == "inference":
            rows += inference(args.reps, threads)
        elif name == "import":
            rows += import_time(args.reps)
        else:
            rows += memory(MEMORY_STEPS, threads)
    add_ratios(rows)
    print(f"{'workload':30s} {'peer':22s} {'median':>10s} {'unit':8s} {'numpynn/peer':>12s}")
    for r in rows:
        value = "-" if r["value"] is None else f"{r['value']:.4g}"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.2f}"
        cells = f"{r['workload']:30s} {r['peer']:22s} {value:>10s} {r['unit']:8s} {ratio:>12s}"
        print(f"{cells} {r['note']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(threads), "data": source, "results": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
