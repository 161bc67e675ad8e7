"""Running the command line from the tests, and the CSV tables they train on."""

import subprocess
import sys

import numpy as np

from numpynn import cli


def numpynn(*args, cwd, **options):
    return subprocess.run(
        [sys.executable, "-m", "numpynn", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        **options,
    )


def run_main(args, capsys):
    """cli.main in this process: (exit code, stdout, stderr); argparse's exits included."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def table(rows, header="a,b,c,answer", encoding="utf-8"):
    """CSV text of ``rows`` (lists of cells) under ``header``, as bytes."""
    return "\n".join([header, *(",".join(map(str, row)) for row in rows)]).encode(encoding) + b"\n"


def separable(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).round(4)
    return [[*r, "yes" if r[0] + r[1] > 0 else "no"] for r in x]
