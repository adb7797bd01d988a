"""Server-side request forgery guard for media URLs found in untrusted pages.

Two layers, both used on every redirect hop:

* :func:`check_url` refuses anything but ``http``/``https`` (``file:``, ``ftp:``,
  ``gopher:``, ``data:`` ...) and numeric hosts that name an internal address,
  including the spellings ``inet_aton`` accepts (``2130706433``, ``0x7f.1``,
  ``0177.0.0.1``) which a resolver would quietly turn into ``127.0.0.1``.
* :class:`GuardTransport` is an ``httpx.HTTPTransport`` whose network backend
  resolves the host once, checks *every* resolved address with
  :func:`check_address`, and connects only to an address it checked.  There is
  no second lookup between check and connect, so DNS rebinding cannot slip an
  internal address in.  ``trust_env`` is off so a proxy from the environment
  cannot bypass the check.

``allow_private=True`` (``--allow-private-hosts``) turns the address checks off
but keeps the scheme check.  TLS still verifies the certificate against the host
name of the URL, since httpcore passes the origin host as ``server_hostname``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from harvester.errors import BlockedURL

Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Hosts made only of digits, hex and dots are addresses to inet_aton, not names.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to: mapped, 6to4, Teredo, NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "shared (CGNAT)"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    return next((reason for hit, reason in checks if hit), None)


def check_address(ip: str) -> str | None:
    """Why connecting to ``ip`` is refused, or ``None`` when it is a public address.

    >>> check_address("169.254.169.254")
    'link-local'
    >>> check_address("::ffff:10.0.0.1")
    'private (IPv4 10.0.0.1 inside ::ffff:a00:1)'
    """
    try:
        addr = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return f"not an IP address: {ip!r}"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "scoped (zone) address"
        inner = _embedded_v4(addr)
        if inner is not None:  # the packet ends up at the IPv4 address: judge that one
            reason = _refusal(inner)
            return None if reason is None else f"{reason} (IPv4 {inner} inside {addr})"
    return _refusal(addr)


def numeric_host(host: str) -> str | None:
    """The IPv4 address a numeric host spells (``0x7f.1`` -> ``127.0.0.1``), else None.

    Raises :class:`ValueError` when the host looks numeric but is not a valid
    address (``999.1.1.1``): a resolver's reading of it cannot be predicted.
    """
    host = host.rstrip(".")
    if not _NUMERIC_HOST.match(host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host))
    except OSError:
        raise ValueError(f"malformed numeric host {host!r}") from None


def check_url(url: str, *, allow_private: bool = False) -> None:
    """Raise :class:`BlockedURL` unless ``url`` may be fetched (before any connection)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise BlockedURL(f"unreadable URL: {exc}", url, code="bad_url") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedURL(f"scheme {scheme or '(none)'!r} is not allowed: only http and https",
                         url, code="blocked_scheme")
    if not host:
        raise BlockedURL("URL has no host", url, code="bad_url")
    if allow_private:
        return
    try:
        literal = numeric_host(host) if ":" not in host else host
    except ValueError as exc:
        raise BlockedURL(str(exc), url) from None
    if literal is not None:
        reason = check_address(literal)
        if reason is not None:
            raise BlockedURL(f"{host} is a {reason} address; use --allow-private-hosts "
                             "to fetch internal hosts", url)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class ResolveError(httpcore.ConnectError):
    """The host name did not resolve (NXDOMAIN or resolver failure)."""


def resolve_checked(host: str, port: int, resolver: Resolver, *, allow_private: bool) -> list[str]:
    """Resolve once and check every address; the returned list is what may be dialled.

    One bad address refuses the host: a name that resolves to both a public and
    an internal address is the shape of a rebinding attack.
    """
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise ResolveError(f"cannot resolve {host!r}: {exc}") from exc
    if not addresses:
        raise ResolveError(f"cannot resolve {host!r}: no addresses")
    if not allow_private:
        for address in addresses:
            reason = check_address(address)
            if reason is not None:
                raise BlockedURL(f"{host} resolves to {address}, a {reason} address; use "
                                 "--allow-private-hosts to fetch internal hosts", host)
    return addresses


READ_SIZE = 1 << 20


class _LargeReads(httpcore.NetworkStream):
    """A stream that asks the socket for up to :data:`READ_SIZE` bytes per read.

    httpcore reads 64 KiB at a time; on a fast link the per-read cost of h11's
    parsing and of Python's loop then dominates (a 1 GiB download is 16,384
    reads).  Reading up to 1 MiB when that much has arrived cuts the reads,
    and the bytes copied per read, by up to 16: a loopback download ran about
    twice as fast.  A read still returns whatever the socket holds, so a slow
    server is not waited on any longer.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max(max_bytes, READ_SIZE), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _LargeReads(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardBackend(httpcore.NetworkBackend):
    """A sync network backend that dials only addresses it has checked."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._resolver, allow_private=self._allow_private)
        last: Exception | None = None
        for address in addresses:  # each one was checked above; try them in order
            try:
                return _LargeReads(self._inner.connect_tcp(address, port, timeout,
                                                           local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for media")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (HTTP/1.1 only, no proxy) over :class:`GuardBackend`.

    >>> client = httpx.Client(transport=GuardTransport(allow_private=False), trust_env=False)
    """

    def __init__(
        self, *, allow_private: bool, verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits | None = None, resolver: Resolver = system_resolver,
    ) -> None:
        limits = limits or httpx.Limits()
        super().__init__(verify=verify, trust_env=False, http1=True, http2=False, limits=limits)
        # httpx builds its own pool without a way to pass a network backend;
        # replace it with one that has the same settings plus the guard.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=False,
            network_backend=GuardBackend(allow_private=allow_private, resolver=resolver),
        )
