"""``numpynn summary MODEL``: the layers of a saved model, their output shapes and sizes."""

from __future__ import annotations

import pathlib

from numpynn.cli.models import load


def run(args) -> int:
    load(args.model)[0].summary()
    return 0


def register(commands) -> None:
    s = commands.add_parser("summary", help="print the layers of a saved model")
    s.add_argument("model", type=pathlib.Path, help="a model.npz")
    s.set_defaults(command=run, parser=s)
