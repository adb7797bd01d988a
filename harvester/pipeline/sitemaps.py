"""Expand sitemaps into the pages they list, lazily, following the sitemaps protocol.

A sitemap reaches a run three ways: ``--sitemap URL``, ``--sitemaps-from-robots
SITE`` (the ``Sitemap:`` lines of its robots.txt), or a PAGE whose fetched
bytes turn out to be a ``urlset`` or ``sitemapindex`` (decided once, on the
bytes already fetched: the page is never fetched twice).  Each becomes an
:class:`Expansion`: the sources it leads to come one at a time from a
streaming parse (memory stays flat in the sitemap's size), and once they are
all out its page entry (status ``sitemap``) says how many pages and sitemaps it
led to and how many entries were skipped, by reason:

* ``relative_loc`` (no scheme, or ``//host/...``), ``bad_scheme`` (not http(s));
* ``off_host``: a URL on another host than the sitemap's own, unless a
  robots.txt on that host named the sitemap (cross-submit); so an index
  entry on another host is never requested;
* ``over_limit``: entries after the protocol's 50,000th;
* ``too_deep``: an index more than :data:`MAX_DEPTH` levels down;
* ``before_since``: a page whose ``lastmod`` is before ``--since``.

Trust: a sitemap the user named is fetched like a PAGE the user typed; the
pages and sitemaps it lists on its own host are trusted like that host, and
everything else passes the address guard.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import BinaryIO
from urllib.parse import urlsplit

from dateutil.parser import isoparse

from harvester.config import Config
from harvester.errors import HarvesterError
from harvester.inputs.fetch import fetch_sitemap
from harvester.inputs.sitemap import MAX_SITEMAP_BYTES, MAX_SITEMAP_URLS, Entry, read_entries
from harvester.net.client import Session
from harvester.net.exchange import host_of
from harvester.net.robots import RobotsCache
from harvester.records import ErrorInfo, PageResult, SitemapHint, Source, SourceKind

__all__ = ["MAX_DEPTH", "Expansion", "expand_body", "expand_robots", "expand_sitemap",
           "lastmod_unchanged", "parse_when", "sitemap_sources"]

log = logging.getLogger("harvester.sitemaps")

#: How many index levels below the sitemap a run starts from are followed.
MAX_DEPTH = 3


@dataclass
class Expansion:
    """A sitemap being expanded: ``children`` come lazily; :meth:`result` is its page
    entry, complete once ``children`` is exhausted."""

    source: Source
    children: Iterator[Source] = field(default_factory=lambda: iter(()))
    counts: Counter[str] = field(default_factory=Counter)
    error: ErrorInfo | None = None

    def result(self) -> PageResult:
        """The sitemap's page entry: its counts, and the error that stopped it, if any
        (also logged, so ``--log-file`` and ``-v`` show what each sitemap led to)."""
        fields = {"sitemap": self.source.ref, **self.counts}
        if self.error is not None:
            fields["error"] = self.error.code
        log.info("sitemap", extra={"fields": fields})
        return PageResult(ref=self.source.ref, error=self.error, skipped="sitemap",
                          sitemap=tuple(sorted(self.counts.items())))


def sitemap_sources(config: Config) -> Iterator[Source]:
    """The sources ``--sitemap`` and ``--sitemaps-from-robots`` name (trusted: typed)."""
    for url in config.sitemaps:
        yield Source(url.strip(), SourceKind.SITEMAP,
                     hint=SitemapHint(sitemap=url.strip(), trusted=True))
    for site in config.sitemaps_from_robots:
        yield Source(site.strip(), SourceKind.ROBOTS)


def expand_sitemap(source: Source, config: Config, session: Session,
                   robots: RobotsCache | None) -> Expansion:
    """Fetch a sitemap source (spooled to a temporary file) and expand it lazily."""
    hint = source.hint or SitemapHint(sitemap=source.ref, trusted=source.trusted)
    try:
        body = fetch_sitemap(source.ref, session, robots=robots, trusted=hint.trusted,
                             max_bytes=MAX_SITEMAP_BYTES)
    except HarvesterError as exc:
        return Expansion(source, error=ErrorInfo(exc.code, exc.message))
    return expand_body(source, body, config, text_allowed=True)


def expand_robots(source: Source, session: Session, robots: RobotsCache | None) -> Expansion:
    """The sitemaps a site's robots.txt names, as sources; they may list pages on the
    site's own host even when they live elsewhere (cross-submit)."""
    site = source.ref if "://" in source.ref else f"https://{source.ref}"
    host = host_of(site)
    expansion = Expansion(source)
    try:
        urls = (robots or RobotsCache(session)).sitemaps(site, trusted_host=host)
    except HarvesterError as exc:
        expansion.error = ErrorInfo(exc.code, exc.message)
        return expansion
    expansion.counts["sitemaps"] = len(urls)
    expansion.children = iter([
        Source(url, SourceKind.SITEMAP, hint=SitemapHint(
            sitemap=site, trusted=host_of(url) == host, hosts=(host,), trusted_hosts=(host,)))
        for url in urls])
    return expansion


