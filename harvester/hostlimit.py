"""A per-host concurrency limit shared by every thread of one process.

``httpx.Limits`` caps connections per client, not per host, so a run with
``--concurrency 16`` over one site would open 16 connections to it.  A
:class:`HostLimiter` hands out at most ``per_host`` slots per host name;
extra callers wait in :meth:`HostLimiter.slot` until one is free.

>>> limiter = HostLimiter(2)
>>> with limiter.slot("example.org"):
...     limiter.active("example.org")
1

The limiter holds thread locks, which cannot cross a process boundary.  It
pickles as its settings only, so each process (or cluster worker) that
receives one gets a fresh limiter of its own: the cap then holds per
process, which is the most a local lock can promise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["HostLimiter", "host_key", "shared_limiter"]


def host_key(host: str) -> str:
    """The name a host is counted under: lower case, without a trailing dot."""
    return host.lower().rstrip(".")


class HostLimiter:
    """At most ``per_host`` concurrent holders of a slot per host (thread-safe)."""

    def __init__(self, per_host: int) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, got {per_host}")
        self.per_host = per_host
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._active: dict[str, int] = {}

    def _semaphore(self, key: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._semaphores.get(key)
            if sem is None:
                sem = self._semaphores[key] = threading.BoundedSemaphore(self.per_host)
            return sem

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s slots for the duration of the ``with`` block."""
        key = host_key(host)
        sem = self._semaphore(key)
        with sem:
            with self._lock:
                self._active[key] = self._active.get(key, 0) + 1
            try:
                yield
            finally:
                with self._lock:
                    self._active[key] -= 1

    def active(self, host: str) -> int:
        """How many slots of ``host`` are held right now (for logs and tests)."""
        with self._lock:
            return self._active.get(host_key(host), 0)

    def __getstate__(self) -> dict[str, Any]:
        return {"per_host": self.per_host}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(int(state["per_host"]))  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"HostLimiter(per_host={self.per_host})"


_SHARED: dict[int, HostLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(per_host: int) -> HostLimiter:
    """This process's limiter for ``per_host``: page fetches and robots.txt share it.

    Callers that are not handed a limiter use this one, so every thread of a
    run counts against the same per-host cap without threading it through
    every signature.
    """
    with _SHARED_LOCK:
        limiter = _SHARED.get(per_host)
        if limiter is None:
            limiter = _SHARED[per_host] = HostLimiter(per_host)
        return limiter
