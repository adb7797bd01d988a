"""Read one page: a local file, or an http(s) URL over the network.

The only page I/O of the harvester.  :func:`fetch` promises:

* redirects are followed by hand, at most ``max_redirects`` hops, only to
  http/https, each hop checked against robots.txt; a loop fails at once;
* the whole exchange (every hop, headers and body) is one attempt, retried by
  tenacity on timeouts, refused connections, dropped or short bodies and
  408/425/429/5xx (not 501/505), with exponential backoff and full jitter;
  ``Retry-After`` (seconds or an HTTP date) is waited for when it is within
  ``retry_after_cap``, and above the cap the page is given up at once with
  code ``http_<status>_deferred`` (a later run may try again);
* the body is decoded here (gzip/deflate only are offered) with a bound on the
  *decoded* size, so a compression bomb stops at ``max_page_bytes``;
* at most ``per_host`` requests run against one host at a time;
* every failure is a :class:`FetchError` with a stable ``code``:
  ``http_<status>``, ``timeout``, ``connect_error``, ``truncated``,
  ``too_many_redirects``, ``too_large``, ``robots_disallowed``, ``bad_scheme``,
  ``bad_url``, ``bad_encoding``, ``not_found``, ``unreadable``.

Page URLs are chosen by the user, so unlike media URLs they are not refused
for naming a private address.
"""

from __future__ import annotations

import os
import random
import stat
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from harvester.config import Config
from harvester.errors import FetchError
from harvester.net.limiter import HostLimiter, shared_limiter
from harvester.net.retry_after import parse_retry_after
from harvester.records import Page, Source

if TYPE_CHECKING:
    from harvester.net.robots import RobotsCache

__all__ = ["BodyReader", "fetch", "make_client", "parse_retry_after", "read_file"]

ACCEPT = ("text/html,application/xhtml+xml,application/ld+json;q=0.9,"
          "application/json;q=0.8,text/plain;q=0.5,*/*;q=0.1")
# Only codings whose output we can bound while decoding (see BodyReader).
ACCEPT_ENCODING = "gzip, deflate"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
                  ".json": "application/json", ".jsonld": "application/ld+json",
                  ".txt": "text/plain"}


class _Retryable(FetchError):
    """A failure another attempt may fix; ``retry_after`` is the server's wish."""

    def __init__(self, message: str, url: str, *, code: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url, code=code)
        self.retry_after = retry_after


# ── local files ────────────────────────────────────────────────────────────


def read_file(source: Source, cfg: Config) -> Page:
    """Read a local page, at most ``cfg.max_page_bytes`` of it."""
    path = source.ref
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise FetchError(f"{path} is not a regular file", path, code="unreadable")
            body = fh.read(cfg.max_page_bytes + 1)
    except FileNotFoundError:
        raise FetchError(_not_found_message(path), path, code="not_found") from None
    except IsADirectoryError:
        raise FetchError(f"{path} is a directory", path, code="unreadable") from None
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}", path, code="unreadable") from None
    if len(body) > cfg.max_page_bytes:
        raise FetchError(f"{path} is larger than the {cfg.max_page_bytes}-byte page cap; "
                         "raise --max-page-bytes to read it", path, code="too_large")
    suffix = os.path.splitext(path)[1].lower()
    return Page(ref=path, url=None, body=body, content_type=_CONTENT_TYPES.get(suffix))


def _not_found_message(path: str) -> str:
    message = f"no such file: {path} (a PAGE is an http(s) URL, a file, a directory or -)"
    first = path.split("/", 1)[0]
    if "." in first and not first.startswith(".") and not os.path.exists(first):
        message += f"; did you mean https://{path} ?"
    return message


# ── the client ─────────────────────────────────────────────────────────────


def make_client(cfg: Config) -> httpx.Client:
    """An HTTP/1.1 client for pages: honest User-Agent, no environment, no auto-redirects."""
    return httpx.Client(
        headers={"User-Agent": cfg.user_agent, "Accept": ACCEPT,
                 "Accept-Encoding": ACCEPT_ENCODING},
        timeout=httpx.Timeout(cfg.timeout),
        # Enough connections for every worker thread; the per-host cap is ours.
        limits=httpx.Limits(max_connections=None,
                            max_keepalive_connections=max(20, cfg.concurrency)),
        trust_env=False, follow_redirects=False, http1=True, http2=False,
    )


# ── bounded body decoding ──────────────────────────────────────────────────


