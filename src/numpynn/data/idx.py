"""The IDX file format of MNIST and Fashion-MNIST, read with every length checked.

An IDX file is a 4-byte magic number (0, 0, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values, big-endian, in C order. ``.gz`` files
are decompressed on the fly. The header is read and checked first; then at most the number
of bytes it announces is read (one more shows trailing junk), so neither a lying header nor a
compression bomb can make the reader allocate more than the data the file really holds. A
file whose header or length does not add up is an error that names the file, never a wrong
array.
"""

from __future__ import annotations

import math
import os
import zlib

import numpy as np

from numpynn._files import NotARegularFileError, open_regular

TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand one byte into more than about 1032
CHUNK = 1 << 20


class IDXError(ValueError):
    """An IDX file that is damaged, truncated or not IDX at all."""


class IDXChecksumError(IDXError):
    """An IDX file whose content is not the known one (an altered or damaged copy)."""


def read_idx(path, sha256: str | None = None) -> np.ndarray:
    """The array stored in the IDX file at ``path`` (``.gz`` or not), in native byte order.

    With ``sha256``, the decompressed content must have that SHA-256, otherwise
    ``IDXChecksumError``.
    """
    path = os.fspath(path)
    try:
        with open_regular(path) as raw:
            size = os.fstat(raw.fileno()).st_size
            if path.endswith(".gz"):
                import gzip  # here: `import numpynn` stays light

                with gzip.GzipFile(fileobj=raw) as stream:
                    limit = size * MAX_DEFLATE_RATIO + CHUNK
                    return _read(
                        stream, path, limit, f"more than a {size}-byte .gz can hold", sha256
                    )
            return _read(raw, path, size, f"the file holds {size} bytes", sha256)
    except NotARegularFileError as error:
        raise IDXError(str(error)) from None
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise IDXError(f"{path}: cannot be read or decompressed ({error})") from None


def _read(stream, path: str, limit: int, limit_text: str, sha256: str | None) -> np.ndarray:
    """Header first, then exactly the announced data; ``limit``: the most this file can
    hold once decompressed (its size, or the deflate bound of its size for .gz)."""
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in TYPES:
        raise IDXError(f"{path}: not an IDX file (magic bytes {magic[:4].hex() or 'missing'})")
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    header = 4 + 4 * ndim
    if ndim == 0 or len(dims) < 4 * ndim:
        got = 4 + len(dims)
        raise IDXError(f"{path}: the header is cut short ({got} bytes, {ndim} dimensions)")
    shape = tuple(int(d) for d in np.frombuffer(dims, ">u4"))
    dtype = np.dtype(TYPES[magic[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    described = f"{' x '.join(map(str, shape))} values of {dtype.name} ({expected} bytes)"
    if expected > limit:
        raise IDXError(f"{path}: truncated: the header says {described}, {limit_text}")
    data = bytearray()  # grows with what really arrives, never to the header's word alone
    while len(data) < expected - header:
        chunk = stream.read(min(CHUNK, expected - header - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) < expected - header:
        held = header + len(data)
        raise IDXError(f"{path}: truncated: the header says {described}, the file holds {held}")
    if stream.read(1):  # one byte past the end is enough to know: never read the rest
        raise IDXError(f"{path}: longer than its header says: {described}, then more bytes")
    if sha256 is not None:
        import hashlib  # here: OpenSSL's start-up is 2-5 ms of `import numpynn`

        digest = hashlib.sha256(magic + dims)
        digest.update(data)
        if digest.hexdigest() != sha256:
            raise IDXChecksumError(
                f"{path}: SHA-256 {digest.hexdigest()} of the content is not the known {sha256}"
            )
    array = np.frombuffer(data, dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)
