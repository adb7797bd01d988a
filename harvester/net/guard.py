"""The address guard: which hosts a request may reach, checked at every hop and connect.

The host a user names is fetched as given; every other host (a redirect, a
robots.txt elsewhere, a media URL found in a page) is untrusted.  Two layers,
both applied on every redirect hop:

* :func:`check_url` refuses anything but ``http``/``https`` (``file:``, ``ftp:``,
  ``gopher:``, ``data:`` ...) and numeric hosts that name an internal address,
  including the spellings ``inet_aton`` accepts (``2130706433``, ``0x7f.1``,
  ``0177.0.0.1``) which a resolver would quietly turn into ``127.0.0.1``.
* :class:`GuardTransport` sends untrusted requests through a network backend
  that resolves the host once, checks *every* resolved address, and connects
  only to an address it checked: there is no second lookup between check and
  connect, so DNS rebinding cannot slip an internal address in.  Environment
  proxies are used only when asked for (:mod:`harvester.net.proxy`).
* Through a proxy the proxy dials the target, so the target's name is
  resolved and every address checked *before* the request is sent; the
  proxy's own resolution cannot be seen from here, so a name that changes
  its answer in between is the one gap a proxy leaves.  The proxy itself is
  the operator's choice and may sit on any address.

:class:`HostRules` says which internal hosts are allowed anyway
(``--allow-host``, ``--allow-private-hosts``).  The scheme check always holds.
TLS still verifies the certificate against the host name of the URL, since
httpcore passes the origin host as ``server_hostname``.  Every connection
also ends by the attempt's deadline (:mod:`harvester.net.deadline`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from harvester.config import IPNetwork, parse_allowed_hosts
from harvester.errors import BlockedURL
from harvester.net.deadline import DeadlinePassed, bounded, sliced
from harvester.net.proxy import ProxyRoutes

Resolver = Callable[[str, int], list[str]]

#: The request extension that marks a request to the host the user named.
TRUSTED_EXTENSION = "harvester.trusted"
ALLOW_HINT = "use --allow-host HOST or --allow-private-hosts to fetch internal hosts"

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


@dataclass(frozen=True, slots=True)
class HostRules:
    """Which internal hosts may be reached: none by default, some, or all.

    ``allow_hosts`` holds names (``intranet.local``), addresses (``127.0.0.1``)
    and CIDR ranges (``10.1.0.0/16``): a named host is reached whatever it
    resolves to; an address or range allows exactly those addresses, so
    ``127.0.0.1`` stays allowed while ``127.0.0.2`` is still refused.
    ``allow_private`` allows every address.
    """

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names, networks = parse_allowed_hosts(self.allow_hosts)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_networks", networks)

    def names_host(self, host: str) -> bool:
        """Is ``host`` allowed by name (or is every host allowed)?"""
        return self.allow_private or host.lower().rstrip(".").strip("[]") in self._names

    def refusal(self, ip: str) -> str | None:
        """Why dialling ``ip`` is refused under these rules, or None."""
        if self.allow_private:
            return None
        try:
            addr = ipaddress.ip_address(ip.strip("[]"))
        except ValueError:
            return f"not an IP address: {ip!r}"
        if any(addr in network for network in self._networks):
            return None
        return check_address(ip)


TRUSTED = HostRules(allow_private=True)


def check_url(url: str, rules: HostRules = HostRules(), *, trusted: bool = False) -> None:
    """Raise :class:`BlockedURL` unless ``url`` may be fetched (before any connection).

    Only http and https, with a host.  A numeric host naming an internal
    address is refused here, before any lookup, unless ``rules`` allow it or
    the URL is ``trusted`` (the host the user named).
    """
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
    if trusted or rules.names_host(host):
        return
    try:
        literal = numeric_host(host) if ":" not in host else host
    except ValueError as exc:
        raise BlockedURL(str(exc), url) from None
    if literal is not None:
        reason = rules.refusal(literal)
        if reason is not None:
            raise BlockedURL(f"{host} is a {reason} address; {ALLOW_HINT}", url)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class ResolveError(httpcore.ConnectError):
    """The host name did not resolve (NXDOMAIN or resolver failure)."""


def resolve_checked(host: str, port: int, resolver: Resolver, rules: HostRules) -> list[str]:
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
    if not rules.names_host(host):
        for address in addresses:
            reason = rules.refusal(address)
            if reason is not None:
                raise BlockedURL(f"{host} resolves to {address}, a {reason} address; "
                                 f"{ALLOW_HINT}", host)
    return addresses


READ_SIZE = 1 << 20


def _within_deadline(timeout: float | None, late: type[Exception]) -> float | None:
    """``timeout`` cut to the attempt's deadline; ``late`` (an httpcore timeout) after it."""
    try:
        return bounded(timeout)
    except DeadlinePassed as exc:
        raise late(str(exc)) from None


