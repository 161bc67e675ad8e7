"""Reading and writing ONNX files: the one place that imports the ``onnx`` package.

A file is read once, as bytes, and parsed without following external-data references
(``onnx.load`` would open the files they name, anywhere on the disk); FIFOs, devices and
folders are refused before they are opened (numpynn._files.open_regular).
"""

from __future__ import annotations

import os

from numpynn._files import atomic_write, open_regular
from numpynn.io import ModelFileError

OPSET, IR_VERSION = 17, 8


class ONNXLoadError(ModelFileError):
    """An ONNX file that ``nn.onnx.load`` cannot read: damaged, hostile, or a graph numpynn
    cannot express. The message names the file, and the node or tensor and what is wrong.
    A ``ModelFileError`` (so a ``ValueError``) like every other damaged model file."""


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
    """The ModelProto of the file at ``path``, parsed from one read of its bytes, and the
    number of bytes."""
    onnx = onnx_package()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no ONNX file at {path}")
    with open_regular(path) as file:
        data = file.read()
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as error:  # protobuf's DecodeError, RuntimeWarning-free
        raise ONNXLoadError(f"onnx.load: {path} is not a readable ONNX file: {error}") from None
    if not proto.HasField("graph"):
        raise ONNXLoadError(f"onnx.load: {path} is not an ONNX model: it holds no graph")
    return proto, len(data)
