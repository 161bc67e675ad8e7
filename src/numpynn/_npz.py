"""Reading a model file (an ``.npz`` archive) with allocation bounded by the file itself.

The zip directory and each member's .npy header (shape and dtype, read alone) are checked
before anything is allocated: the total size the headers claim against the file's own size,
the JSON header's size and nesting. Arrays are then read one at a time, each into an array of
the size its header gave, never more. ``io.load_model`` and ``io.load_weights`` read through
``Archive``; what a damaged file raises is ``ModelFileError``, named after the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from numpynn._files import NotARegularFileError, open_regular

FORMAT, VERSION = "numpynn", 1
HEADER = "numpynn.json"  # the archive's JSON entry: architecture, metadata, optimizer
MAX_EXPANSION = 16  # a file may claim at most 16 times its size (+ 1 MiB) of uncompressed data
MAX_JSON_DEPTH = 100
MAX_JSON_BYTES = 16 << 20


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: damaged, foreign, or not matching."""

    __module__ = "numpynn.io"  # where users import it from


class Archive:
    """A model file opened for reading: its zip directory and each member's .npy header,
    checked; arrays read one at a time, each bounded by what its header says."""

    def __init__(self, path):
        self.path = path = os.fspath(path)
        try:
            self.file = open_regular(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no model file at {path}") from None
        except NotARegularFileError as error:
            raise ModelFileError(str(error)) from None
        except OSError as error:
            raise ModelFileError(f"{path} cannot be read: {error}") from None
        try:
            self._open()
        except BaseException:
            self.file.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()
        self.file.close()

    def _fail(self, what: str):
        return ModelFileError(f"{self.path} is not a readable numpynn file: {what}")

    def _open(self) -> None:
        size = os.fstat(self.file.fileno()).st_size
        try:
            self.zip = zipfile.ZipFile(self.file)
        except _ZIP_ERRORS as error:
            self.file.seek(0)
            if self.file.read(6) == b"\x93NUMPY":
                raise self._fail("it holds one array (a .npy file), not a model") from None
            raise self._fail(f"not a zip archive of arrays ({_plain(error)})") from None
        infos = self.zip.infolist()
        self.members = {}
        for info in infos:
            if not info.filename.endswith(".npy") or info.is_dir():
                raise self._fail(f"the entry {info.filename!r} is not an array")
            key = info.filename[: -len(".npy")]
            if key in self.members:
                raise self._fail(f"the entry {info.filename!r} appears twice")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._fail(
                    f"the entry {info.filename!r} uses compression method {info.compress_type}"
                )
            if info.flag_bits & 0x1:
                raise self._fail(f"the entry {info.filename!r} is encrypted")
            self.members[key] = info
        claimed = sum(info.file_size for info in infos)
        if claimed > MAX_EXPANSION * size + (1 << 20):
            raise self._fail(
                f"its entries claim {claimed} bytes uncompressed, more than "
                f"{MAX_EXPANSION} times the file's {size} bytes"
            )
        if HEADER not in self.members:
            raise ModelFileError(f"{self.path} is not a numpynn file (no {HEADER} entry)")
        self._layout = {}  # key -> (Fortran order, offset of the data in the member)
        self.headers = {key: self._array_header(key) for key in self.members}
        self.header = self._read_header()

    def _array_header(self, key: str):
        """(shape, dtype) from the member's .npy header; its data is left unread."""
        info = self.members[key]
        try:
            with self.zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                read = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read is None:
                    raise ValueError(f"unknown .npy version {version}")
                shape, fortran, dtype = read(member)
                offset = member.tell()
        except _ZIP_ERRORS as error:
            raise self._fail(f"the entry {key!r}: {_plain(error)}") from None
        if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
            raise ModelFileError(f"{self.path}: entry {key!r} is not numeric ({dtype})")
        if dtype.kind == "f" and dtype.itemsize not in (2, 4, 8):
            raise ModelFileError(f"{self.path}: entry {key!r} has an unsupported dtype {dtype}")
        expected = offset + math.prod(shape) * dtype.itemsize
        if info.file_size != expected:
            raise self._fail(
                f"the entry {key!r} holds {info.file_size - offset} bytes of data, its header "
                f"says {' x '.join(map(str, shape)) or 'scalar'} {dtype} "
                f"({expected - offset} bytes)"
            )
        self._layout[key] = (fortran, offset)
        return tuple(shape), dtype

    def arrays(self, prefix: str) -> dict:
        """{key: (shape, dtype)} of the arrays whose keys start with ``prefix``."""
        return {k: v for k, v in self.headers.items() if k.startswith(prefix)}

    def read(self, key: str) -> np.ndarray:
        """The array ``key``, in native byte order; at most its header's size is read."""
        (shape, dtype), (fortran, offset) = self.headers[key], self._layout[key]
        flat = np.empty(math.prod(shape), dtype)
        view, info = memoryview(flat.view(np.uint8)), self.members[key]
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                self._read_stored(info, offset, view)
            else:
                with self.zip.open(info) as member:
                    member.read(offset)
                    done = 0
                    while done < flat.nbytes:
                        got = member.readinto(view[done:])
                        if not got:
                            raise EOFError("the data ends early")
                        done += got
                    member.read(1)  # at the end: zipfile checks the CRC-32 here
        except _ZIP_ERRORS as error:
            raise self._fail(f"the entry {key!r}: {_plain(error)}") from None
        array = flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))

    def _read_stored(self, info: zipfile.ZipInfo, offset: int, view: memoryview) -> None:
        """An uncompressed member's data straight from the file into ``view`` (zipfile's
        reader would copy it three times), its CRC-32 checked as zipfile checks it."""
        self.file.seek(info.header_offset)
        local = self.file.read(30)  # the local file header: its name and extra field lengths
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local file header for {info.filename!r}")
        name_length, extra_length = struct.unpack("<2H", local[26:30])
        self.file.seek(info.header_offset + 30 + name_length + extra_length)
        head = self.file.read(offset)
        if len(head) != offset or self.file.readinto(view) != len(view):
            raise EOFError("the data ends early")
        if zlib.crc32(view, zlib.crc32(head)) != info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")

    def _read_header(self) -> dict:
        shape, dtype = self.headers[HEADER]
        if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_JSON_BYTES:
            raise ModelFileError(f"{self.path}: the {HEADER} entry is damaged ({shape} {dtype})")
        try:
            text = self.read(HEADER).tobytes().decode()
            depth = _json_depth(text)
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"nested {depth} levels deep, more than {MAX_JSON_DEPTH}")
            header = json.loads(text)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise ModelFileError(f"{self.path}: the {HEADER} entry is damaged: {error}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ModelFileError(f"{self.path} is not a numpynn file")
        if header.get("version") != VERSION:
            raise ModelFileError(
                f"{self.path} has format version {header.get('version')}; this numpynn "
                f"reads {VERSION}"
            )
        return header


# What zipfile, zlib and NumPy's .npy header reader raise on damaged bytes. None of them is
# a programming error here: every one means the file is not what it claims.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,  # an encrypted entry
    NotImplementedError,  # an unknown compression method
    OverflowError,
    SyntaxError,  # a .npy header that is not a Python literal
    TypeError,
    KeyError,
    IndexError,
    struct.error,
    MemoryError,
)


def _plain(error: BaseException) -> str:
    """An error's message without NumPy's advice to load the file unsafely."""
    return str(error).split("; allow_pickle")[0].split(". Use allow_pickle")[0] or repr(error)


def _json_depth(text: str) -> int:
    """How deeply the JSON ``text`` nests, strings not counted (checked before parsing)."""
    depth = deepest = 0
    for bracket in re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
