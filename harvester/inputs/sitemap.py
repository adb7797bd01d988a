"""Read sitemaps, sitemap indexes and video sitemaps as a stream of entries.

:func:`sitemap_kind` decides from a body's first bytes whether it is a
sitemap at all (``urlset``, ``sitemapindex``, or gzip of either), so a page
is fetched once and then either expanded or extracted.  :func:`read_entries`
reads a sitemap from a binary stream with lxml ``iterparse`` and yields one
:class:`Entry` per ``<url>`` or ``<sitemap>``, clearing each element once read:
memory stays flat however long the sitemap is.

What it promises, whatever the bytes:

* at most :data:`MAX_SITEMAP_BYTES` are read after decompression (more is
  ``sitemap_too_large``, raised after the entries before it were yielded);
* no DTD is read and no entity is expanded: a document type declaration
  before the root is refused at once (``xml_entities_refused``), and the
  parser runs with ``resolve_entities=False, no_network=True,
  huge_tree=False``;
* an HTML page served where a sitemap was expected is ``sitemap_is_html``,
  a gzip stream cut short ``truncated_gzip``, broken XML ``bad_xml``, any
  other body ``not_a_sitemap`` -- each a :class:`SitemapError` the caller
  records for that sitemap while the run goes on;
* a byte order mark and whitespace around ``<loc>`` text are ignored.

Entries are yielded as written: which to follow (host, scheme, the 50,000
URL limit) is the caller's decision, so that the reasons can be counted.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from lxml import etree

from harvester.errors import HarvesterError
from harvester.records import SitemapVideo

__all__ = ["MAX_SITEMAP_BYTES", "MAX_SITEMAP_URLS", "VIDEO_NS", "Entry", "SitemapError",
           "read_entries", "sitemap_kind"]

#: The sitemaps protocol's limits for one file (after decompression).
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
VIDEO_NS = "http://www.google.com/schemas/sitemap-video/1.1"

_HEAD = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_PROLOG = rb"(?:<\?[^>]*\?>\s*|<!--.*?-->\s*)*"
_ROOT = re.compile(rb"\s*" + _PROLOG + rb"<(?:[\w.-]+:)?(urlset|sitemapindex)\b", re.DOTALL)
_DOCTYPE = re.compile(rb"\s*" + _PROLOG + rb"<!(?:DOCTYPE|ENTITY)\b", re.DOTALL | re.IGNORECASE)
_HTML = re.compile(rb"\s*" + _PROLOG + rb"<(?:!doctype\s+html|html|head|body)\b",
                   re.DOTALL | re.IGNORECASE)
_TEXT_URL = re.compile(rb"\s*https?://", re.IGNORECASE)


class SitemapError(HarvesterError):
    """A sitemap that cannot be read (or read on); ``code`` names why."""

    code = "bad_sitemap"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``<url>`` (``is_sitemap`` False) or ``<sitemap>`` of a sitemap, as written."""

    loc: str
    lastmod: str | None = None
    videos: tuple[SitemapVideo, ...] = ()
    is_sitemap: bool = False


def sitemap_kind(head: bytes) -> str | None:
    """``"urlset"``, ``"sitemapindex"`` or None for the first bytes of a body.

    A gzipped body is looked into (its first decompressed bytes decide).
    """
    head = _unbom(head)
    if head[:2] == _GZIP_MAGIC:
        try:
            head = _unbom(zlib.decompressobj(31).decompress(head, _HEAD))
        except zlib.error:
            return None
    match = _ROOT.match(head[:_HEAD])
    return match.group(1).decode() if match else None


def read_entries(stream: BinaryIO, url: str, *, text_allowed: bool = False) -> Iterator[Entry]:
    """The entries of the sitemap in ``stream`` (gzipped or not), lazily.

    With ``text_allowed`` a body of URLs one a line (a plain-text sitemap) is
    read too.  Raises :class:`SitemapError` where the body stops being readable.
    """
    body, head = _opened(stream, url)
    if sitemap_kind(head) is not None:
        yield from _xml_entries(body, url)
    elif _HTML.match(head):
        raise SitemapError(f"{url} is an HTML page, not a sitemap", code="sitemap_is_html")
    elif _DOCTYPE.match(head):
        raise SitemapError(f"{url}: a document type declaration before the sitemap's root "
                           "(entity expansion is refused)", code="xml_entities_refused")
    elif text_allowed and _TEXT_URL.match(head):
        yield from _text_entries(body, url)
    else:
        raise SitemapError(f"{url} is not a sitemap (no <urlset> or <sitemapindex>)",
                           code="not_a_sitemap")


def _unbom(head: bytes) -> bytes:
    return head[len(_BOM):] if head.startswith(_BOM) else head


def _opened(stream: BinaryIO, url: str) -> tuple[_Capped, bytes]:
    """The decompressed, capped body and its first bytes (without a BOM)."""
    raw = _Capped(stream, url, limit=None)
    start = raw.peek()
    if start[:2] == _GZIP_MAGIC:
        raw = _Capped(_Gunzip(raw, url), url, limit=MAX_SITEMAP_BYTES)
    else:
        raw.limit = MAX_SITEMAP_BYTES
    head = raw.peek()
    if head.startswith(_BOM):
        raw.skip(len(_BOM))
        head = head[len(_BOM):]
    return raw, head


