"""Immutable records that pass between the stages.

Each stage is a plain function from one record to the next::

    Source ─fetch→ Page ─find_blobs→ Blob ─repair→ Parsed ─video_nodes→ Candidate
    Candidate ─normalize→ Declared ;  Candidate ─validate→ Validation
    (Candidate, Declared, Validation) → Video ─download→ MediaResult ─probe→ Probe

All records are frozen, slotted and picklable so that they can cross process
and cluster boundaries unchanged: a shard's results are computed on one
machine and merged on another.
Provenance fields are kept out of equality where two records describe the same
thing from different places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utc_now() -> str:
    """The current time as every record writes it: RFC 3339, UTC, whole seconds, ``Z``.

    >>> utc_now()   # doctest: +SKIP
    '2026-11-27T00:15:00Z'
    """
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Syntax(StrEnum):
    """How a VideoObject was written on the page."""

    JSON_LD = "json-ld"
    TEXT = "text"
    MICRODATA = "microdata"
    RDFA = "rdfa"
    OPENGRAPH = "opengraph"
    SITEMAP = "sitemap"


class SourceKind(StrEnum):
    """Where a page comes from."""

    URL = "url"
    FILE = "file"
    WARC = "warc"
    SITEMAP = "sitemap"
    ROBOTS = "robots"


class MediaStatus(StrEnum):
    """Outcome of one media download."""

    DOWNLOADED = "downloaded"
    CACHED = "cached"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    NOT_MEDIA = "not_media"
    DEFERRED = "deferred"
    MEASURED = "measured"
    PROTECTED = "protected"
    LIVE = "live"


class StreamKind(StrEnum):
    """The adaptive streaming format a ``contentUrl`` turned out to be."""

    HLS = "hls"
    DASH = "dash"


class Verdict(StrEnum):
    """Declared value versus measured value."""

    MATCH = "match"
    MISMATCH = "mismatch"
    SWAPPED = "swapped"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SitemapVideo:
    """One ``<video:video>`` of a video sitemap: its XML and its fields (name, text)."""

    raw: str = field(repr=False)
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SitemapHint:
    """What the sitemap that listed a source said about it, and how far it may lead.

    ``trusted`` sources are fetched like a PAGE the user typed (no address
    guard for their own host); when the source is a sitemap, ``hosts`` are the
    hosts its entries may name besides its own and ``trusted_hosts`` the hosts
    the user named that its entries may be on; ``depth`` counts index levels.
    """

    sitemap: str
    depth: int = 0
    lastmod: str | None = None
    trusted: bool = False
    hosts: tuple[str, ...] = ()
    videos: tuple[SitemapVideo, ...] = ()
    trusted_hosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """One PAGE argument, resolved: an http(s) URL, a local file, or a WARC file;
    or a sitemap (``SITEMAP``), or a site whose robots.txt names sitemaps (``ROBOTS``).

    ``hint`` is set on sources a sitemap listed; it is not part of their identity.
    ``trusted`` is False for a URL that a list read from the network names on a
    host other than the list's own or ``--url-prefix``'s: its first hop goes
    through the address guard too, as a link found in a page would.
    """

    ref: str
    kind: SourceKind
    hint: SitemapHint | None = field(default=None, compare=False)
    trusted: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True)
class Page:
    """The bytes of one page and what is known about them.

    ``url`` is the address used to resolve relative links (the final URL after
    redirects, a WARC target URI, or ``None`` for a local file with no base).
    ``ref`` is what the manifest calls the page (URL or path).
    """

    ref: str
    url: str | None
    body: bytes = field(repr=False)
    content_type: str | None = None
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Blob:
    """A piece of markup that may describe one or more videos.

    For JSON-LD and text blobs ``raw`` is the JSON text as found and ``data`` is
    ``None`` until :func:`harvester.extract.repair.repair` parses it.  Microdata, RDFa
    and Open Graph extractors build the object themselves and set ``data``.
    """

    page: str
    syntax: Syntax
    offset: int
    raw: str = field(repr=False, compare=False)
    data: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A blob after parsing: the JSON value plus the repairs it needed.

    ``value`` is ``None`` when nothing could be recovered; ``error`` then says why.
    ``notes`` names damage that was seen but left as found (``stripped-backslashes``).
    """

    blob: Blob
    value: Any = field(repr=False)
    repairs: tuple[str, ...] = ()
    partial: bool = False
    error: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """One VideoObject node found inside a parsed blob.

    ``pointer`` is the JSON pointer of the node inside the blob's value.
    """

    blob: Blob
    data: Mapping[str, Any] = field(repr=False)
    repairs: tuple[str, ...] = ()
    partial: bool = False
    pointer: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Declared:
    """What the page claims about a video, normalised for comparison."""

    name: str | None = None
    content_url: str | None = None
    embed_url: str | None = None
    thumbnail_urls: tuple[str, ...] = ()
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    upload_date: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One validation problem, located by a JSON pointer into the video's data."""

    pointer: str
    message: str


@dataclass(frozen=True, slots=True)
class Validation:
    """Schema findings: errors make the markup wrong, warnings are recommendations."""

    valid: bool
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Video:
    """A VideoObject as the manifest records it (before any download)."""

    id: str
    page: str
    syntax: Syntax
    raw: str = field(repr=False)
    data: Mapping[str, Any] = field(repr=False)
    declared: Declared
    validation: Validation
    repairs: tuple[str, ...] = ()
    partial: bool = False
    pointer: str = ""
    offset: int = 0
    duplicate_of: str | None = None
    #: For a ``sitemap`` record beside the page's own record of the same video:
    #: the declared fields that differ (empty: they match); None when there is none.
    sitemap_vs_page: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A stable error code (``http_404``, ``too_large``, ``timeout`` ...) and a message."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffprobe measured in a local media file."""

    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    frame_rate: float | None = None
    bit_rate: int | None = None
    has_audio: bool | None = None
    format_name: str | None = None
    available: bool = True
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Variant:
    """One rendition a stream offers (an HLS ``EXT-X-STREAM-INF``, a DASH Representation)."""

    width: int | None = None
    height: int | None = None
    bandwidth: int | None = None
    codecs: str | None = None


@dataclass(frozen=True, slots=True)
class MediaResult:
    """Outcome of fetching one media URL into the download directory."""

    url: str
    status: MediaStatus
    path: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    attempts: int = 0
    error: ErrorInfo | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    probe: Probe | None = None
    stream: StreamKind | None = None
    variants: tuple[Variant, ...] = ()
    #: The file's modification time (ns) when its bytes last hashed to ``sha256``: with
    #: ``bytes``, what lets a later run trust the file without reading it (state only).
    mtime_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Checks:
    """Declared versus measured: duration, dimensions and thumbnail size."""

    duration: Verdict = Verdict.UNKNOWN
    dimensions: Verdict = Verdict.UNKNOWN
    thumbnail: Verdict = Verdict.UNKNOWN


@dataclass(frozen=True, slots=True)
class Media:
    """Downloads and measurements for one video."""

    video: MediaResult | None = None
    thumbnail: MediaResult | None = None
    checks: Checks = Checks()


@dataclass(frozen=True, slots=True)
class PageResult:
    """What happened to one page: its videos, or why it failed."""

    ref: str
    videos: tuple[Video, ...] = ()
    error: ErrorInfo | None = None
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_sha256: str | None = None
    skipped: str | None = None
    #: For a sitemap: how many entries it led to and why the others were skipped.
    sitemap: tuple[tuple[str, int], ...] | None = None
