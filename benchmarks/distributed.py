"""Data-parallel scaling on this machine: ranks (one BLAS thread each) against threads.

For the MLP (784-256-128-10, ``mlp.py``'s) and the small CNN (``cnn.py``'s), SGD with
momentum 0.9, at a batch per rank of 32, 128 and 1024, one epoch of Fashion-MNIST's
training images (synthetic data where the set is absent) in three set-ups:

- ``1 rank``: one process, one BLAS thread, batch b;
- ``2 ranks``: ``mpiexec -n 2``, one thread each, b per rank (a global batch of 2b), the
  gradients averaged by ``numpynn.distributed`` (one Allreduce per step);
- ``2 threads``: one process, two BLAS threads, batch 2b: the same global batch, so the
  same number of steps and the same updates as the two ranks.

Each set-up is a fresh process; ``--rounds`` runs all set-ups in turn that many times and
reports medians (so that every set-up sees the same machine state as far as possible).
For the two ranks it also reports the time each step spends averaging the gradients
(packing, Allreduce and the wait for the slower rank) and its share of the step, and the
time of the bare Allreduce of the same buffer (median of 200, after a barrier), which
``benchmarks/README.md`` uses for its cost model.

    python benchmarks/distributed.py                         # everything, about 6 minutes
    python benchmarks/distributed.py --models mlp --batches 128 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import sysconfig
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = {"mlp": 60_000, "cnn": 12_000}  # the CNN's epoch is a fifth of the data set
SHAPES = {"mlp": (784,), "cnn": (1, 28, 28)}


def worker(model_name: str, batch: int, samples: int) -> None:
    """One epoch on this rank's shard (after 10 warm-up steps); rank 0 prints JSON."""
    from cnn import numpynn_model as cnn_model
    from common import training_data
    from mlp import numpynn_model as mlp_model

    import numpynn as nn
    from numpynn import distributed

    ctx = distributed.init()
    x, y, source = training_data(samples, SHAPES[model_name])
    model = {"mlp": mlp_model, "cnn": cnn_model}[model_name]()
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt = distributed.DistributedOptimizer(opt)
    distributed.broadcast_parameters(model, opt)
    averaging = []
    if ctx.distributed:
        average = opt.average_gradients

        def timed():  # the benchmark's own stopwatch around the one Allreduce of a step
            start = time.perf_counter()
            average()
            averaging.append(time.perf_counter() - start)

        opt.average_gradients = timed
    loader = nn.data.DataLoader(x, y, batch, shuffle=True, seed=0, shard=(ctx.rank, ctx.size))

    def step(xb, yb):
        loss_fn(model(xb), yb)
        opt.zero_grad()
        model.backward_params(loss_fn.backward())
        opt.samples = len(xb)
        opt.step()

    for k, (xb, yb) in enumerate(loader):
        step(xb, yb)
        if k == 9:
            break
    averaging.clear()
    if ctx.distributed:
        ctx.comm.Barrier()
    start, steps = time.perf_counter(), []
    for xb, yb in loader:
        begin = time.perf_counter()
        step(xb, yb)
        steps.append(time.perf_counter() - begin)
    seconds = time.perf_counter() - start
    # the fastest 10 consecutive steps: the step's cost with the least interference from
    # other work on the machine (the cost model in benchmarks/README.md uses it)
    windows = [sum(steps[k : k + 10]) / 10 for k in range(0, len(steps) - 9, 10)] or steps
    result = {"epoch": seconds, "steps": len(loader), "source": source, "best_step": min(windows)}
    if ctx.distributed:
        result["averaging"] = statistics.median(averaging)
        result["averaging_mean"] = sum(averaging) / len(averaging)
        flat = opt._buckets[0][0]
        bare = []
        for _ in range(200):
            ctx.comm.Barrier()
            begin = time.perf_counter()
            ctx.comm.Allreduce(opt._mpi.IN_PLACE, flat)
            bare.append(time.perf_counter() - begin)
        result["allreduce"] = statistics.median(bare)
        result["floats"] = int(flat.size)
    if ctx.is_main:
        print(json.dumps(result))


def launch(setup: str, model: str, batch: int) -> dict:
    threads, ranks, size = {"1 rank": (1, 1, batch), "2 ranks": (1, 2, batch),
                            "2 threads": (2, 1, 2 * batch)}[setup]  # fmt: skip
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--worker", model, str(size), str(SAMPLES[model])]
    if ranks > 1:
        mpiexec = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
        command = [mpiexec, "-n", str(ranks), *command]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,cnn")
    parser.add_argument("--batches", default="32,128,1024")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "BATCH", "SAMPLES"))
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    setups = ("1 rank", "2 ranks", "2 threads")
    cases = [(m, int(b)) for m in args.models.split(",") for b in args.batches.split(",")]
    runs = {(m, b, s): [] for m, b in cases for s in setups}
    load_before = os.getloadavg()[0]  # the machine may be shared: say how busy it was
    for _ in range(args.rounds):
        for model, batch in cases:
            for setup in setups:
                runs[(model, batch, setup)].append(launch(setup, model, batch))
    print(f"data: {runs[(*cases[0], setups[0])][0]['source']} (CNN: {SAMPLES['cnn']:,})")
    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    load += f", on {os.cpu_count()} cores"
    print(f"medians of {args.rounds} rounds; epoch seconds; speed-up over 1 rank; {load}\n")
    print("| model | batch per rank | 1 rank | 2 ranks | 2 threads (batch 2b) | 2 ranks: "
          "speed-up | 2 threads: speed-up | averaging per step (ms) | share of the step | "
          "bare Allreduce (ms) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    table = []
    for model, batch in cases:
        one, two, threads = (
            statistics.median(r["epoch"] for r in runs[(model, batch, s)]) for s in setups
        )
        ranks = runs[(model, batch, "2 ranks")]
        averaging = statistics.median(r["averaging"] for r in ranks)
        bare = statistics.median(r["allreduce"] for r in ranks)
        share = averaging * ranks[0]["steps"] / two
        row = {"model": model, "batch": batch, "one_rank": one, "two_ranks": two,
               "two_threads": threads, "averaging_ms": averaging * 1e3, "share": share,
               "allreduce_ms": bare * 1e3, "floats": ranks[0]["floats"],
               "steps_two_ranks": ranks[0]["steps"]}  # fmt: skip
        table.append(row)
        print(f"| {model} | {batch} | {one:.2f} | {two:.2f} | {threads:.2f} | {one / two:.2f} "
              f"| {one / threads:.2f} | {averaging * 1e3:.2f} | {share:.0%} "
              f"| {bare * 1e3:.2f} |")  # fmt: skip
    print("\nfastest 10 consecutive steps, ms per step (the least disturbed):\n")
    print("| model | batch per rank | 1 rank | 2 ranks | 2 threads (batch 2b) |")
    print("|---|---|---|---|---|")
    for model, batch in cases:
        best = [min(r["best_step"] for r in runs[(model, batch, s)]) * 1e3 for s in setups]
        print(f"| {model} | {batch} | " + " | ".join(f"{t:.2f}" for t in best) + " |")
    if args.json:
        named = {" / ".join(map(str, k)): v for k, v in runs.items()}
        with open(args.json, "w") as file:
            json.dump({"load": load, "rows": table, "runs": named}, file, indent=1)


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
