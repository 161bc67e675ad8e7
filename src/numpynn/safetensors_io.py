"""Weights as safetensors files, the format PyTorch and Hugging Face share.

A safetensors file is an 8-byte little-endian header length, a JSON header (each tensor's
dtype, shape and byte range; ``__metadata__``, a ``dict[str, str]``) and the raw bytes. Keys
are the ``state_dict`` names, which are PyTorch's, so a file written here loads into the
PyTorch twin with ``safetensors.torch.load_file`` and ``load_state_dict``, and back.

``nn.save_weights(model, "w.safetensors")`` and ``nn.load_weights`` choose this format by the
extension; the package ``safetensors`` is needed (``pip install "numpynn[safetensors]"``) and
imported only here, when used.

Two traps are handled here: ``safetensors.numpy`` writes an array's memory as it lies, so a
Fortran-ordered array (``Linear.weight``) or a strided view would be saved transposed or
garbled; every array is first made C-contiguous. And the header length is checked against
the file's size before anything is read, so a damaged file cannot make us allocate
gigabytes; every entry's dtype, shape and byte range is checked, the error naming the file
and the key.

>>> import os, tempfile, numpy as np, numpynn as nn
>>> model = nn.Sequential(nn.Linear(3, 2))
>>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
>>> nn.save_weights(model, path)
>>> other = nn.Sequential(nn.Linear(3, 2))
>>> nn.load_weights(other, path)
>>> bool(np.array_equal(other[0].weight.data, model[0].weight.data))
True
"""

from __future__ import annotations

import json
import math
import os
import struct

import numpy as np

from numpynn._files import atomic_write

SUFFIX = ".safetensors"
# safetensors' own limit on the JSON header (its Rust reader refuses larger ones)
MAX_HEADER_BYTES = 100_000_000
DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


class SafetensorsError(ValueError):
    """A safetensors file that cannot be read: damaged, or not holding what it should."""


def is_safetensors(path) -> bool:
    return os.fspath(path).endswith(SUFFIX)


def _library():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            'safetensors files need the safetensors package: pip install "numpynn[safetensors]"'
        ) from None
    return safetensors.numpy


def save_file(arrays: dict[str, np.ndarray], path, metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` (name -> array) and ``metadata`` (str -> str) to ``path``, atomically.

    Each array is copied to C order first: the library writes raw memory.
    """
    library = _library()
    if metadata is not None and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(
            f"save {os.fspath(path)}: safetensors metadata is dict[str, str]; write other "
            "values as JSON text"
        )
    contiguous = {}
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.type not in DTYPES.values():
            raise TypeError(f"save {os.fspath(path)}: {name!r} has dtype {value.dtype}")
        contiguous[name] = np.ascontiguousarray(value)
    data = library.save(contiguous, metadata=metadata)
    with atomic_write(path) as file:
        file.write(data)


def read_header(path) -> tuple[dict, dict[str, str]]:
    """The tensor entries and the metadata of the file at ``path``, checked without trusting
    any size in it: SafetensorsError naming the file (and the key) when it is damaged."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        prefix = file.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"{path}: not a safetensors file ({size} bytes, no header)")
        (length,) = struct.unpack("<Q", prefix)
        if length > size - 8 or length > MAX_HEADER_BYTES:
            raise SafetensorsError(
                f"{path}: the header claims {length} bytes but the file holds {size - 8} after "
                "its length: truncated or not a safetensors file"
            )
        raw = file.read(length)
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: the header is not JSON: {error}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")
    data_size = size - 8 - length
    for key, entry in header.items():
        _check_entry(path, key, entry, data_size)
    return header, metadata


def _check_entry(path: str, key: str, entry, data_size: int) -> None:
    def fail(problem):
        raise SafetensorsError(f"{path}: tensor {key!r}: {problem}")

    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        fail("the entry needs dtype, shape and data_offsets")
    if entry["dtype"] not in DTYPES:
        fail(f"dtype {entry['dtype']!r} is not one NumPy reads ({', '.join(DTYPES)})")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        fail(f"shape {shape!r} is not a list of sizes")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        fail(f"data_offsets {offsets!r} lie outside the {data_size} bytes of data")
    expected = math.prod(shape) * np.dtype(DTYPES[entry["dtype"]]).itemsize
    if offsets[1] - offsets[0] != expected:
        fail(
            f"shape {shape} of {entry['dtype']} needs {expected} bytes, "
            f"data_offsets give {offsets[1] - offsets[0]}"
        )


def load_file(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the metadata stored at ``path``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no safetensors file at {path}")
    library = _library()
    header, metadata = read_header(path)
    try:
        with open(path, "rb") as file:
            arrays = library.load(file.read())
    except Exception as error:  # the library's own SafetensorError, whatever is left
        raise SafetensorsError(f"{path}: {error}") from None
    if arrays.keys() != header.keys():
        raise SafetensorsError(f"{path}: the header and the data disagree")
    return arrays, metadata