class BodyReader:
    """Decode a raw body chunk by chunk, refusing to produce more than ``limit`` bytes.

    ``zlib``'s ``max_length`` bounds each step, so a 10 KB gzip bomb never
    inflates past ``limit + 1`` bytes in memory.
    """

    def __init__(self, coding: str | None, limit: int, url: str) -> None:
        coding = (coding or "identity").strip().lower()
        if coding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(f"server sent Content-Encoding {coding!r}, which was not asked "
                             "for", url, code="bad_encoding")
        self.url, self.limit, self.total = url, limit, 0
        self._inflate = coding != "identity"
        self._raw_deflate = False
        self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header
        self._parts: list[bytes] = []
        self._head = b""  # input kept until the first output, to retry as raw deflate
        self._raw_total = 0
        self._ended = False  # the compressed stream ended; later bytes are ignored

    def _count(self, data: bytes) -> None:
        self.total += len(data)
        if self.total > self.limit:
            self._parts.append(data[: len(data) - (self.total - self.limit)])
            raise FetchError(f"page is larger than the {self.limit}-byte cap (after "
                             "decompression); raise --max-page-bytes to read it",
                             self.url, code="too_large")
        self._parts.append(data)

    def feed(self, data: bytes) -> None:
        """Decode one raw chunk; raises ``too_large`` or ``bad_encoding``."""
        if not self._inflate:
            self._count(data)
            return
        # Compressed input that yields little or nothing is capped too.
        self._raw_total += len(data)
        if self._raw_total > self.limit + 65536:
            raise FetchError(f"compressed body is larger than the {self.limit}-byte cap",
                             self.url, code="too_large")
        if self._ended:
            return
        if not self.total and len(self._head) < 65536:
            self._head += data
        try:
            try:
                self._feed_zlib(data)
            except zlib.error:
                if self.total or self._raw_deflate:
                    raise
                # Some servers send raw deflate without the zlib header.
                self._raw_deflate = True
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._feed_zlib(self._head)
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}", self.url,
                             code="bad_encoding") from None

    def _feed_zlib(self, data: bytes) -> None:
        while data:
            self._count(self._zlib.decompress(data, self.limit - self.total + 1))
            if self._zlib.eof:
                rest = self._zlib.unused_data
                if len(rest) < 2:
                    return  # too few bytes yet to tell another member from trailing junk
                if rest[:2] != b"\x1f\x8b":
                    self._ended = True  # trailing bytes are ignored, as browsers do
                    return
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)  # next gzip member
                data = rest
            else:
                data = self._zlib.unconsumed_tail

    def prefix(self) -> bytes:
        """The first ``limit`` decoded bytes, also after a ``too_large`` error."""
        return b"".join(self._parts)

    def body(self) -> bytes:
        """Everything decoded so far (a cut compressed stream keeps what was readable)."""
        if self._inflate and not self._zlib.eof:
            self._count(self._zlib.flush())
        return b"".join(self._parts)


# ── fetching ───────────────────────────────────────────────────────────────


def _retryable_status(status: int) -> bool:
    return status in (408, 425, 429) or (500 <= status <= 599 and status not in (501, 505))


def _status_error(response: httpx.Response, url: str, cfg: Config) -> FetchError:
    status = response.status_code
    said = f"server answered {status} {response.reason_phrase}".rstrip()
    if not _retryable_status(status):
        return FetchError(f"{said}; check the URL", url, code=f"http_{status}")
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is not None and wait > cfg.retry_after_cap:
        return FetchError(f"{said} and asks to wait {wait:.0f} s, more than the "
                          f"{cfg.retry_after_cap:.0f} s cap: try again in a later run",
                          url, code=f"http_{status}_deferred")
    return _Retryable(said, url, code=f"http_{status}", retry_after=wait)


def _check_scheme(url: str, hop: int) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(f"cannot read URL {url!r}: {exc}", url, code="bad_url") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        where = "a redirect to" if hop else "URL"
        raise FetchError(f"{where} {url} refused: only http and https pages can be fetched "
                         "(save other pages to a file and give its path)", url,
                         code="bad_scheme")
    return parsed


def _transport_error(exc: httpx.HTTPError, url: str, in_body: bool) -> FetchError:
    """Translate an httpx error; the retryable ones become :class:`_Retryable`."""
    if isinstance(exc, httpx.TimeoutException):
        return _Retryable(f"timed out ({type(exc).__name__}); the server may be slow, "
                          "try a larger --timeout", url, code="timeout")
    if isinstance(exc, httpx.ConnectError):
        return _Retryable(f"cannot connect: {exc}", url, code="connect_error")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        code = "truncated" if in_body else "connection_error"
        return _Retryable(f"connection dropped: {exc}", url, code=code)
    return FetchError(f"HTTP error: {exc}", url, code="http_error")


