"""A per-host concurrency limit shared by every thread of one run.

``httpx.Limits`` caps connections per client, not per host, so a run with
``--concurrency 16`` over one site would open 16 connections to it.  A
:class:`HostLimiter` hands out at most ``per_host`` slots per host name;
extra callers wait in :meth:`HostLimiter.slot` until one is free.  A host
that asks us to slow down gets fewer slots (:meth:`HostLimiter.reduce`) or
none for a while (:meth:`HostLimiter.cool_down`).  With ``wait`` or ``rate``
the starts of requests to one host are also spaced out (:meth:`HostLimiter.slot`
sleeps until the host's next turn), while other hosts go on in parallel.

>>> limiter = HostLimiter(2)
>>> with limiter.slot("example.org"):
...     limiter.active("example.org")
1
>>> limiter.reduce("example.org"), limiter.limit("example.org")
(1, 1)

Hosts are counted by what they are, not how they are spelled: ``127.1``,
``2130706433``, ``[::ffff:127.0.0.1]`` and ``127.0.0.1.`` are one host
(:func:`host_key`), and with a ``lookup`` a name also counts against each
address it resolves to.  The session's lookup shares its answers with the
address guard, so a connection's name is still resolved once, and the address
checked is the one dialled.

The limiter holds thread locks, which cannot cross a process boundary.  It
pickles as its settings only, so each process (or cluster worker) that
receives one gets a fresh limiter of its own: the cap then holds per
process, which is the most a local lock can promise.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from harvester.net.guard import numeric_host

__all__ = ["HostLimiter", "host_key"]

#: Host name -> the addresses it resolves to (raises OSError when it does not).
AddressLookup = Callable[[str], list[str]]


def host_key(host: str) -> str:
    """The name a host is counted under, the same for every spelling of it: lower
    case, without a trailing dot or IPv6 brackets; a numeric IPv4 host in dotted
    form (``127.1``, ``2130706433`` and ``0x7f.0.0.1`` are ``127.0.0.1``); an IPv6
    address compressed, or as the IPv4 address it maps (``::ffff:127.0.0.1``).

    >>> [host_key(h) for h in ("Example.ORG.", "127.1", "[::ffff:7f00:1]", "[::1]")]
    ['example.org', '127.0.0.1', '127.0.0.1', '::1']
    """
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    with contextlib.suppress(ValueError):
        dotted = numeric_host(name)
        if dotted is not None:
            return dotted
    return _address_key(name) or name


def _address_key(text: str) -> str | None:
    """The canonical text of an IP address, IPv4-mapped IPv6 as IPv4; ``None`` for a name."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class HostLimiter:
    """At most ``limit(host)`` concurrent holders of a slot per host (thread-safe).

    Every host starts at ``per_host``.  A host that answers "too many
    requests" can be slowed down for the rest of the run: :meth:`reduce`
    halves its limit (never below one) and :meth:`cool_down` marks it as not
    to be asked again before a time; :meth:`cooling` tells callers to defer
    instead of sending a request.

    Pacing: consecutive requests to one host start at least ``1 / rate``
    seconds apart, and at least ``wait`` times a random factor between 0.5 and
    1.5 apart (so requests do not fall into a regular beat a site could spot
    or be hurt by); the longer of the two holds.
    """

    def __init__(self, per_host: int, *, wait: float = 0.0, rate: float = 0.0,
                 rng: random.Random | None = None, lookup: AddressLookup | None = None) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, got {per_host}")
        if wait < 0 or rate < 0:
            raise ValueError(f"wait and rate must be 0 or more, got {wait} and {rate}")
        self.per_host = per_host
        self.wait, self.rate = wait, rate
        self._rng = rng or random.Random()
        self._next_start: dict[str, float] = {}
        self.lookup = lookup
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._limits: dict[str, int] = {}
        self._active: dict[str, int] = {}
        self._cool_until: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s slots for the duration of the ``with`` block.

        The slot is counted under the host's name and, with a ``lookup``, under
        every address the name resolves to, so two names of one server
        (``localhost`` and ``127.0.0.1``) share its cap; a holder waits until every
        one of its keys has a free slot.
        """
        keys = self._keys(host)
        with self._freed:
            # A limit lowered while we wait is the one we wait for.
            self._freed.wait_for(lambda: all(self._active.get(k, 0) < self._limit(k)
                                             for k in keys))
            for key in keys:
                self._active[key] = self._active.get(key, 0) + 1
        try:
            self._pace(keys[0])  # paced per name, as the operator named the host
            yield
        finally:
            with self._freed:
                for key in keys:
                    self._active[key] -= 1
                self._freed.notify_all()

    def _pace(self, key: str) -> None:
        """Sleep until ``key``'s next turn, then book the turn after it from now.

        The turn is taken when the sleeper wakes, not booked ahead: a thread that
        wakes late (a busy machine) pushes the next turn back rather than leaving
        the next request's time to come right after its own.
        """
        if self.wait <= 0 and self.rate <= 0:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                turn = self._next_start.get(key, now)
                if turn <= now:
                    self._next_start[key] = now + self._gap()
                    return
            time.sleep(turn - now)

    def _gap(self) -> float:
        """The time from one request's start to the next one's, jittered (under the lock)."""
        jittered = self.wait * self._rng.uniform(0.5, 1.5) if self.wait > 0 else 0.0
        return max(jittered, 1.0 / self.rate if self.rate > 0 else 0.0)

    def _keys(self, host: str) -> tuple[str, ...]:
        """The name key of ``host`` and the keys of the addresses it resolves to."""
        key = host_key(host)
        if self.lookup is None or _address_key(key) is not None:
            return (key,)
        try:
            found = self.lookup(key)
        except (OSError, UnicodeError, ValueError):
            found = []  # the connect will fail and say why; count the name alone
        return tuple(dict.fromkeys((key, *(host_key(a) for a in found))))

    def _limit(self, key: str) -> int:
        return self._limits.get(key, self.per_host)

    def limit(self, host: str) -> int:
        """How many slots ``host`` may hold at once right now."""
        with self._lock:
            return self._limit(host_key(host))

    def reduce(self, host: str) -> int:
        """Halve ``host``'s limit (down to 1) and return the new one.

        Held slots are not taken back; new holders wait until fewer than the
        new limit are active.
        """
        key = host_key(host)
        with self._lock:
            lowered = self._limits[key] = max(1, self._limit(key) // 2)
            return lowered

    def cool_down(self, host: str, until: float) -> None:
        """Ask nothing of ``host`` before ``until`` (a ``time.monotonic()`` value)."""
        key = host_key(host)
        with self._lock:
            self._cool_until[key] = max(until, self._cool_until.get(key, until))

    def cooling(self, host: str) -> float | None:
        """Seconds ``host`` is still cooling down for, or ``None`` when it may be asked."""
        with self._lock:
            until = self._cool_until.get(host_key(host))
        left = None if until is None else until - time.monotonic()
        return left if left is not None and left > 0 else None

    def active(self, host: str) -> int:
        """How many slots of ``host`` are held right now (for logs and tests)."""
        with self._lock:
            return self._active.get(host_key(host), 0)

    def __getstate__(self) -> dict[str, Any]:
        return {"per_host": self.per_host, "wait": self.wait, "rate": self.rate}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(int(state["per_host"]), wait=float(state.get("wait", 0.0)),  # type: ignore[misc]
                      rate=float(state.get("rate", 0.0)))

    def __repr__(self) -> str:
        return f"HostLimiter(per_host={self.per_host}, wait={self.wait:g}, rate={self.rate:g})"
