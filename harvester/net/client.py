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
from types import TracebackType

import httpx

from harvester.config import Config
from harvester.net.guard import GuardTransport, HostRules, Resolver, system_resolver
from harvester.net.limiter import HostLimiter
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
        self.limiter = limiter or HostLimiter(policy.per_host, wait=policy.wait,
                                              rate=policy.rate)
        # Enough pooled connections for every worker thread; the per-host cap is the limiter's.
        limits = httpx.Limits(max_connections=None,
                              max_keepalive_connections=max(20, policy.concurrency))
        transport = GuardTransport(self.rules, verify=verify, limits=limits, resolver=resolver,
                                   proxies=ProxyRoutes.of(policy.proxy, policy.trust_env))
        # httpx's own trust_env stays off: the environment is read once, above, when asked.
        self.client = httpx.Client(
            transport=transport, trust_env=False, follow_redirects=False,
            timeout=httpx.Timeout(policy.timeout, pool=None),
            headers={"User-Agent": policy.user_agent})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_session(cfg: Config, cancel: threading.Event | None = None) -> Session:
    """A session with the network settings of ``cfg`` (and the run's stop signal)."""
    return Session(NetPolicy.from_config(cfg), cancel=cancel)