class _GuardedStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the attempt's deadline.

    Reads ask the socket for up to :data:`READ_SIZE` bytes: httpcore asks for
    64 KiB, and on a fast link the per-read cost of h11's parsing and of the
    Python loop would dominate.  A read still returns whatever the socket
    holds, so a slow server is not waited on any longer.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        size = max(max_bytes, READ_SIZE)
        while True:  # in slices, so that a stop of the run is seen while the server is silent
            limit = _within_deadline(timeout, httpcore.ReadTimeout)
            wait = sliced(limit)
            try:
                return self._inner.read(size, wait)
            except httpcore.ReadTimeout:
                if wait == limit or wait is None:
                    raise
                if timeout is not None:
                    timeout -= wait

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _GuardedStream(self._inner.start_tls(ssl_context, server_hostname, limit))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardBackend(httpcore.NetworkBackend):
    """A sync network backend that dials only addresses its rules allow."""

    def __init__(self, rules: HostRules, *, resolver: Resolver = system_resolver) -> None:
        self._rules = rules
        self._resolver = resolver
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._resolver, self._rules)
        last: Exception | None = None
        for address in addresses:  # each one was checked above; try them in order
            limit = _within_deadline(timeout, httpcore.ConnectTimeout)
            try:
                return _GuardedStream(self._inner.connect_tcp(address, port, limit,
                                                              local_address, socket_options))
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _pooled_transport(rules: HostRules, verify: ssl.SSLContext,
                      limits: httpx.Limits, resolver: Resolver) -> httpx.HTTPTransport:
    """An HTTP/1.1 transport, no proxy, whose connections go through :class:`GuardBackend`."""
    transport = httpx.HTTPTransport(verify=verify, trust_env=False, http1=True, http2=False,
                                    limits=limits)
    # httpx builds its own pool without a way to pass a network backend;
    # replace it with one that has the same settings plus the guard.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True, http2=False,
        network_backend=GuardBackend(rules, resolver=resolver),
    )
    return transport


def _proxied_transport(proxy: str, verify: ssl.SSLContext,
                       limits: httpx.Limits, resolver: Resolver) -> httpx.HTTPTransport:
    """An HTTP/1.1 transport through ``proxy`` (forwarding http, tunnelling https).

    The proxy is dialled through :class:`GuardBackend` with every address
    allowed, so each connection still ends by the attempt's deadline.
    """
    transport = httpx.HTTPTransport(verify=verify, trust_env=False, http1=True, http2=False,
                                    limits=limits)
    url = httpx.Proxy(proxy)
    transport._pool = httpcore.HTTPProxy(
        proxy_url=httpcore.URL(scheme=url.url.raw_scheme, host=url.url.raw_host,
                               port=url.url.port, target=url.url.raw_path),
        proxy_auth=url.raw_auth, proxy_headers=url.headers.raw,
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, http1=True, http2=False,
        network_backend=GuardBackend(TRUSTED, resolver=resolver),
    )
    return transport


class GuardTransport(httpx.BaseTransport):
    """Every request through the guard: the host the user named, or every other.

    A request whose extensions carry ``{TRUSTED_EXTENSION: True}`` (the host
    the user typed) may reach any address; every other request is checked
    against ``rules`` at connect time.  Two pools keep the two apart, so a
    connection opened for a trusted host is never reused for an untrusted
    request.  A request that ``proxies`` route through a proxy has its
    target checked before it is sent instead (the proxy connects, not us).

    >>> client = httpx.Client(transport=GuardTransport(HostRules()), trust_env=False)
    """

    def __init__(
        self, rules: HostRules, *, verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits | None = None, resolver: Resolver = system_resolver,
        proxies: ProxyRoutes | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        self._rules, self._resolver = rules, resolver
        self._routes = proxies or ProxyRoutes()
        # One TLS context (loading the CA bundle takes a while) for every pool.
        context = (verify if isinstance(verify, ssl.SSLContext)
                   else httpx.create_ssl_context(verify=verify, trust_env=False))
        self._checked = _pooled_transport(rules, context, limits, resolver)
        self._trusted = _pooled_transport(TRUSTED, context, limits, resolver)
        self._proxied = {proxy: _proxied_transport(proxy, context, limits, resolver)
                         for proxy in self._routes.urls}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        trusted = request.extensions.get(TRUSTED_EXTENSION) is True
        proxy = self._routes.proxy_for(request.url)
        if proxy is None:
            return (self._trusted if trusted else self._checked).handle_request(request)
        if not trusted:
            self._check_target(request)
        return self._proxied[proxy].handle_request(request)

    def _check_target(self, request: httpx.Request) -> None:
        """Resolve the target and check every address, as a direct connect would."""
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            resolve_checked(url.host, port, self._resolver, self._rules)
        except ResolveError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc

    def close(self) -> None:
        for transport in (self._checked, self._trusted, *self._proxied.values()):
            transport.close()
