"""The ``numpynn`` command line (also ``python -m numpynn``).

    numpynn train                       # an MLP on the bundled 8x8 digits, in seconds
    numpynn train --dataset fashion-mnist --hidden 256,128 --epochs 5
    numpynn train --csv data.csv --target label
    numpynn train --model cnn                     # a small CNN on the digits
    numpynn evaluate runs/<time>/model.npz
    numpynn predict runs/<time>/model.npz digit.png     # or a .npy or .csv of samples
    numpynn summary runs/<time>/model.npz

``train`` writes ``model.npz``, ``metrics.json``, ``history.png`` and ``confusion.png``
(and ``samples.png`` for images) to ``--out`` (default: a new folder ``runs/<date>-<time>``).
Exit codes: 0 success; 2 a usage error, printed under the command's usage line; 1 a
failure while running (a missing or malformed file, data not available), printed as one
message, never a traceback.

One module per command (``train``, ``evaluate``, ``predict``, ``summary``, ``export``,
``report``), each with ``run(args)`` and ``register(commands)``; ``arguments`` holds the
option types and the error handling, ``userfiles`` the readers of CSV, .npy and image files,
``models`` the networks ``train`` builds and the loading of saved ones, ``runs`` the run
folder. A new command is a new module and one line in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import sys

import numpynn
from numpynn.cli import evaluate, export, predict, report, summary, train
from numpynn.cli.arguments import run_command

# The subcommands in the order ``numpynn --help`` lists them.
COMMANDS = (train, evaluate, predict, summary, export, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numpynn",
        description="Train, evaluate and use numpynn models.",
        epilog="Exit codes: 0 success, 2 a usage error, 1 a failure while running. "
        "'numpynn COMMAND --help' describes a command.",
    )
    parser.add_argument("--version", action="version", version=f"numpynn {numpynn.__version__}")
    commands = parser.add_subparsers(dest="name", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv=None) -> int:
    """Run one command; returns the exit code (argparse exits with 2 on bad usage)."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return run_command(args)


def run() -> None:
    """The console script."""
    sys.exit(main())
