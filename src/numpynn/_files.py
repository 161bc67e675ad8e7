"""Writing files atomically: a temporary file beside the target, renamed over it at the end.

A crash or an error half-way leaves the old file (or none) and no partial one.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with atomic_write(path, "w") as f:
...     _ = f.write("complete")
>>> with open(path) as f:
...     f.read()
'complete'
"""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", **kwargs):
    """Open a temporary file for writing; on success flush it to disk and rename it to
    ``path``; on any error remove it and re-raise."""
    path = os.fspath(path)
    temporary = f"{path}.{os.urandom(4).hex()}.tmp"
    try:
        with open(temporary, mode.replace("w", "x"), **kwargs) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
