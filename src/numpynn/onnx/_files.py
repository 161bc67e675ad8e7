"""Reading and writing ONNX files: the one place that imports the ``onnx`` package."""

from __future__ import annotations

import os

from numpynn._files import atomic_write

OPSET, IR_VERSION = 17, 8


def onnx_package():
    """The ``onnx`` package, or an ImportError naming the extra to install."""
    try:
        import onnx
    except ImportError:
        raise ImportError('ONNX export and import need onnx: pip install "numpynn[onnx]"') from None
    return onnx


def write(proto, path) -> None:
    """Check ``proto`` in full, then write it to ``path`` atomically (no partial file)."""
    onnx_package().checker.check_model(proto, full_check=True)
    with atomic_write(path) as file:
        file.write(proto.SerializeToString())


def read(path):
    """The ModelProto of the file at ``path``."""
    onnx = onnx_package()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no ONNX file at {path}")
    try:
        return onnx.load(path)
    except Exception as error:  # protobuf's DecodeError and friends
        raise ValueError(f"onnx.load: {path} is not a readable ONNX file: {error}") from None