class _Fetcher:
    """One page fetch: its settings, and what one attempt does."""

    def __init__(self, source: Source, cfg: Config, client: httpx.Client,
                 robots: RobotsCache | None, limiter: HostLimiter,
                 conditional: dict[str, str]) -> None:
        self.source, self.cfg, self.client = source, cfg, client
        self.robots, self.limiter, self.conditional = robots, limiter, conditional
        self.deadline = time.monotonic() + cfg.deadline
        self.attempts = 0

    def attempt(self) -> Page:
        """Follow the redirect chain from the start and read the final body."""
        self.attempts += 1
        url = self.source.ref.strip()
        chain: list[str] = []
        while True:
            parsed = _check_scheme(url, len(chain))
            if self.robots is not None:
                self._check_robots(url)
            chain.append(url)
            with self.limiter.slot(parsed.host):
                page, location = self._request(url)
            if page is not None:
                return page
            assert location is not None
            url = self._next_hop(url, location, chain)

    def _check_robots(self, url: str) -> None:
        assert self.robots is not None
        ok, reason = self.robots.check(url)
        if not ok:
            raise FetchError(f"robots.txt disallows this page for harvester ({reason}); "
                             "fetch it only with the site's permission (--ignore-robots)",
                             url, code="robots_disallowed")

    def _next_hop(self, url: str, location: str, chain: list[str]) -> str:
        target = urljoin(url, location.strip())
        if target in chain:
            raise FetchError(f"redirect loop: {url} leads back to {target}", target,
                             code="too_many_redirects")
        if len(chain) > self.cfg.max_redirects:
            raise FetchError(f"more than {self.cfg.max_redirects} redirects (last to "
                             f"{target}); raise max_redirects if the chain is legitimate",
                             target, code="too_many_redirects")
        return target

    def _request(self, url: str) -> tuple[Page | None, str | None]:
        """One GET: a Page, or ``(None, location)`` for a redirect."""
        in_body = False
        try:
            with self.client.stream("GET", url, headers=self.conditional) as response:
                status = response.status_code
                location = response.headers.get("location")
                if status in REDIRECTS and location:
                    return None, location
                if status == 304 and self.conditional:
                    return self._page(url, response, b""), None
                if not 200 <= status < 300:
                    raise _status_error(response, url, self.cfg)
                in_body = True
                return self._page(url, response, self._read(url, response)), None
        except httpx.HTTPError as exc:
            raise _transport_error(exc, url, in_body) from exc

    def _read(self, url: str, response: httpx.Response) -> bytes:
        coding = response.headers.get("content-encoding")
        length = response.headers.get("content-length", "")
        if (not coding or coding.lower() == "identity") and length.isdigit() \
                and int(length) > self.cfg.max_page_bytes:
            raise FetchError(f"page is {length} bytes, more than the "
                             f"{self.cfg.max_page_bytes}-byte cap; raise --max-page-bytes",
                             url, code="too_large")
        reader = BodyReader(coding, self.cfg.max_page_bytes, url)
        for chunk in response.iter_raw():
            reader.feed(chunk)
            if time.monotonic() > self.deadline:
                raise FetchError(f"still reading after {self.cfg.deadline:.0f} s (deadline); "
                                 "the server is too slow", url, code="timeout")
        return reader.body()

    def _page(self, url: str, response: httpx.Response, body: bytes) -> Page:
        headers = response.headers
        not_modified = response.status_code == 304
        return Page(
            ref=self.source.ref, url=url, body=body,
            content_type=None if not_modified else headers.get("content-type"),
            charset=None if not_modified else response.charset_encoding,
            status=response.status_code,
            etag=headers.get("etag") or (self.conditional.get("If-None-Match")
                                         if not_modified else None),
            last_modified=headers.get("last-modified") or (
                self.conditional.get("If-Modified-Since") if not_modified else None),
        )


def _wait(cfg: Config) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=cfg.backoff_base, max=cfg.backoff_max)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        asked = getattr(exc, "retry_after", None)
        if asked is not None:  # at least what the server asked, plus a little jitter
            return float(asked) + random.uniform(0, min(cfg.backoff_base, cfg.backoff_max))
        return float(backoff(state))

    return wait


def fetch(
    source: Source, cfg: Config, client: httpx.Client, *,
    robots: RobotsCache | None = None, etag: str | None = None,
    last_modified: str | None = None, limiter: HostLimiter | None = None,
) -> Page:
    """GET ``source.ref`` with retries; a 304 gives ``Page(status=304, body=b"")``.

    ``limiter`` defaults to this process's shared limiter for ``cfg.per_host``.
    """
    conditional = {}
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    fetcher = _Fetcher(source, cfg, client, robots, limiter or shared_limiter(cfg.per_host),
                       conditional)
    retrying = Retrying(
        stop=stop_after_attempt(cfg.retries + 1) | stop_after_delay(cfg.deadline),
        wait=_wait(cfg), retry=retry_if_exception_type(_Retryable), reraise=True,
    )
    try:
        return retrying(fetcher.attempt)
    except _Retryable as exc:
        tries = "1 attempt" if fetcher.attempts == 1 else f"{fetcher.attempts} attempts"
        raise FetchError(f"{exc.message} (gave up after {tries})", exc.url,
                         code=exc.code) from exc

