"""One deadline per attempt, seen by every socket operation of that attempt.

httpx's timeouts bound each read, so a server that sends its headers or its
body one byte at a time never trips them.  :func:`attempt_deadline` sets the
attempt's end time for the current thread (a context variable: the sync
client reads and writes in the caller's thread), and :func:`bounded` turns a
per-operation timeout into one that never runs past that end time.  The
guarded network stream (:mod:`harvester.net.guard`) asks :func:`bounded`
before every connect, read and write, so connect, headers and body all end
by the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_DEADLINE: ContextVar[float | None] = ContextVar("harvester_attempt_deadline", default=None)


class DeadlinePassed(Exception):
    """The attempt's deadline has passed; callers turn it into their timeout error."""


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[float]:
    """Run the block with a deadline ``seconds`` from now; yields the monotonic end time."""
    end = time.monotonic() + seconds
    token = _DEADLINE.set(end)
    try:
        yield end
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current attempt's deadline (None without one)."""
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


def bounded(timeout: float | None) -> float | None:
    """``timeout`` shortened to the time left; raises :class:`DeadlinePassed` at the end."""
    left = remaining()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlinePassed("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)
