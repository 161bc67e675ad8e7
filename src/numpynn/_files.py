"""Writing files atomically, and opening files to read without blocking on a FIFO.

``atomic_write`` writes to a temporary file beside the target and renames it over the target
at the end: a crash or an error half-way leaves the old file (or none) and no partial one.

- The temporary file is removed on every error path, KeyboardInterrupt included. Only a
  process killed outright (SIGKILL, power loss) can leave one; its name,
  ``.<name>.numpynn-tmp-<host>-<pid>-<random>``, says whose it is, and the next write in the
  same folder removes it once it is stale: its writer was on this host and has exited, or
  it has not been touched for ``STALE_AFTER`` seconds.
- Looking for stale temporaries lists the folder, which costs time in a big one, so it is
  skipped when it cannot find anything: when this process's last write there left no
  temporary of anyone else and the folder has not changed since (same device, inode and
  modification time; creating a temporary changes the folder's modification time).
- The temporary name never exceeds the file system's name limit: the part of the target's
  name it repeats is shortened, never the target's name.
- A symbolic link is followed: the file it points to is replaced and the link kept, as
  other atomic writers (``sed -i --follow-symlinks``, editors) do.
- A path that exists but is not a regular file (a FIFO, a device, a folder) is refused with
  a clear error instead of being opened (opening a FIFO blocks until someone writes to it).

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
import re
import stat
import time
import zlib

MARK = ".numpynn-tmp-"
STALE_AFTER = 3600.0  # seconds without a write after which anyone's temporary file is stale
_TEMPORARY = re.compile(r"^\..*\.numpynn-tmp-([0-9a-f]{4})-(\d+)-[0-9a-f]{8}$", re.DOTALL)
# folder -> its (device, inode, modification time) just after this process's last write there
# left it without anyone else's temporaries: while it reads the same, there is nothing to clear
_clean_folders: dict[str, tuple[int, int, int]] = {}


class NotARegularFileError(OSError):
    """A path that exists but is a FIFO, a device, a socket or a folder."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _refuse(path, mode: int, action: str):
    return NotARegularFileError(
        f"{os.fspath(path)} is {_kind(mode)}, not a regular file; numpynn {action} only "
        "regular files"
    )


def open_regular(path):
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor, so
    a FIFO is neither waited on nor swapped in between the check and the open.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode, "reads")
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _target(path) -> str:
    """The file to replace: ``path``, or where its chain of symbolic links ends."""
    path = os.fspath(path)
    if os.path.islink(path):
        path = os.path.realpath(path)
    with contextlib.suppress(FileNotFoundError):
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode, "writes")
    return path


def _host() -> str:
    import socket  # here: 3 ms of `import numpynn` for a name only a save needs

    return f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFF:04x}"


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder or ".", "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):
        return 255


def temporary_name(folder: str, name: str) -> str:
    """``.<name>.numpynn-tmp-<host>-<pid>-<random>``, with ``name`` cut short if the
    whole would exceed the folder's name limit (counted in encoded bytes)."""
    tail = f"{MARK}{_host()}-{os.getpid()}-{os.urandom(4).hex()}"
    room = _name_max(folder) - len(os.fsencode(tail)) - 1  # the leading dot
    while len(os.fsencode(name)) > room:
        name = name[:-1]
    return f".{name}{tail}"


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists and belongs to someone else
        return True
    return True


def clear_stale_temporaries(folder: str) -> tuple[list[str], int]:
    """Remove the stale temporary files that killed writers left in ``folder``; return them,
    and how many temporaries of others (live writers, other hosts) were left in place.

    A temporary file is stale when the host in its name is this one and its process has
    exited, or when nobody has written to it for ``STALE_AFTER`` seconds. Files of running
    writers, and files of other names, are never touched.
    """
    removed, kept, host, now = [], 0, _host(), time.time()
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return removed, 1  # unknown: look again next time
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            owner_gone = (
                match[1] == host and int(match[2]) != os.getpid() and not _alive(int(match[2]))
            )
            if owner_gone or now - info.st_mtime > STALE_AFTER:
                os.remove(entry.path)
                removed.append(entry.path)
            elif int(match[2]) != os.getpid() or match[1] != host:
                kept += 1
        except OSError:
            kept += 1  # removed meanwhile, or not ours to remove: look again next time
    return removed, kept


def _folder_state(folder: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(folder or ".")
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_mtime_ns


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", **kwargs):
    """Open a temporary file beside ``path`` for writing; on success flush it to disk and
    rename it over ``path`` (or over the file a symbolic link ``path`` points to); on any
    error, KeyboardInterrupt included, remove it and re-raise."""
    target = _target(path)
    folder, name = os.path.split(target)
    state = _folder_state(folder)
    others = 0
    if state is None or _clean_folders.pop(folder, None) != state:
        others = clear_stale_temporaries(folder)[1]
    temporary = os.path.join(folder, temporary_name(folder, name))
    created = done = False
    try:
        with open(temporary, mode.replace("w", "x"), **kwargs) as file:
            created = True
            yield file
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileNotFoundError):  # keep the old file's permissions
            os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
        os.replace(temporary, target)
        done = True
        if not others:
            _clean_folders[folder] = _folder_state(folder)
    finally:
        if created and not done:
            with contextlib.suppress(OSError):
                os.remove(temporary)
