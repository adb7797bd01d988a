"""WARC files as pages: each HTML response record becomes a :class:`Page`.

Reads plain and gzip-per-record WARC (and ARC) files with warcio, streaming:
a record's body is read once, capped at ``config.max_page_bytes``, and never
the whole file.  The record's ``WARC-Target-URI`` is the page URL, and its
HTTP ``Content-Type`` travels with the page (its charset decodes the body).
A path may be a local file or any fsspec URL (``s3://bucket/crawl.warc.gz``
with s3fs installed); ``opener`` replaces how it is opened (a run opens
http(s) URLs through its own network layer: :mod:`harvester.inputs.remote`).

A truncated or corrupt record costs only itself: it is counted in
:attr:`WarcReader.bad_records` and reading resumes at the next record that
starts cleanly (the next gzip member holding ``WARC/``, or the next
``WARC/1.`` line in an uncompressed file).

warcio rather than FastWARC: FastWARC reads records faster, but warcio tells
us what we promise to report: the offset of each record (to resynchronise
after damage), bodies shorter than declared (truncation) and records longer
than declared; it also reads ARC files and is pure Python.  Both libraries
stop at the first damaged gzip member, so resynchronising is ours either way.
docs/scale.md weighs the speed against those reports.

A record whose body is larger than ``max_bytes`` is skipped, like a record
that is not HTML: it is not a page this run reads.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.config import Config
from harvester.errors import FetchError
from harvester.records import Page, Source

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/ld+json")
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = b"WARC/1."
_SCAN_BLOCK = 1 << 20
#: Errors warcio and zlib raise on damaged input (never a bare except).
_DAMAGE = (ArchiveLoadFailed, ValueError, OSError, EOFError, zlib.error)


class _QuietIterator(ArchiveIterator):  # type: ignore[misc]
    """warcio's iterator without its stderr warning; the reader counts ``err_count``."""

    INC_RECORD = ""


def _is_html(content_type: str | None) -> bool:
    """Response bodies worth extracting; a missing type is sniffed later by extract()."""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


@contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """A seekable binary stream on a local path or an fsspec URL."""
    if "://" in path and not path.startswith("file://"):
        import fsspec

        with fsspec.open(path, "rb") as stream:
            yield stream
    else:
        with open(path.removeprefix("file://"), "rb") as stream:
            yield stream


@dataclass
class WarcReader:
    """Iterate the HTML response records of one WARC file as pages.

    >>> reader = WarcReader("crawl.warc.gz")          # doctest: +SKIP
    >>> pages = list(reader.pages()); reader.bad_records   # doctest: +SKIP
    0
    """

    path: str
    max_bytes: int = 50 * 1024**2
    records: int = 0
    bad_records: int = 0
    problems: list[str] = field(default_factory=list)
    opener: Callable[[str], AbstractContextManager[IO[bytes]]] = open_binary

    def pages(self) -> Iterator[Page]:
        try:
            with self.opener(self.path) as stream:
                yield from self._read(stream)
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            raise FetchError(f"cannot read WARC {self.path}: {exc.strerror or exc}",
                             self.path, code="unreadable") from None

    def _read(self, stream: IO[bytes]) -> Iterator[Page]:
        gzipped = stream.read(2) == _GZIP_MAGIC[:2]
        start: int | None = 0
        while start is not None:
            stream.seek(start)
            iterator = _QuietIterator(stream, no_record_parse=False, check_digests=False)
            try:
                for record in iterator:
                    page = self._page(record)
                    if page is not None:
                        yield page
                    if iterator.err_count:  # a record longer or shorter than it declared
                        iterator.err_count = 0
                        self._bad(f"record before byte {iterator.offset}: length mismatch")
                failed_at = iterator.offset
                if stream.seek(0, 2) <= failed_at:
                    return
                # warcio stops quietly at a record cut short: the bytes left are a loss
                self._bad(f"record at byte {failed_at}: incomplete record")
            except _DAMAGE as exc:
                failed_at = iterator.offset
                what = "not a valid record" if isinstance(exc, ArchiveLoadFailed) else exc
                self._bad(f"record at byte {failed_at}: {what}")
            start = next_record_start(stream, failed_at + 1, gzipped)

    def _page(self, record: Any) -> Page | None:
        if record.rec_type != "response" or record.http_headers is None:
            return None
        self.records += 1
        uri = record.rec_headers.get_header("WARC-Target-URI") or f"{self.path}#{self.records}"
        content_type = record.http_headers.get_header("Content-Type")
        if not _is_html(content_type):
            return None
        try:
            body = record.content_stream().read(self.max_bytes + 1)
        except _DAMAGE as exc:  # a damaged gzip member or chunked body of one record
            self._bad(f"{uri}: {exc}")
            return None
        if len(body) > self.max_bytes:
            return None
        if record.raw_stream.limit > 0:  # fewer bytes than the record declared
            self._bad(f"{uri}: record truncated ({record.raw_stream.limit} bytes missing)")
            return None
        status = record.http_headers.get_statuscode()
        return Page(ref=uri, url=uri, body=body, content_type=content_type,
                    status=int(status) if status and status.isdigit() else None)

    def _bad(self, message: str) -> None:
        self.bad_records += 1
        if len(self.problems) < 20:
            # warcio quotes the damaged bytes: keep the message short and printable
            text = "".join(c if c.isprintable() else "?" for c in message[:160])
            self.problems.append(text)


def next_record_start(stream: IO[bytes], pos: int, gzipped: bool) -> int | None:
    """Offset of the first clean record start at or after ``pos``, or None at the end."""
    while True:
        stream.seek(pos)
        block = stream.read(_SCAN_BLOCK + 16)
        if not block:
            return None
        marker = _GZIP_MAGIC if gzipped else _WARC_LINE
        at = block.find(marker)
        while 0 <= at < _SCAN_BLOCK:
            if _starts_record(stream, pos + at, gzipped):
                return pos + at
            at = block.find(marker, at + 1)
        if len(block) <= _SCAN_BLOCK:
            return None
        pos += _SCAN_BLOCK


def _starts_record(stream: IO[bytes], pos: int, gzipped: bool) -> bool:
    """True when a WARC header begins at ``pos`` (inside a gzip member when ``gzipped``)."""
    if not gzipped:
        return pos == 0 or _preceded_by_newline(stream, pos)
    stream.seek(pos)
    head = stream.read(4096)
    try:
        text = zlib.decompressobj(31).decompress(head, 16)
    except zlib.error:
        return False
    return text.startswith(_WARC_LINE)


def _preceded_by_newline(stream: IO[bytes], pos: int) -> bool:
    stream.seek(pos - 1)
    return stream.read(1) == b"\n"


def iter_warc_pages(
    source: Source, config: Config,
    opener: Callable[[str], AbstractContextManager[IO[bytes]]] | None = None,
) -> Iterator[Page]:
    """The pages of one WARC source; raises FetchError at the end if records were lost."""
    reader = WarcReader(source.ref, max_bytes=config.max_page_bytes,
                        opener=opener or open_binary)
    yield from reader.pages()
    if reader.bad_records:
        raise warc_damage(reader, source.ref)


def warc_damage(reader: WarcReader, ref: str) -> FetchError:
    """The error that reports the records of ``ref`` that could not be read."""
    return FetchError(
        f"{reader.bad_records} WARC record(s) could not be read in {ref}: "
        + "; ".join(reader.problems[:3]), ref, code="warc_corrupt")
