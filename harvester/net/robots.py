"""robots.txt, fetched once per origin and obeyed for the run's product token.

The product token is the first word of the User-Agent (``harvester`` by
default; ``mybot`` for ``--user-agent "mybot/1.0 (...)"``).  robots.txt is
asked for with the User-Agent and the operator's extra headers, but never
with their credentials (``Authorization``, ``Cookie``): the page's
credentials are not robots.txt's business.

Rules are read and matched by protego (RFC 9309: the longest matching rule
wins, ``Allow`` wins a tie, ``*`` and ``$`` wildcards matched without
backtracking, groups naming the same agent merged).  What an answer means is
the harvester's policy, after RFC 9309:

* 2xx: the rules apply; only the first 500 KiB are parsed, a line cut by that
  limit is dropped;
* up to five redirects are followed, each through the address guard; more,
  or a hop the guard refuses, count as "unavailable";
* 4xx ("unavailable"): everything is allowed; 429 is read as the server
  asking for less traffic and treated like a 5xx;
* 5xx: everything is disallowed for the rest of the run;
* no answer at all (the name does not resolve, the connection is refused,
  the deadline passed): the site's pages fail with that same error code, so
  the report says what is wrong with the host, not that robots.txt forbade
  anything.

>>> robots = RobotsCache(session)                    # doctest: +SKIP
>>> robots.check("https://example.org/news/1.html")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

import httpx
from protego import Protego

from harvester.errors import BlockedURL, FetchError, RemoteError
from harvester.net.body import read_body
from harvester.net.client import Session
from harvester.net.exchange import Request, exchange, host_of
from harvester.net.redact import redact

__all__ = ["MAX_ROBOTS_BYTES", "PRODUCT_TOKEN", "RobotsCache", "parse_robots"]

log = logging.getLogger(__name__)

PRODUCT_TOKEN = "harvester"
MAX_ROBOTS_BYTES = 500 * 1024
MAX_ROBOTS_REDIRECTS = 5


def parse_robots(text: str) -> Protego:
    """The rules of one robots.txt; ``.can_fetch(url, token)`` answers."""
    return Protego.parse(text)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one origin's robots.txt says: rules, a blanket answer, or why it is unreachable."""

    rules: Protego | None
    allow_all: bool
    reason: str
    unreachable: RemoteError | None = None

    def allowed(self, url: str, token: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, token))


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url``, lower case."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}".lower()


class RobotsCache:
    """robots.txt verdicts per origin for one run (thread-safe, one fetch per origin)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._verdicts: dict[str, _Verdict] = {}
        self._loading: dict[str, threading.Lock] = {}

    def check(self, url: str, *, trusted_host: str | None = None) -> None:
        """Raise unless ``url`` may be fetched: ``robots_disallowed``, or the error
        that made the host's robots.txt unreachable (``dns_error``, ``timeout`` ...)."""
        verdict = self._verdict(origin_of(url), trusted_host)
        if verdict.unreachable is not None:
            error = verdict.unreachable
            # The host is what fails: say so, as a fetch of the page itself would.
            raise FetchError(error.message, url, code=error.code, attempts=error.attempts)
        policy = self._session.policy
        token = policy.product_token
        if not verdict.allowed(url, token):
            log.warning("robots.txt disallows %s for %s (%s)",
                        redact(url, policy.redact_params), token, verdict.reason)
            raise FetchError(f"robots.txt disallows this page for {token} ({verdict.reason});"
                             " fetch it only with the site's permission (--ignore-robots)",
                             url, code="robots_disallowed")

    def sitemaps(self, site: str, *, trusted_host: str | None = None) -> list[str]:
        """The ``Sitemap:`` URLs of the robots.txt of ``site``'s origin, as written
        (none when it has no rules); an unreachable robots.txt raises its error."""
        verdict = self._verdict(origin_of(site), trusted_host)
        if verdict.unreachable is not None:
            error = verdict.unreachable
            raise FetchError(error.message, site, code=error.code, attempts=error.attempts)
        return [] if verdict.rules is None else [str(u).strip() for u in verdict.rules.sitemaps]

    def allowed(self, url: str) -> bool:
        """May the run's product token fetch ``url``?  (False also when the host is unreachable.)"""
        try:
            self.check(url)
        except FetchError:
            return False
        return True

    def _verdict(self, origin: str, trusted_host: str | None) -> _Verdict:
        with self._lock:
            verdict = self._verdicts.get(origin)
            if verdict is not None:
                return verdict
            loading = self._loading.setdefault(origin, threading.Lock())
        with loading:  # one thread fetches; the others wait for its answer
            with self._lock:
                verdict = self._verdicts.get(origin)
            if verdict is None:
                verdict = self._load(origin, trusted_host)
                with self._lock:
                    self._verdicts[origin] = verdict
        return verdict

    def _load(self, origin: str, trusted_host: str | None) -> _Verdict:
        url = f"{origin}/robots.txt"
        session = self._session
        request = Request(url, handle=self._read, accept=lambda status: True,
                          trusted_host=trusted_host if host_of(url) == trusted_host else None,
                          max_redirects=MAX_ROBOTS_REDIRECTS, credentials=False)
        try:
            return exchange(session, request)[0]
        except BlockedURL as exc:
            return _Verdict(None, True, f"{url} may not be fetched ({exc.message}): "
                            "treated as absent")
        except RemoteError as exc:
            if exc.code == "too_many_redirects":
                return _Verdict(None, True, f"{url} redirects too often: treated as absent")
            return _Verdict(None, False, f"{url} is unreachable ({exc.message})",
                            unreachable=exc)

    def _read(self, response: httpx.Response, url: str) -> _Verdict:
        status = response.status_code
        if 200 <= status < 300:
            policy = replace(self._session.policy, min_speed=0)
            data = read_body(response, url, policy, limit=MAX_ROBOTS_BYTES, keep_prefix=True)
            if len(data) >= MAX_ROBOTS_BYTES:
                data = data.rsplit(b"\n", 1)[0]  # drop the line the limit cut
            return _Verdict(parse_robots(data.decode("utf-8", errors="replace")), True,
                            f"rules of {url}")
        if status == 429 or status >= 500:
            return _Verdict(None, False, f"{url} answered {status}, so the whole site is "
                            "disallowed for this run; try again later")
        return _Verdict(None, True, f"{url} answered {status}: no rules")
