"""Whole-file writes that a reader, or a crash, sees complete or not at all.

``write_atomic(path, data)`` writes ``data`` to a new temporary file beside
``path`` (same directory, so the same file system), fsyncs it, renames it over
``path`` with :func:`os.replace` and then fsyncs the directory, so that the
rename itself survives a power cut.  Until the rename ``path`` is untouched;
after it ``path`` holds all of ``data``.  When anything fails the temporary
file is removed and the error is raised.

Temporary files are named ``.<name>.<random>.tmp``: hidden, and easy to tell
apart from finished files should a process be killed between create and rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["waiting_lock", "write_atomic"]

_WRITE_BUFFER = 1 << 20
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: str | Path, data: bytes | str | Iterable[str | bytes],
                 mode: int = 0o666) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step.

    ``data`` may also be pieces of text or bytes, written as they come, so a
    large document need never be held whole.  Missing parent directories are
    created.  ``mode`` is the new file's permission bits, less the process
    umask, as for any file created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temp(target, mode)
    try:
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as fh:
            if isinstance(data, bytes | str):
                fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            else:
                for piece in data:
                    fh.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_directory(target.parent)


def _create_temp(target: Path, mode: int) -> tuple[int, Path]:
    """A new, exclusively created temporary file beside ``target``, open for writing."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, _CREATE, mode), tmp
        except FileExistsError:
            continue  # another writer drew the same name: draw again


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable, where the system allows it.

    Some systems and file systems cannot open or fsync a directory; there the
    rename is as durable as they make it, and that is not an error.
    """
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path``, waiting for any holder; the file goes on release.

    For processes (and threads) that share a directory and must not do the
    same work at once.  Removing the file on release keeps the directory
    clean; a waiter that locked the removed file sees that the path no longer
    names its file and locks the new one, so two holders never overlap.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _names(path, fd):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)  # closing drops the lock


def _names(path: Path, fd: int) -> bool:
    """True when ``path`` still names the file open as ``fd``."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)