def expand_body(source: Source, body: BinaryIO, config: Config, *,
                text_allowed: bool = False) -> Expansion:
    """Expand a sitemap whose bytes are in ``body`` (closed once read)."""
    hint = source.hint or SitemapHint(sitemap=source.ref, trusted=source.trusted and
                                      source.kind is not SourceKind.FILE)
    expansion = Expansion(source)
    if hint.depth > MAX_DEPTH:
        body.close()
        expansion.error = ErrorInfo("too_deep", f"{source.ref} is more than {MAX_DEPTH} "
                                    "sitemap index levels down")
        return expansion
    expansion.children = _children(expansion, hint, body, config, text_allowed)
    return expansion


def _children(expansion: Expansion, hint: SitemapHint, body: BinaryIO, config: Config,
              text_allowed: bool) -> Iterator[Source]:
    """The sources a sitemap leads to; a problem part-way is recorded, not raised."""
    source, counts = expansion.source, expansion.counts
    own = host_of(source.ref) if source.kind is not SourceKind.FILE else ""
    hosts = {own, *hint.hosts} - {""}
    trusted = {*hint.trusted_hosts, *((own,) if hint.trusted else ())} - {""}
    since = parse_when(config.since) if config.since else None
    try:
        for number, entry in enumerate(read_entries(body, source.ref,
                                                     text_allowed=text_allowed), 1):
            reason = _skip_reason(entry, number, hosts, hint, since)
            if reason is not None:
                counts[reason] += 1
                continue
            counts["sitemaps" if entry.is_sitemap else "pages"] += 1
            yield _child(entry, source.ref, hint, tuple(sorted(hosts)), tuple(sorted(trusted)))
    except HarvesterError as exc:
        expansion.error = ErrorInfo(exc.code, exc.message)
    finally:
        body.close()


def _skip_reason(entry: Entry, number: int, hosts: set[str], hint: SitemapHint,
                 since: datetime | None) -> str | None:
    if number > MAX_SITEMAP_URLS:
        return "over_limit"
    parts = urlsplit(entry.loc)
    if not parts.scheme or not parts.netloc:
        return "relative_loc"
    if parts.scheme.lower() not in ("http", "https"):
        return "bad_scheme"
    if hosts and host_of(entry.loc) not in hosts:
        return "off_host"
    if entry.is_sitemap and hint.depth + 1 > MAX_DEPTH:
        return "too_deep"
    if not entry.is_sitemap and since is not None and entry.lastmod:
        modified = parse_when(entry.lastmod, end_of_day=True)
        if modified is not None and modified < since:
            return "before_since"
    return None


def _child(entry: Entry, sitemap: str, hint: SitemapHint, hosts: tuple[str, ...],
           trusted_hosts: tuple[str, ...]) -> Source:
    """A listed page or sitemap: trusted when on a host the user named (the sitemap's
    own, if it was trusted; the site whose robots.txt named it)."""
    listed = entry.is_sitemap
    child = SitemapHint(sitemap=sitemap, depth=hint.depth + 1, lastmod=entry.lastmod,
                        trusted=host_of(entry.loc) in trusted_hosts,
                        hosts=hosts if listed else (), videos=entry.videos,
                        trusted_hosts=trusted_hosts if listed else ())
    if entry.is_sitemap:
        return Source(entry.loc, SourceKind.SITEMAP, hint=child)
    return Source(entry.loc, SourceKind.URL, hint=replace(child, depth=hint.depth))


def parse_when(text: str, *, end_of_day: bool = False) -> datetime | None:
    """A W3C date or date-time as an aware UTC datetime (naive means UTC); None if
    unreadable.  With ``end_of_day`` a bare date means its last second, so a page
    changed later on the day it was fetched is fetched again."""
    try:
        when = isoparse(text.strip())
    except (ValueError, OverflowError):
        return None
    if end_of_day and len(text.strip()) <= 10:
        when += timedelta(days=1, seconds=-1)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def lastmod_unchanged(hint: SitemapHint | None, fetched_at: str) -> bool:
    """Was the page last fetched after the ``lastmod`` its sitemap gives now?

    The state keeps no lastmod of its own (its schema is fixed): the stored
    ``fetched_at`` of the last successful fetch stands in for it.
    """
    if hint is None or not hint.lastmod:
        return False
    modified = parse_when(hint.lastmod, end_of_day=True)
    fetched = parse_when(fetched_at)
    return modified is not None and fetched is not None and modified < fetched
