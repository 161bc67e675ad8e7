"""Weights as safetensors files, the format PyTorch and Hugging Face share, in NumPy alone.

A safetensors file is an 8-byte little-endian header length n, n bytes of JSON (each
tensor's ``dtype``, ``shape`` and ``data_offsets`` [begin, end) into the data; an optional
``__metadata__``, a ``dict[str, str]``) and the data: the tensors' little-endian bytes, one
after another with no gap. Keys are the ``state_dict`` names, which are PyTorch's, so a file
written here loads into the PyTorch twin with ``safetensors.torch.load_file`` and
``load_state_dict``, and back. ``nn.save_weights(model, "w.safetensors")`` and
``nn.load_weights`` choose this format by the extension.

Every file is treated as hostile. The reader opens it with ``open_regular`` (a FIFO or a
device is refused, never waited on), reads each byte once, and allocates no more than the
file's size: the header length is checked against the size first, then every entry (dtype,
shape, byte range; the ranges tile the data exactly, without overlap or gap) before the
data is read. Each problem is a ``SafetensorsError`` naming the file and the key.
``BF16`` tensors (common in Hugging Face files) are read as float32, exactly.

The writer makes every array C-contiguous first, so a Fortran-ordered ``Linear.weight`` or
a strided view is stored as its values, never as its memory.

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
import sys

import numpy as np

from numpynn._files import atomic_write, open_regular

SUFFIX = ".safetensors"
# safetensors' own limit on the JSON header (its Rust reader refuses larger ones)
MAX_HEADER_BYTES = 100_000_000
DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # read as its bits, then widened to float32
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {dtype.newbyteorder("="): name for name, dtype in DTYPES.items() if name != "BF16"}


class SafetensorsError(ValueError):
    """A safetensors file that cannot be read: damaged, or not holding what it should."""


def is_safetensors(path) -> bool:
    return os.fspath(path).endswith(SUFFIX)


def save_file(arrays: dict[str, np.ndarray], path, metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays`` (name -> array) and ``metadata`` (str -> str) to ``path``, atomically.

    The header is padded with spaces to a multiple of 8 bytes, as the Rust writer does, so
    every tensor starts aligned.
    """
    where = f"save {os.fspath(path)}"
    if metadata is not None and not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise TypeError(
            f"{where}: safetensors metadata is dict[str, str]; write other values as JSON text"
        )
    header: dict = {} if metadata is None else {"__metadata__": dict(metadata)}
    blobs, offset = [], 0
    for name, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.newbyteorder("=") not in _NAMES or name == "__metadata__":
            raise TypeError(
                f"{where}: {name!r} has dtype {value.dtype}; numpynn writes "
                f"{', '.join(_NAMES.values())}"
            )
        blob = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": _NAMES[value.dtype.newbyteorder("=")],
            "shape": list(value.shape),
            "data_offsets": [offset, offset + len(blob)],
        }
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with atomic_write(path) as file:
        file.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            file.write(blob)


def load_file(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The arrays and the metadata stored at ``path``, each byte read once.

    The arrays are views into one buffer the size of the data (writeable; BF16 tensors are
    float32 copies). Raises FileNotFoundError, ``NotARegularFileError`` (an OSError) for a
    FIFO, device or folder, and ``SafetensorsError`` for anything wrong inside the file.
    """
    path = os.fspath(path)
    try:
        file = open_regular(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no safetensors file at {path}") from None
    with file:
        size = os.fstat(file.fileno()).st_size
        header, metadata = _read_header(file, path, size)
        data = bytearray(size - file.tell())
        if file.readinto(data) != len(data):
            raise SafetensorsError(f"{path}: the file got shorter while it was read")
    arrays = {}
    for key, entry in header.items():
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        array = np.frombuffer(data, dtype, (end - begin) // dtype.itemsize, begin)
        if entry["dtype"] == "BF16":  # the high 16 bits of a float32: shift them back up
            array = (array.astype(np.uint32) << 16).view(np.float32)
        else:
            array = array.astype(dtype.newbyteorder("="), copy=False)
        arrays[key] = array.reshape(entry["shape"])
    return arrays, metadata


def _read_header(file, path: str, size: int) -> tuple[dict, dict[str, str]]:
    """Read the length and the JSON header from ``file``, trusting no size in them."""
    prefix = file.read(8)
    if len(prefix) < 8:
        raise SafetensorsError(f"{path}: not a safetensors file ({size} bytes, no header)")
    (length,) = struct.unpack("<Q", prefix)
    if length > size - 8 or length > MAX_HEADER_BYTES:
        raise SafetensorsError(
            f"{path}: the header claims {length} bytes but the file holds {size - 8} after "
            f"its length (at most {MAX_HEADER_BYTES} allowed): truncated or not a safetensors file"
        )
    raw = file.read(length)
    try:
        header = json.loads(raw.decode(), object_pairs_hook=_no_repeated_keys)
    except (UnicodeDecodeError, ValueError) as error:
        raise SafetensorsError(f"{path}: the header is not JSON: {error}") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: the header's JSON is nested too deeply") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")
    data_size = size - 8 - length
    for key, entry in header.items():
        _check_entry(path, key, entry, data_size)
    _check_tiling(path, header, data_size)
    return header, metadata


def _no_repeated_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"the key {repeated[0]!r} appears more than once")
    return dict(pairs)


def _is_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_entry(path: str, key: str, entry, data_size: int) -> None:
    def fail(problem):
        raise SafetensorsError(f"{path}: tensor {key!r}: {problem}")

    if not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys():
        fail("the entry needs dtype, shape and data_offsets")
    if not isinstance(entry["dtype"], str) or entry["dtype"] not in DTYPES:
        fail(f"dtype {entry['dtype']!r:.40} is not one NumPy reads ({', '.join(DTYPES)})")
    shape, offsets = entry["shape"], entry["data_offsets"]
    if not isinstance(shape, list) or not all(_is_size(d) for d in shape):
        fail(f"shape {shape!r:.80} is not a list of sizes")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_size(o) for o in offsets)
        or not offsets[0] <= offsets[1] <= data_size
    ):
        fail(f"data_offsets {offsets!r:.80} lie outside the {data_size} bytes of data")
    expected = math.prod(shape) * DTYPES[entry["dtype"]].itemsize  # Python ints: no overflow
    if math.prod(max(d, 1) for d in shape) * 4 > sys.maxsize:  # even when a 0 makes it empty
        fail(f"shape {shape} is larger than NumPy can index")
    if offsets[1] - offsets[0] != expected:
        fail(
            f"shape {shape} of {entry['dtype']} needs {expected} bytes, "
            f"data_offsets give {offsets[1] - offsets[0]}"
        )


def _check_tiling(path: str, header: dict, data_size: int) -> None:
    """The byte ranges, in order, follow one another and end where the data ends."""
    end, previous = 0, None
    for key, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
        begin = entry["data_offsets"][0]
        if begin != end:
            problem = "overlaps" if begin < end else "leaves a gap after"
            raise SafetensorsError(
                f"{path}: tensor {key!r} at bytes {entry['data_offsets']} {problem} "
                f"{'the start of the data' if previous is None else repr(previous)}"
            )
        end, previous = entry["data_offsets"][1], key
    if end != data_size:
        raise SafetensorsError(
            f"{path}: the tensors fill {end} bytes but the file holds {data_size} bytes of data"
        )
