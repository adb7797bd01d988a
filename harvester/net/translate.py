"""The one edge where httpx's errors become the harvester's stable codes.

Every request of the network layer passes its httpx and socket errors through
:func:`translate`, so a fault gets the same code and the same retry decision
whether the URL is a page, a robots.txt or a media file:

=====================================  ====================  =========
what happened                          code                  retried
=====================================  ====================  =========
no answer in time, or the deadline     ``timeout``           yes
the name does not resolve              ``dns_error``         no
refused or unreachable                 ``connect_error``     yes
TLS certificate not trusted            ``tls_verify``        no
dropped before the response headers    ``connection_error``  yes
dropped or cut short in the body       ``truncated``         yes
a body that cannot be decoded          ``bad_encoding``      no
a URL httpx cannot use                 ``bad_url``           no
=====================================  ====================  =========

Messages may quote URLs as httpx saw them; :func:`harvester.net.exchange.exchange`,
the one caller, masks their secrets (:mod:`harvester.net.redact`) before
anything outside the network layer sees them.
"""

from __future__ import annotations

import ssl

import httpx

from harvester.errors import BlockedURL, RemoteError
from harvester.net.guard import ResolveError
from harvester.net.policy import Transient

__all__ = ["translate"]


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _resolve_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ResolveError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def translate(exc: Exception, url: str, *, in_body: bool) -> RemoteError:
    """``exc`` (an httpx or socket error) as a RemoteError; :class:`Transient` when
    another attempt may help.  ``in_body`` says the response headers had arrived."""
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return Transient(f"timed out ({type(exc).__name__}); the server may be slow, "
                         "try a larger --timeout", url, code="timeout")
    if isinstance(exc, httpx.ConnectError):
        return _connect_error(exc, url)
    if isinstance(exc, httpx.DecodingError):
        return RemoteError(f"body cannot be decoded: {exc}", url, code="bad_encoding")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return BlockedURL(f"unusable URL {url}: {exc}", url, code="bad_url")
    if isinstance(exc, httpx.TransportError | OSError):
        if in_body:
            return Transient(f"connection dropped in the body: {exc}", url, code="truncated")
        return Transient(f"connection dropped: {exc}", url, code="connection_error")
    return RemoteError(f"HTTP error ({type(exc).__name__}): {exc}", url, code="http_error")


def _connect_error(exc: httpx.ConnectError, url: str) -> RemoteError:
    if _resolve_failure(exc):
        return RemoteError(f"cannot resolve the host name: {exc}; check the URL", url,
                           code="dns_error")
    if _tls_failure(exc):
        return RemoteError(f"TLS certificate not trusted: {exc}", url, code="tls_verify")
    return Transient(f"cannot connect: {exc}", url, code="connect_error")
