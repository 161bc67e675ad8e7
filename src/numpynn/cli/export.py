"""``numpynn export MODEL OUTPUT.onnx``: a saved model as an ONNX graph (needs the onnx extra).

An existing OUTPUT is replaced, atomically: the file is either the old one or the whole new
one, and a failed export leaves no partial file. The folder it goes into must exist.
"""

from __future__ import annotations

import os
import pathlib

from numpynn.cli.arguments import UsageError
from numpynn.cli.userfiles import existing_file
from numpynn.io import load_model
from numpynn.model import Model


def run(args) -> int:
    model_path = existing_file(args.model, "model file")
    output, replacing = _destination(args.output, model_path)
    model = load_model(model_path, compile=False)
    from numpynn import onnx  # needs the onnx extra

    try:
        onnx.export(model, output)
    except OSError as error:  # the temporary file's name would mean nothing to the user
        raise OSError(f"cannot write {output}: {error.strerror or error}") from None
    inputs = model.input_names if isinstance(model, Model) else ["input"]
    replaced = ", replacing the file that was there" if replacing else ""
    print(f"wrote {output} (opset {onnx.OPSET}; inputs {', '.join(inputs)}{replaced})")
    return 0


def _destination(output: pathlib.Path, model_path: pathlib.Path) -> tuple[pathlib.Path, bool]:
    """``output`` checked before any work: (the path, whether a file there is replaced)."""
    if output.suffix.lower() != ".onnx":
        raise UsageError(f"{output}: the ONNX file's name must end in .onnx")
    if output.is_dir():
        raise ValueError(
            f"{output} is a folder; give the file to write, such as {output}/model.onnx"
        )
    # a symbolic link is followed (the file it points to is replaced): check where it leads
    folder = pathlib.Path(os.path.realpath(output)).parent if output.is_symlink() else output.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist; make it first"
        raise FileNotFoundError(f"cannot write {output}: {folder} {what}")
    replacing = output.exists()
    if replacing and output.samefile(model_path):
        raise UsageError(f"{output} is the model file itself; give another name for the ONNX file")
    return output, replacing


def register(commands) -> None:
    x = commands.add_parser(
        "export",
        help="write a saved model as ONNX",
        description="Write a saved model as an ONNX graph (opset 17, dynamic batch) for ONNX "
        'Runtime and other tools; needs pip install "numpynn[onnx]". An existing OUTPUT is '
        "replaced, atomically: it holds the old file or the whole new one, never part of one, "
        "and a failed export leaves it as it was. Its folder must exist.",
    )
    x.add_argument("model", type=pathlib.Path, help="a model.npz")
    x.add_argument(
        "output", type=pathlib.Path, help="the .onnx file to write (replaced if it exists)"
    )
    x.set_defaults(command=run, parser=x)
