"""Which proxy, if any, a request goes through: ``--proxy`` and ``--trust-env``.

:class:`ProxyRoutes` answers per URL.  ``--proxy URL`` sends every request
through one http:// or https:// proxy.  ``--trust-env`` (off by default)
reads the usual variables: ``http_proxy`` / ``HTTP_PROXY`` for http URLs,
``https_proxy`` / ``HTTPS_PROXY`` for https URLs, ``all_proxy`` /
``ALL_PROXY`` for both, and ``no_proxy`` / ``NO_PROXY`` for hosts to reach
directly (lower case wins, as curl reads them); an explicit ``--proxy`` wins
over the variables, ``NO_PROXY`` still applies to it.  Without either, no
variable is read: a shell's proxy settings never change where a cron run
connects.

The address guard still applies to the targets: see
:class:`harvester.net.guard.GuardTransport`.

>>> ProxyRoutes.of("http://proxy.example:3128").proxy_for(httpx.URL("https://a.example/"))
'http://proxy.example:3128'
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from harvester.errors import ConfigError
from harvester.net.redact import redact

__all__ = ["ProxyRoutes"]

_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class ProxyRoutes:
    """Proxy URL per target scheme, and the hosts that bypass it (``NO_PROXY``)."""

    by_scheme: Mapping[str, str] = field(default_factory=dict)
    no_proxy: str = ""

    @classmethod
    def of(cls, proxy: str | None = None, trust_env: bool = False,
           environ: Mapping[str, str] | None = None) -> ProxyRoutes:
        """The routes of ``--proxy`` and, with ``trust_env``, of the environment.

        Raises :class:`ConfigError` for a proxy that is not http:// or https://.
        """
        env = (os.environ if environ is None else environ) if trust_env else {}
        routes = {scheme: _env_proxy(env, scheme) for scheme in _SCHEMES}
        if proxy:
            routes = dict.fromkeys(_SCHEMES, proxy)
        chosen = {scheme: _checked(url) for scheme, url in routes.items() if url}
        return cls(chosen, _env_value(env, "no_proxy"))

    @property
    def urls(self) -> frozenset[str]:
        """Every distinct proxy in use."""
        return frozenset(self.by_scheme.values())

    def proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy for ``url``, or None to connect directly."""
        proxy = self.by_scheme.get(url.scheme)
        if proxy is None:
            return None
        if self.no_proxy and bypassed(url.host, url.port, self.no_proxy):
            return None
        return proxy


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Does ``NO_PROXY`` name ``host``?  Entries are ``*``, names (``example.org`` also
    covers its subdomains, a leading dot is ignored), addresses or CIDR ranges, each
    optionally with ``:port``.

    >>> bypassed("cdn.example.org", 443, "localhost,.example.org")
    True
    """
    host = host.lower().rstrip(".")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if entry == "*":
            return True
        name, want_port = _entry_port(entry)
        if not name or (want_port is not None and want_port != port):
            continue
        if host == name or host.endswith("." + name) or _in_range(host, name):
            return True
    return False


def _entry_port(entry: str) -> tuple[str, int | None]:
    name, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and not name.endswith(":") and "]" not in port:
        return name.strip("[]").lstrip("."), int(port)
    return entry.strip("[]").lstrip("."), None


def _in_range(host: str, entry: str) -> bool:
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def _env_value(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or env.get(name.upper()) or "").strip()


def _env_proxy(env: Mapping[str, str], scheme: str) -> str:
    return _env_value(env, f"{scheme}_proxy") or _env_value(env, "all_proxy")


def _checked(url: str) -> str:
    """``url`` with a scheme (``proxy:3128`` means http), if it is one we can use."""
    if "://" not in url:
        url = "http://" + url
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in _SCHEMES or not parsed.host:
        raise ConfigError(f"proxy {redact(url)} is not usable: only http:// and https:// "
                          "proxies are supported")
    return url
