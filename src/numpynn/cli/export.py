"""``numpynn export MODEL OUTPUT.onnx``: a saved model as an ONNX graph (needs the onnx extra)."""

from __future__ import annotations

import pathlib

from numpynn.cli.arguments import UsageError
from numpynn.cli.userfiles import existing_file
from numpynn.io import load_model
from numpynn.model import Model


def run(args) -> int:
    if args.output.suffix.lower() != ".onnx":
        raise UsageError(f"{args.output}: the ONNX file's name must end in .onnx")
    model = load_model(existing_file(args.model, "model file"), compile=False)
    from numpynn import onnx  # needs the onnx extra

    onnx.export(model, args.output)
    inputs = model.input_names if isinstance(model, Model) else ["input"]
    print(f"wrote {args.output} (opset {onnx.OPSET}; inputs {', '.join(inputs)})")
    return 0


def register(commands) -> None:
    x = commands.add_parser(
        "export",
        help="write a saved model as ONNX",
        description="Write a saved model as an ONNX graph (opset 17, dynamic batch) for ONNX "
        'Runtime and other tools; needs pip install "numpynn[onnx]".',
    )
    x.add_argument("model", type=pathlib.Path, help="a model.npz")
    x.add_argument("output", type=pathlib.Path, help="the .onnx file to write")
    x.set_defaults(command=run, parser=x)
