"""robots.txt, fetched once per origin and obeyed for the product token ``harvester``.

Follows RFC 9309:

* 2xx: the rules apply; only the first 500 KiB are parsed (§2.5), a line cut
  by that limit is dropped;
* up to five redirects are followed (§2.3.1.2); more count as "unavailable";
* 4xx ("unavailable"): everything is allowed; 429 is read as the server
  asking for less traffic and treated like a 5xx;
* 5xx, a timeout or a refused connection ("unreachable"): everything is
  disallowed for the rest of the run (§2.3.1.4);
* the most specific (longest) matching rule wins and ``Allow`` wins a tie
  (§2.2.2), with ``*`` and ``$`` wildcards.  :mod:`urllib.robotparser` reads
  the groups; its first-match order and literal ``*`` are corrected here.

``cfg.ignore_robots`` makes every URL allowed without fetching anything.

>>> robots = RobotsCache(client, cfg)          # doctest: +SKIP
>>> robots.allowed("https://example.org/news/1.html")  # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from harvester.config import Config
from harvester.errors import FetchError
from harvester.inputs.fetch import REDIRECTS, BodyReader
from harvester.net.limiter import HostLimiter, shared_limiter

__all__ = ["MAX_ROBOTS_BYTES", "PRODUCT_TOKEN", "RobotsCache", "parse_robots"]

log = logging.getLogger(__name__)

PRODUCT_TOKEN = "harvester"
MAX_ROBOTS_BYTES = 500 * 1024
MAX_ROBOTS_REDIRECTS = 5


class _Rule:
    """A rule line matched the RFC 9309 way: ``*`` is any run, a final ``$`` anchors.

    It stands in for ``urllib.robotparser.RuleLine`` (same attributes and
    ``applies_to``) inside the parser's entries.
    """

    def __init__(self, path: str, allowance: bool) -> None:
        self.path, self.allowance = path, allowance
        # RuleLine percent-quoted the path, so '*' and '$' arrive as %2A and %24.
        pattern, anchored = path, path.endswith("%24")
        if anchored:
            pattern = pattern[: -len("%24")]
        regex = ".*".join(re.escape(part) for part in pattern.split("%2A"))
        self._regex = re.compile(regex + ("$" if anchored else ""))

    def applies_to(self, filename: str) -> bool:
        return self._regex.match(filename) is not None

    def __str__(self) -> str:
        return ("Allow" if self.allowance else "Disallow") + ": " + self.path


def parse_robots(text: str) -> RobotFileParser:
    """A parser for ``text`` whose rules follow RFC 9309's precedence."""
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    # entries/default_entry/rulelines are undocumented but stable since Python 3.0.
    entries: list[Any] = list(getattr(parser, "entries", []))
    default = getattr(parser, "default_entry", None)
    if default is not None:
        entries.append(default)
    for entry in entries:
        rules = [_Rule(line.path, line.allowance) for line in entry.rulelines]
        # Longest path first, and Allow before Disallow on equal length.
        rules.sort(key=lambda r: (-len(r.path), not r.allowance))
        entry.rulelines = rules
    return parser


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one origin's robots.txt says: rules, or a blanket answer and why."""

    parser: RobotFileParser | None
    allow_all: bool
    reason: str

    def allowed(self, url: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(PRODUCT_TOKEN, url)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    """robots.txt verdicts per origin for one run (thread-safe, one fetch per origin)."""

    def __init__(self, client: httpx.Client, cfg: Config, *,
                 limiter: HostLimiter | None = None) -> None:
        self._client, self._cfg = client, cfg
        self._limiter = limiter or shared_limiter(cfg.per_host)
        self._lock = threading.Lock()
        self._verdicts: dict[str, _Verdict] = {}
        self._loading: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        """May harvester fetch ``url``?"""
        return self.check(url)[0]

    def check(self, url: str) -> tuple[bool, str]:
        """``(allowed, reason)`` for ``url``; the reason explains a refusal."""
        if self._cfg.ignore_robots:
            return True, "robots.txt ignored"
        verdict = self._verdict(_origin(url))
        ok = verdict.allowed(url)
        if not ok:
            log.warning("robots.txt disallows %s (%s)", url, verdict.reason)
        return ok, verdict.reason

    def _verdict(self, origin: str) -> _Verdict:
        with self._lock:
            verdict = self._verdicts.get(origin)
            if verdict is not None:
                return verdict
            loading = self._loading.setdefault(origin, threading.Lock())
        with loading:  # one thread fetches; the others wait for its answer
            with self._lock:
                verdict = self._verdicts.get(origin)
            if verdict is None:
                verdict = self._load(origin)
                with self._lock:
                    self._verdicts[origin] = verdict
        return verdict

    def _load(self, origin: str) -> _Verdict:
        url = f"{origin}/robots.txt"
        for _ in range(MAX_ROBOTS_REDIRECTS + 1):
            try:
                status, location, text = self._get(url)
            except (httpx.HTTPError, FetchError) as exc:
                return _Verdict(None, False, f"{url} is unreachable ({exc}), so RFC 9309 "
                                "disallows the whole site; try again later")
            if status in REDIRECTS and location:
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("http", "https"):
                    break
                continue
            return _verdict_for(url, status, text)
        return _Verdict(None, True, f"{origin}/robots.txt redirects too often: "
                        "treated as absent")

    def _get(self, url: str) -> tuple[int, str | None, str]:
        host = urlsplit(url).hostname or ""
        with self._limiter.slot(host), self._client.stream("GET", url) as response:
            status = response.status_code
            if not 200 <= status < 300:
                return status, response.headers.get("location"), ""
            reader = BodyReader(response.headers.get("content-encoding"),
                                MAX_ROBOTS_BYTES, url)
            try:
                for chunk in response.iter_raw():
                    reader.feed(chunk)
                data = reader.body()
            except FetchError as exc:
                if exc.code != "too_large":
                    raise
                # Parse only the first 500 KiB; drop the line the limit cut.
                data = reader.prefix().rsplit(b"\n", 1)[0]
            return status, None, data.decode("utf-8", errors="replace")


def _verdict_for(url: str, status: int, text: str) -> _Verdict:
    if 200 <= status < 300:
        return _Verdict(parse_robots(text), True, f"rules of {url}")
    if status == 429 or status >= 500:
        return _Verdict(None, False, f"{url} answered {status}, so RFC 9309 disallows "
                        "the whole site; try again later")
    return _Verdict(None, True, f"{url} answered {status}: no rules")
