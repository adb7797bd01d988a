"""The network policy: settings, which failures are worth another attempt, how long to wait.

One policy for pages, robots.txt and media alike:

* transient (retried with backoff): timeouts, refused or dropped connections,
  bodies cut short, and the statuses 408, 425, 429, 500, 502, 503 and 504;
* final: a name that does not resolve (``dns_error``: asking again a second
  later will not make it exist), TLS verification failures, every other
  status, redirect loops, bodies that cannot be decoded or are too large;
* ``Retry-After`` (seconds or an HTTP date) is honoured up to
  ``retry_after_cap``; above it nothing is slept and the request is
  *deferred* (code ``http_<status>_deferred``) for a later run.

The wait between attempts is exponential with jitter, or what the server
asked plus a little jitter, so that a herd of clients does not come back in
the same second.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState

from harvester.config import Config
from harvester.errors import RemoteError

__all__ = ["CREDENTIAL_HEADERS", "RETRY_STATUSES", "Backoff", "Deferred", "NetPolicy",
           "Transient", "is_transient", "parse_count", "parse_retry_after", "product_token",
           "status_error"]

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Headers that prove who we are: never sent to robots.txt or across hosts.
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


def product_token(user_agent: str) -> str:
    """The robots.txt product token of a User-Agent: its first word before any ``/``.

    >>> product_token("mybot/1.0 (+https://example.org/bot)")
    'mybot'
    """
    first = user_agent.strip().split(None, 1)[0] if user_agent.strip() else ""
    return first.split("/", 1)[0] or "harvester"


@dataclass(frozen=True, slots=True)
class NetPolicy:
    """How the network layer behaves for one run (times in seconds, sizes in bytes).

    Built from a :class:`~harvester.config.Config` by :meth:`from_config`, where
    every default lives.
    """

    user_agent: str
    timeout: float
    deadline: float
    retries: int
    max_redirects: int
    backoff_base: float
    backoff_max: float
    retry_after_cap: float
    min_speed: int
    min_speed_window: float
    concurrency: int
    per_host: int
    allow_private_hosts: bool
    allow_hosts: tuple[str, ...]
    proxy: str | None
    trust_env: bool
    headers: tuple[tuple[str, str], ...]
    wait: float
    rate: float
    limit_rate: int
    redact_params: tuple[str, ...]

    @property
    def product_token(self) -> str:
        """The name robots.txt rules are matched against (from the User-Agent)."""
        return product_token(self.user_agent)

    def headers_for(self, *, credentials: bool) -> dict[str, str]:
        """The operator's extra headers; without ``credentials``, none that identify us."""
        return {name: value for name, value in self.headers
                if credentials or name.lower() not in CREDENTIAL_HEADERS}

    @classmethod
    def from_config(cls, cfg: Config) -> NetPolicy:
        """The network settings of ``cfg``, and nothing else of it."""
        return cls(
            user_agent=cfg.user_agent, timeout=cfg.timeout, deadline=cfg.deadline,
            retries=cfg.retries, max_redirects=cfg.max_redirects,
            backoff_base=cfg.backoff_base, backoff_max=cfg.backoff_max,
            retry_after_cap=cfg.retry_after_cap, min_speed=cfg.min_speed,
            min_speed_window=cfg.min_speed_window, concurrency=cfg.concurrency,
            per_host=cfg.per_host, allow_private_hosts=cfg.allow_private_hosts,
            allow_hosts=cfg.allow_hosts, proxy=cfg.proxy, trust_env=cfg.trust_env,
            headers=tuple(_header(line) for line in cfg.headers), wait=cfg.wait,
            rate=cfg.rate, limit_rate=cfg.limit_rate, redact_params=cfg.redact_params)


def _header(line: str) -> tuple[str, str]:
    name, _, value = line.partition(":")
    return name.strip(), value.strip()


class Transient(RemoteError):
    """A failure another attempt may fix; ``retry_after`` is the server's wish, if any."""

    def __init__(self, message: str, url: str, *, code: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url, code=code)
        self.retry_after = retry_after


class Deferred(RemoteError):
    """Not now: the server (or our memory of it) says to come back later.

    Recorded as deferred for a later run; ``retry_after`` is how long the
    server asked us to stay away, if it said.
    """

    def __init__(self, message: str, url: str, *, code: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url, code=code)
        self.retry_after = retry_after


def is_transient(exc: BaseException) -> bool:
    """The retry predicate: only :class:`Transient` failures are tried again."""
    return isinstance(exc, Transient)


def status_error(response: httpx.Response, url: str, policy: NetPolicy) -> RemoteError:
    """The error for a status that is neither success nor redirect."""
    status = response.status_code
    said = f"server answered {status} {response.reason_phrase}".rstrip()
    code = f"http_{status}"
    if status not in RETRY_STATUSES:
        return RemoteError(f"{said}; check the URL", url, code=code)
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is not None and wait > policy.retry_after_cap:
        return Deferred(f"{said} and asks to wait {wait:.0f} s, more than the "
                        f"{policy.retry_after_cap:.0f} s cap: try again in a later run",
                        url, code=f"{code}_deferred", retry_after=wait)
    return Transient(said, url, code=code, retry_after=wait)


# More digits than any real length or wait: such a header value is not believed.
MAX_COUNT_DIGITS = 18
# The longest wait a Retry-After is read as (a year): enough to exceed any cap.
RETRY_AFTER_MAX = 365 * 86400.0


def parse_count(value: str | None) -> int | None:
    """A header's byte count (``Content-Length``): ASCII digits only, at most
    :data:`MAX_COUNT_DIGITS` of them; ``None`` for anything else (absent, negative,
    ``٣``, ``1e3``, two values joined by a comma, a number too long to be true).

    >>> parse_count(" 42 "), parse_count("-1"), parse_count("1, 2"), parse_count("9" * 40)
    (42, None, None, None)
    """
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_COUNT_DIGITS:
        return None
    return int(value)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds asked for by ``Retry-After: 120`` or ``Retry-After: <HTTP-date>``.

    ``now`` is a Unix time (default: the current time); a date in the past
    gives 0.  A date without a zone is read as UTC, as HTTP dates are.  Only
    ASCII digits count as seconds: ``²`` or ``٣`` are not a number here.

    >>> parse_retry_after("7")
    7.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # A wait of more digits than a float holds is still only "longer than any cap".
        if len(value) > MAX_COUNT_DIGITS:
            return RETRY_AFTER_MAX
        return min(float(value), RETRY_AFTER_MAX)
    if not value.isascii():
        return None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        stamp = when.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


class Backoff:
    """tenacity wait: ``Retry-After`` plus a little jitter, else exponential with jitter."""

    def __init__(self, policy: NetPolicy, rng: random.Random | None = None) -> None:
        self._policy = policy
        self._rng = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        wanted = exc.retry_after if isinstance(exc, Transient) else None
        if wanted is not None:
            # Honour the server, and spread a herd of clients a little past it.
            return wanted + self._rng.uniform(0, min(1.0, 0.1 * wanted + 0.05))
        ceiling = min(self._policy.backoff_max,
                      self._policy.backoff_base * 2 ** (state.attempt_number - 1))
        return self._rng.uniform(ceiling / 2, ceiling)
