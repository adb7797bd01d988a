"""Which failures are worth another attempt, and how long to wait before it.

Follows curl's rules: timeouts, dropped connections, DNS errors, refused
connections and 408/429/500/502/503/504 are retried with exponential backoff
and jitter; ``Retry-After`` (seconds or an HTTP date) is honoured up to
``retry_after_cap``; above the cap we do not sleep at all and the item is
*deferred* (code ``http_<status>_deferred``) and the caller cools the host
down for the rest of the run.  401/403/404/410 and every other
4xx, TLS verification failures, redirect loops and decoding errors are final.
"""

from __future__ import annotations

import random
import ssl

import httpx
from tenacity import RetryCallState

from harvester.config import Config
from harvester.errors import DownloadError
from harvester.net.guard import ResolveError
from harvester.net.retry_after import parse_retry_after

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class Transient(DownloadError):
    """A failure another attempt may fix; ``retry_after`` is the server's wish, if any."""

    def __init__(self, message: str, url: str, *, code: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url, code=code)
        self.retry_after = retry_after


class Deferred(DownloadError):
    """Not now: the server (or our memory of it) says to come back later.

    The item is recorded as deferred for a later run; ``retry_after`` is how
    long the server asked us to stay away, if it said.
    """

    def __init__(self, message: str, url: str, *, code: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url, code=code)
        self.retry_after = retry_after


def status_error(response: httpx.Response, url: str, cfg: Config) -> DownloadError:
    """The error for a final non-success status: transient, deferred or permanent."""
    status = response.status_code
    code = f"http_{status}"
    if status not in RETRY_STATUSES:
        return DownloadError(f"server answered {status} {response.reason_phrase}", url, code=code)
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is not None and wait > cfg.retry_after_cap:
        return Deferred(
            f"server answered {status} and asks to wait {wait:.0f} s, more than the "
            f"{cfg.retry_after_cap:.0f} s cap: deferred to a later run", url,
            code=f"{code}_deferred", retry_after=wait)
    return Transient(f"server answered {status} {response.reason_phrase}", url,
                     code=code, retry_after=wait)


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate(exc: httpx.HTTPError, url: str, *, in_body: bool) -> DownloadError:
    """An httpx error as a DownloadError with a stable code (Transient when retryable)."""
    if isinstance(exc, httpx.TimeoutException):
        return Transient(f"timed out: {exc}", url, code="timeout")
    if isinstance(exc, httpx.ConnectError):
        if _tls_failure(exc):
            return DownloadError(f"TLS certificate not trusted: {exc}", url, code="tls_verify")
        if isinstance(exc.__cause__, ResolveError):
            return Transient(str(exc), url, code="dns_error")
        return Transient(f"cannot connect: {exc}", url, code="connect_error")
    if isinstance(exc, httpx.RemoteProtocolError):
        code = "truncated" if in_body else "protocol_error"
        return Transient(f"connection broke: {exc}", url, code=code)
    if isinstance(exc, httpx.DecodingError):
        return DownloadError(f"body cannot be decoded: {exc}", url, code="bad_encoding")
    if isinstance(exc, httpx.NetworkError):
        return Transient(f"connection lost: {exc}", url, code="connection_lost")
    if isinstance(exc, httpx.TooManyRedirects):
        return DownloadError(str(exc), url, code="too_many_redirects")
    return DownloadError(f"{type(exc).__name__}: {exc}", url, code="http_error")


def is_transient(exc: BaseException) -> bool:
    """tenacity's retry predicate."""
    return isinstance(exc, Transient)


class Backoff:
    """tenacity wait: ``Retry-After`` plus a little jitter, else exponential with jitter."""

    def __init__(self, cfg: Config, rng: random.Random | None = None) -> None:
        self._cfg = cfg
        self._rng = rng or random.Random()

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        wanted = exc.retry_after if isinstance(exc, Transient) else None
        if wanted is not None:
            # Honour the server, and spread a herd of clients a little past it.
            return wanted + self._rng.uniform(0, min(1.0, 0.1 * wanted + 0.05))
        ceiling = min(self._cfg.backoff_max,
                      self._cfg.backoff_base * 2 ** (state.attempt_number - 1))
        return self._rng.uniform(ceiling / 2, ceiling)
