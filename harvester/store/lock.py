"""One run per state file: a non-blocking, kernel-held exclusive lock.

``RunLock(lock_path)`` takes ``flock(LOCK_EX | LOCK_NB)`` on ``lock_path``
(by convention ``<state>.lock``, see :func:`lock_path_for`) and writes who
holds it (pid, host, start time) into that file.  A second run gets
:class:`~harvester.errors.StateLocked` at once (exit code 75), whose message
names the holder.  The kernel drops the lock
when the holding process dies, even by ``kill -9``, so a crash never leaves a
stale lock behind; the file itself stays (deleting a locked file lets two
processes lock two different inodes).

We use ``fcntl.flock`` rather than ``filelock`` because filelock truncates the
file when it tries to lock it, which would wipe the holder's details just as a
contender wants to read them.

:func:`waiting_lock` is the blocking kind, for workers that share a directory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

from harvester.errors import StateLocked
from harvester.files import waiting_lock as waiting_lock  # the waiting kind, re-exported
from harvester.records import utc_now

log = logging.getLogger(__name__)


def lock_path_for(state_path: str | Path) -> Path:
    """The lock file that guards ``state_path``: the same name plus ``.lock``.

    The name is taken from the file's real path, so a symlink to the state file
    and the file itself share one lock.
    """
    state = Path(os.path.realpath(state_path))
    return state.with_name(state.name + ".lock")


def _holder_text(path: Path) -> str:
    """Describe the holder from the lock file, or say it has not written itself yet."""
    try:
        info = json.loads(path.read_text("utf-8"))
        return f"pid {info['pid']} on {info['host']} since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder details not yet written"


class RunLock:
    """Context manager holding the run lock of one state file.

    >>> with RunLock(lock_path_for("state.sqlite")):   # doctest: +SKIP
    ...     ...  # only this process runs against state.sqlite
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @classmethod
    def for_state(cls, state_path: str | Path) -> RunLock:
        """The lock guarding ``state_path`` (``<state_path>.lock``)."""
        return cls(lock_path_for(state_path))

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise StateLocked naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateLocked(
                f"another run holds the lock: {_holder_text(self.path)} ({self.path})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        try:
            self._write_holder()
        except OSError as exc:  # a full disk: the lock is held, only its label is missing
            log.warning("cannot record the lock holder in %s: %s", self.path, exc.strerror)

    def _write_holder(self) -> None:
        assert self._fd is not None
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}
        data = (json.dumps(info) + "\n").encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        """Drop the lock; the file stays for the next run."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
