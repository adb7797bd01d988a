"""Where downloads live on disk, and how bytes get there safely.

Every name is ours: nothing from the server (``Content-Disposition``) or the
URL reaches the file system, so no name can escape the download directory.

* a finished file is content-addressed: ``<sha256[:2]>/<sha256>.<ext>`` with
  the extension of the sniffed format, so identical content reached through two
  URLs is stored once;
* bytes in flight go to ``<sha256(url)>.part`` in the download directory, so a
  later run finds them again and resumes; ``<part>.json`` beside it keeps the
  URL and the validators (ETag, Last-Modified) a resume needs.  It is written
  in place, without an fsync: a sidecar that a crash leaves empty, cut short
  or missing reads as absent (a JSON object's prefix is never JSON), and the
  ``.part`` is then fetched anew, never resumed wrongly; sparing its rename and
  two fsyncs is most of the fixed cost of a small file;
* every open uses ``O_NOFOLLOW`` and checks for a regular file, so a symlink
  planted at a ``.part``, a sidecar or a target is refused, never written through.

A finished file is fsynced, then moved into place with ``os.replace``: a crash
leaves a ``.part`` and never a finished-looking file.  The rename is durable
once its directory is fsynced: at once, or, with a :class:`DirSync`, by one
fsync per directory for a batch of files (the caller records the files only
after :meth:`DirSync.flush`).

Several runs may share one download directory.  A URL's ``.part`` is written
by one of them at a time (:func:`part_lock`, a lock file per URL under
``.locks/``), and the final name is taken only with bytes whose hash was
computed as they were written.  A file already at that name is trusted only
once its own hash is checked (:func:`verified_file`, once per process for a
given size and modification time); one whose bytes do not match its name is
replaced with the verified ones and a warning logged.

Across runs, a file is trusted by its size and modification time: both are
recorded when its hash is verified (:class:`Stored`, :class:`Verified`), and a
later run that finds them unchanged does not read the file again
(:func:`same_stamp`), as rsync and git do.  Writing a file changes its
modification time, so damage by a write is caught; damage that also restores
the time (or a change within one tick of the file system's clock) is caught
only by reading, which ``--verify`` asks for.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harvester.errors import DownloadError
from harvester.files import waiting_lock

log = logging.getLogger(__name__)
LOCKS = ".locks"

_OPEN_FLAGS = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | os.O_NONBLOCK
_STORED = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{64}\.[a-z0-9]{1,5}$")
READ_CHUNK = 1024 * 1024
#: Directory fsyncs of one DirSync flush issued at once.
SYNC_THREADS = 8


class UnsafePath(DownloadError):
    """A symlink or other non-regular file sits where we would write."""

    code = "unsafe_path"


@dataclass(frozen=True, slots=True)
class PartFiles:
    """The in-flight file of one URL and its sidecar."""

    url: str
    part: Path
    sidecar: Path

    @classmethod
    def for_url(cls, dest_dir: Path, url: str) -> PartFiles:
        key = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()
        part = dest_dir / f"{key}.part"
        return cls(url=url, part=part, sidecar=dest_dir / f"{key}.part.json")

    def size(self) -> int:
        """Bytes already in the ``.part`` (0 when absent); refuses a symlink."""
        try:
            info = os.lstat(self.part)
        except FileNotFoundError:
            return 0
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath(f"{self.part} is not a regular file; remove it", self.url)
        return info.st_size

    def open(self, *, append: bool) -> int:
        """A write descriptor on the ``.part``, appending or truncating."""
        mode = os.O_APPEND if append else os.O_TRUNC
        return open_regular(self.part, os.O_WRONLY | os.O_CREAT | mode, self.url)

    def read_sidecar(self) -> dict[str, Any]:
        """The stored validators, or ``{}`` when absent, unreadable or for another URL."""
        try:
            fd = open_regular(self.sidecar, os.O_RDONLY, self.url)
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, "rb") as fh:
            try:
                data = json.loads(fh.read(65536))
            except (ValueError, RecursionError):
                return {}
        return data if isinstance(data, dict) and data.get("url") == self.url else {}

    def write_sidecar(self, **values: str | int | None) -> None:
        """Write the sidecar in place (never through a link), without an fsync: torn or
        lost by a crash, it reads as absent and the ``.part`` is not resumed."""
        data = json.dumps({"url": self.url, **values}, sort_keys=True).encode()
        fd = open_regular(self.sidecar, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.url)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this URL's lock (waiting for another run or thread that holds it), so
        that one writer at a time touches its ``.part``, sidecar and final name."""
        # Not the "<key>.lock" a sharded run takes around the whole fetch: the two nest.
        with waiting_lock(self.part.parent / LOCKS / (self.part.name + ".lock")):
            yield

    def discard(self) -> None:
        """Remove the ``.part`` and its sidecar (a symlink is removed, not followed)."""
        for path in (self.part, self.sidecar):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def open_regular(path: Path, flags: int, url: str) -> int:
    """``os.open`` that refuses symlinks, FIFOs and devices."""
    try:
        fd = os.open(path, flags | _OPEN_FLAGS, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a symlink; a FIFO with no reader
            raise UnsafePath(f"refusing to write through {path}: not a regular file",
                             url) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath(f"refusing {path}: not a regular file", url)
    os.set_blocking(fd, True)
    return fd


def hash_file(path: Path, url: str, *, limit: int | None = None) -> hashlib._Hash:
    """sha256 of the first ``limit`` bytes (all when None) of a regular file."""
    digest = hashlib.sha256()
    fd = open_regular(path, os.O_RDONLY, url)
    with os.fdopen(fd, "rb") as fh:
        remaining = limit
        while remaining is None or remaining > 0:
            chunk = fh.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
            if not chunk:
                break
            digest.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return digest


def read_head(path: Path, url: str, size: int) -> bytes:
    """The first ``size`` bytes of a regular file."""
    with os.fdopen(open_regular(path, os.O_RDONLY, url), "rb") as fh:
        return fh.read(size)


def stored_name(sha256: str, ext: str) -> str:
    """``ab/ab12....mp4``: where content with this hash lives, relative to the download dir."""
    return f"{sha256[:2]}/{sha256}.{ext}"


def stored_file(dest_dir: Path, relpath: str | None) -> Path | None:
    """The file a recorded path names, only if it has our shape and is a regular file."""
    if not relpath or not _STORED.match(relpath):
        return None
    path = dest_dir / relpath
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return path if stat.S_ISREG(info.st_mode) else None


@dataclass(frozen=True, slots=True)
class Stored:
    """A finished file: where it lives and its modification time (ns) once in place."""

    relpath: str
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Verified:
    """What a read of a whole file found: its sha256, and the size and modification
    time (ns) it had when the read began."""

    sha256: str
    size: int
    mtime_ns: int


def same_stamp(path: Path, size: int | None, mtime_ns: int | None) -> bool:
    """True when ``path`` still has the size and modification time recorded when its
    hash was verified (so its bytes are trusted without being read)."""
    if size is None or mtime_ns is None:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and (info.st_size, info.st_mtime_ns) == (size, mtime_ns)


class DirSync:
    """Directory fsyncs for a batch of renames: each directory fsynced once per flush.

    :meth:`add` notes a directory that a rename changed; :meth:`flush` returns
    once every directory noted before the call is fsynced.  Thread-safe, and a
    group commit: a flush that finds another one running waits for it and then
    syncs what is left, so no caller returns before its own renames are durable.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: set[Path] = set()
        self._noted = 0  # directories noted so far (a ticket count)
        self._synced = 0  # tickets made durable
        self._syncing = False
        self._in_flight: set[Path] = set()
        self.fsyncs = 0

    def waiting(self) -> frozenset[Path]:
        """The directories noted and not yet fsynced (or being fsynced now)."""
        with self._cond:
            return frozenset(self._pending | self._in_flight)

    def add(self, directory: Path) -> int:
        """Note that a rename in ``directory`` is not yet durable; a ticket for
        :meth:`durable`."""
        with self._cond:
            self._pending.add(directory)
            self._noted += 1
            return self._noted

    def durable(self, ticket: int) -> bool:
        """True once the rename noted with ``ticket`` is durable."""
        with self._cond:
            return ticket <= self._synced

    def flush(self) -> None:
        """Return once every directory noted before this call has been fsynced."""
        with self._cond:
            wanted = self._noted
            while self._synced < wanted:
                if self._syncing:
                    self._cond.wait()
                    continue
                batch, self._pending = self._pending, set()
                covered, self._syncing, self._in_flight = self._noted, True, batch
                try:
                    self._sync(batch)
                except BaseException:
                    self._pending |= batch  # still not durable: the next flush tries again
                    raise
                finally:
                    self._syncing, self._in_flight = False, set()
                    self._cond.notify_all()
                self._synced, self.fsyncs = covered, self.fsyncs + len(batch)

    def _sync(self, batch: set[Path]) -> None:
        """fsync each directory of ``batch``, without holding the lock meanwhile.

        Several at a time: the file system commits fsyncs that arrive together
        as one journal transaction, so 256 directories take about the time of
        25 one after another.
        """
        self._cond.release()
        try:
            if len(batch) == 1:
                _fsync_dir(next(iter(batch)))
            elif batch:
                with ThreadPoolExecutor(min(len(batch), SYNC_THREADS)) as pool:
                    list(pool.map(_fsync_dir, sorted(batch)))
        finally:
            self._cond.acquire()


def finalize(files: PartFiles, dest_dir: Path, sha256: str, ext: str, size: int,
             dirsync: DirSync | None = None) -> Stored:
    """Move a complete, fsynced ``.part`` (``size`` bytes hashing to ``sha256`` as they
    were written) into its content-addressed place.

    A file already there is kept only when its own bytes hash to its name;
    otherwise (damaged on disk, or written by something else) the verified
    ``.part`` replaces it.  The returned modification time is that of bytes
    known to hash to ``sha256``.  The new directory entry is durable on return,
    or, with ``dirsync``, once ``dirsync.flush()`` returns.
    """
    relpath = stored_name(sha256, ext)
    subdir = dest_dir / relpath.split("/", 1)[0]
    subdir.mkdir(exist_ok=True)
    if not stat.S_ISDIR(os.lstat(subdir).st_mode):
        raise UnsafePath(f"{subdir} is not a directory", files.url)
    if files.size() != size:
        raise DownloadError(f"{files.part} changed while it was written: {files.size()} "
                            f"bytes, {size} hashed", files.url, code="io_error")
    target = dest_dir / relpath
    mtime_ns = _move_into_place(files, target, sha256)
    with contextlib.suppress(FileNotFoundError):
        files.sidecar.unlink()
    if dirsync is None:
        _fsync_dir(subdir)
    else:
        dirsync.add(subdir)
    return Stored(relpath, mtime_ns)


def _move_into_place(files: PartFiles, target: Path, sha256: str) -> int:
    """Rename the ``.part`` to ``target`` unless verified bytes are already there; the
    modification time of the bytes that stay."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return _replace(files, target)
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePath(f"refusing to replace {target}: not a regular file", files.url)
    there = verified_file(target, files.url)
    if there.sha256 == sha256:
        files.part.unlink()  # same hash, same bytes: already stored once
        return there.mtime_ns
    log.warning("%s did not hash to its name; replaced with the bytes of %s",
                target, files.url)
    return _replace(files, target)


def _replace(files: PartFiles, target: Path) -> int:
    """Rename the ``.part`` over ``target``; its modification time (a rename keeps it)."""
    mtime_ns = os.lstat(files.part).st_mtime_ns
    os.replace(files.part, target)
    return mtime_ns


# (device, inode, size, mtime in ns) -> sha256 of a file this process has read whole.
_VERIFIED: OrderedDict[tuple[int, int, int, int], str] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_MAX = 65536


def verified_file(path: Path, url: str, *, reread: bool = False) -> Verified:
    """The sha256 of a stored file's bytes, with the size and modification time it had
    when the read began (a write during the read changes the time, so the next
    check reads again).  Read once per process for a given size and time (a file
    rewritten or damaged since is read again), or every time with ``reread``."""
    fd = open_regular(path, os.O_RDONLY, url)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with _VERIFIED_LOCK:
            known = None if reread else _VERIFIED.get(key)
        if known is None:
            digest = hashlib.sha256()
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
            known = digest.hexdigest()
    with _VERIFIED_LOCK:
        _VERIFIED[key] = known
        while len(_VERIFIED) > _VERIFIED_MAX:
            _VERIFIED.popitem(last=False)
    return Verified(known, info.st_size, info.st_mtime_ns)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
