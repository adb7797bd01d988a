"""The one HTTP client of a run, and what travels with it.

A :class:`Session` is made once per run (or per shard) and handed to every
stage that touches the network: page fetches, robots.txt and media.  It holds
the httpx client (HTTP/1.1, the address guard as its transport, proxies
only as configured, no automatic redirects: redirects are followed by
:mod:`harvester.net.exchange` so that every hop is checked), the
:class:`~harvester.net.policy.NetPolicy`, the run's per-host limiter (with
its pacing) and the host rules.  Nothing of it is process-wide: two runs in one process share
nothing.

>>> with Session(NetPolicy.from_config(Config())) as session:   # doctest: +SKIP
...     page = fetch(source, session, max_bytes=50_000_000)
"""

from __future__ import annotations

import ssl
import threading
import time
from types import TracebackType

import httpx

from harvester.config import Config
from harvester.net.guard import GuardTransport, HostRules, Resolver, system_resolver
from harvester.net.limiter import HostLimiter, host_key
from harvester.net.policy import NetPolicy
from harvester.net.proxy import ProxyRoutes

__all__ = ["Session", "open_session"]


class Session:
    """The client, policy, per-host limiter, host rules and stop signal of one run
    (thread-safe)."""

    def __init__(self, policy: NetPolicy, *, limiter: HostLimiter | None = None,
                 resolver: Resolver = system_resolver,
                 verify: ssl.SSLContext | str | bool = True,
                 cancel: threading.Event | None = None) -> None:
        self.policy = policy
        #: The run's stop signal: once set, transfers end within about a second.
        self.cancel = cancel or threading.Event()
        self.rules = HostRules(allow_private=policy.allow_private_hosts,
                               allow_hosts=policy.allow_hosts)
        answers = _SharedAnswers(resolver)
        resolver = answers
        self.limiter = limiter or HostLimiter(policy.per_host, wait=policy.wait,
                                              rate=policy.rate, lookup=answers.addresses)
        self._verify = verify
        self._resolver = resolver
        self._proxies = ProxyRoutes.of(policy.proxy, policy.trust_env)
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        """The httpx client, made on first use: its TLS setup (reading the CA store) is
        a cost a run (or a shard) that never touches the network, such as a harvest of
        WARC files, should not pay."""
        client = self._client
        if client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._new_client()
                client = self._client
        return client

    def _new_client(self) -> httpx.Client:
        policy = self.policy
        # Enough pooled connections for every worker thread; the per-host cap is the limiter's.
        limits = httpx.Limits(max_connections=None,
                              max_keepalive_connections=max(20, policy.concurrency))
        transport = GuardTransport(self.rules, verify=self._verify, limits=limits,
                                   resolver=self._resolver, proxies=self._proxies)
        # httpx's own trust_env stays off: the environment is read once, when asked.
        return httpx.Client(
            transport=transport, trust_env=False, follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout, pool=None),
            headers={"User-Agent": policy.user_agent})

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class _SharedAnswers:
    """One resolution per connection, shared by the limiter and the address guard.

    The limiter counts a name's slots against its addresses too, so it must know
    them before the connection is made.  It asks :meth:`addresses`: the name's last
    answer when there is one, else a lookup whose answer (or failure) is pinned for
    the guard's next resolution of that name, so the address the guard checks and
    dials is still the one looked up, and no name is looked up twice for one
    connection.
    """

    PIN_SECONDS = 10.0

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._lock = threading.Lock()
        self._known: dict[str, list[str]] = {}
        self._pinned: dict[str, tuple[float, list[str] | Exception]] = {}

    def __call__(self, host: str, port: int) -> list[str]:
        """The guard's resolver: a pinned answer once, else a fresh lookup."""
        key = host_key(host)
        with self._lock:
            pin = self._pinned.pop(key, None)
        if pin is not None and pin[0] > time.monotonic():
            if isinstance(pin[1], Exception):
                raise pin[1]
            return list(pin[1])
        return self._resolve(key, host, port)

    def addresses(self, host: str) -> list[str]:
        """The limiter's lookup: the addresses ``host`` resolves to (raises when none)."""
        key = host_key(host)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        try:
            found = self._resolve(key, host, 0)
        except (OSError, UnicodeError) as exc:
            self._pin(key, exc)
            raise
        self._pin(key, found)
        return found

    def _resolve(self, key: str, host: str, port: int) -> list[str]:
        found = self._resolver(host, port)
        with self._lock:
            self._known[key] = list(found)
        return found

    def _pin(self, key: str, answer: list[str] | Exception) -> None:
        with self._lock:
            self._pinned[key] = (time.monotonic() + self.PIN_SECONDS, answer)


def open_session(cfg: Config, cancel: threading.Event | None = None) -> Session:
    """A session with the network settings of ``cfg`` (and the run's stop signal)."""
    return Session(NetPolicy.from_config(cfg), cancel=cancel)
