"""CNN training on a busy machine: numpynn and PyTorch at 1 and at 2 threads, with and
without competing processes.

``cnn.py``'s network and data, ``--steps`` steps per repetition; every configuration
(library x threads) takes its turn in each repetition, first on the machine as it is, then
with ``--busy`` busy-loop processes of our own running beside it. The threads are set at
run time (NumPy's BLAS through ``threadpoolctl``, PyTorch through ``torch.set_num_threads``).
The figures are seconds per epoch (medians) and each configuration's ratio to the same
library at the same threads without our competitors.

    python benchmarks/busy.py                      # 3 repetitions of 10 steps, 1 competitor
    python benchmarks/busy.py --busy 2 --steps 20
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import cnn
from common import alternating_times, median, torch_or_none

BUSY_LOOP = "while True: pass"


def with_threads(run, threads: int, torch=None):
    """``run`` at ``threads`` threads: PyTorch's if ``torch`` is given, else NumPy's BLAS."""
    from threadpoolctl import threadpool_limits

    def threaded():
        if torch is not None:
            torch.set_num_threads(threads)
            run()
        else:
            with threadpool_limits(threads, user_api="blas"):
                run()

    return threaded


def runners(x, y, threads_list, torch):
    out = {}
    for threads in threads_list:
        out[f"numpynn {threads} thread(s)"] = with_threads(cnn.numpynn_runner(x, y, 128), threads)
        if torch is not None:
            run = cnn.torch_runner(x, y, 128)
            out[f"PyTorch {threads} thread(s)"] = with_threads(run, threads, torch)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--busy", type=int, default=1, help="competing busy-loop processes")
    args = parser.parse_args(argv)
    torch = torch_or_none(1)
    x, y = cnn.make_data(args.steps, 128)
    run = runners(x, y, (1, os.cpu_count() or 1), torch)
    per_epoch = 60_000 / (args.steps * 128)
    results = {}
    for label in ("as it is", f"+{args.busy} busy"):
        competitors = []
        if label != "as it is":
            competitors = [
                subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(args.busy)
            ]
        try:
            with open("/proc/loadavg") as f:
                load = f.read().split()[0]
            times = alternating_times(run, args.reps)
        finally:
            for process in competitors:
                process.kill()
                process.wait()
        results[label] = {name: median(ts) * per_epoch for name, ts in times.items()}
        print(f"{label} (load average {load} when it started), s/epoch:")
        for name, seconds in results[label].items():
            base = results["as it is"][name]
            print(f"  {name:22s} {seconds:8.2f}   x{seconds / base:5.2f} of 'as it is'")


if __name__ == "__main__":
    main()