class _Capped(io.RawIOBase):
    """A readable view of a stream that refuses more than ``limit`` bytes and
    names decompression failures."""

    def __init__(self, inner: BinaryIO | io.RawIOBase, url: str, limit: int | None) -> None:
        super().__init__()
        self.inner, self.url, self.limit = inner, url, limit
        self.total = 0
        self._peeked = b""

    def readable(self) -> bool:
        return True

    def peek(self) -> bytes:
        """The first bytes, kept to be read again."""
        if not self._peeked:
            self._peeked = self._read_inner(_HEAD)
        return self._peeked

    def skip(self, count: int) -> None:
        self._peeked = self._peeked[count:]

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._peeked[:len(buffer)] if self._peeked else self._read_inner(len(buffer))
        self._peeked = self._peeked[len(data):]
        self.total += len(data)
        if self.limit is not None and self.total > self.limit:
            raise SitemapError(f"{self.url}: more than {self.limit} bytes uncompressed, the "
                               "sitemaps protocol's limit", code="sitemap_too_large")
        buffer[:len(data)] = data
        return len(data)

    def _read_inner(self, size: int) -> bytes:
        return self.inner.read(size) or b""


class _Gunzip(io.RawIOBase):
    """Gunzip a stream piece by piece (several members too), handing out every byte
    that came before a cut or a corrupt spot before saying so."""

    def __init__(self, inner: io.RawIOBase, url: str) -> None:
        super().__init__()
        self.inner, self.url = inner, url
        self._z = zlib.decompressobj(31)
        self._input = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while True:
            data = self._inflate(len(buffer))
            if data:
                buffer[:len(data)] = data
                return len(data)
            if self._z.eof and not self._input:
                return 0

    def _inflate(self, size: int) -> bytes:
        if self._z.eof:
            rest = self._z.unused_data + self._input
            if rest[:2] != _GZIP_MAGIC:  # bytes after the last member are ignored
                self._input = b""
                return b""
            self._z, self._input = zlib.decompressobj(31), rest
        if not self._input:
            self._input = self.inner.read(_HEAD) or b""
            if not self._input:
                raise SitemapError(f"{self.url}: the gzip stream ends early (truncated)",
                                   code="truncated_gzip")
        try:
            data = self._z.decompress(self._input, size)
        except zlib.error as exc:
            raise SitemapError(f"{self.url}: corrupt gzip ({exc})", code="bad_gzip") from None
        self._input = self._z.unconsumed_tail
        return data


def _local(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an element tag; comments and PIs give ("", "")."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def _xml_entries(body: _Capped, url: str) -> Iterator[Entry]:
    parser = etree.iterparse(
        io.BufferedReader(body), events=("end",), resolve_entities=False, no_network=True,
        huge_tree=False, load_dtd=False, dtd_validation=False, remove_comments=True,
        remove_pis=True)
    try:
        for _, element in parser:
            ns, name = _local(element.tag)
            if name in ("url", "sitemap") and ns != VIDEO_NS:
                yield _entry(element, is_sitemap=name == "sitemap")
                _forget(element)
    except etree.XMLSyntaxError as exc:
        code = "xml_entities_refused" if "entit" in str(exc).lower() else "bad_xml"
        raise SitemapError(f"{url}: {exc}", code=code) from None


def _forget(element: etree._Element) -> None:
    """Drop a read element and its read siblings, so the tree never grows."""
    element.clear()
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]


def _entry(element: etree._Element, *, is_sitemap: bool) -> Entry:
    loc = lastmod = None
    videos: list[SitemapVideo] = []
    for child in element:
        ns, name = _local(child.tag)
        if name == "loc" and ns != VIDEO_NS:
            loc = (child.text or "").strip()
        elif name == "lastmod":
            lastmod = (child.text or "").strip() or None
        elif ns == VIDEO_NS and name == "video":
            videos.append(_video(child))
    return Entry(loc=loc or "", lastmod=lastmod, videos=tuple(videos), is_sitemap=is_sitemap)


def _video(element: etree._Element) -> SitemapVideo:
    """A ``<video:video>``'s fields (local name → stripped text), in document order."""
    fields: list[tuple[str, str]] = []
    for child in element:
        ns, name = _local(child.tag)
        text = (child.text or "").strip()
        if ns == VIDEO_NS and name and text:
            fields.append((name, text))
    raw = etree.tostring(element, encoding="unicode", with_tail=False)
    return SitemapVideo(raw=raw, fields=tuple(fields))


def _text_entries(body: _Capped, url: str) -> Iterator[Entry]:
    """A plain-text sitemap: one URL a line (blank lines ignored)."""
    reader = io.TextIOWrapper(io.BufferedReader(body), encoding="utf-8", errors="replace")
    for line in reader:
        loc = line.strip()
        if loc:
            yield Entry(loc=loc)
