"""One deadline per attempt, and the run's stop signal, seen by every socket operation.

httpx's timeouts bound each read, so a server that sends its headers or its
body one byte at a time never trips them.  :func:`attempt_deadline` sets the
attempt's end time for the current thread (a context variable: the sync
client reads and writes in the caller's thread), and :func:`bounded` turns a
per-operation timeout into one that never runs past that end time.  The
guarded network stream (:mod:`harvester.net.guard`) asks :func:`bounded`
before every connect, read and write, so connect, headers and body all end
by the deadline.

The run's stop signal (:func:`run_cancel`, set by the session for each
attempt) is seen the same way: once it is set, :func:`bounded` raises
:class:`Cancelled`, and waits are cut into slices of at most
:data:`CANCEL_SLICE` seconds so that a transfer notices the signal within
about a second even while the server says nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from harvester.errors import RemoteError

#: The longest a socket wait lasts before the stop signal is looked at again.
CANCEL_SLICE = 0.5

_DEADLINE: ContextVar[float | None] = ContextVar("harvester_attempt_deadline", default=None)
_CANCEL: ContextVar[threading.Event | None] = ContextVar("harvester_run_cancel", default=None)


class Cancelled(RemoteError):
    """The run was asked to stop (Ctrl-C, SIGTERM); not retried, ``.part`` files kept."""

    code = "interrupted"


class DeadlinePassed(Exception):
    """The attempt's deadline has passed; callers turn it into their timeout error."""


@contextmanager
def attempt_deadline(seconds: float, cancel: threading.Event | None = None) -> Iterator[float]:
    """Run the block with a deadline ``seconds`` from now, and ``cancel`` as the run's
    stop signal; yields the monotonic end time."""
    end = time.monotonic() + seconds
    token = _DEADLINE.set(end)
    cancel_token = _CANCEL.set(cancel)
    try:
        yield end
    finally:
        _CANCEL.reset(cancel_token)
        _DEADLINE.reset(token)


def check_cancelled(url: str = "") -> None:
    """Raise :class:`Cancelled` when the run has been asked to stop."""
    cancel = _CANCEL.get()
    if cancel is not None and cancel.is_set():
        raise Cancelled("the run was interrupted", url)


def sliced(timeout: float | None) -> float | None:
    """The wait to use for one slice of ``timeout``: short while a stop can come."""
    if _CANCEL.get() is None:
        return timeout
    return CANCEL_SLICE if timeout is None else min(timeout, CANCEL_SLICE)


def remaining() -> float | None:
    """Seconds left before the current attempt's deadline (None without one)."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


def bounded(timeout: float | None) -> float | None:
    """``timeout`` shortened to the time left; raises :class:`DeadlinePassed` at the end,
    :class:`Cancelled` once the run has been asked to stop."""
    check_cancelled()
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlinePassed("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)
