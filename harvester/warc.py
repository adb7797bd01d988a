"""WARC files as pages: each HTML response record becomes a :class:`Page`.

Reads plain and gzip-per-record WARC (and ARC) files with warcio, streaming:
a record's body is read once, capped at ``config.max_page_bytes``, and never
the whole file.  A truncated or corrupt record costs only itself: it is
counted in :attr:`WarcReader.bad_records` and reading goes on where possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.config import Config
from harvester.errors import FetchError
from harvester.records import Page, Source

_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/ld+json")


def _is_html(content_type: str | None) -> bool:
    """Response bodies worth extracting; a missing type is sniffed later by extract()."""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"\'')
    return None


@dataclass
class WarcReader:
    """Iterate the HTML response records of one WARC file as pages."""

    path: str
    max_bytes: int = 50 * 1024**2
    records: int = 0
    bad_records: int = 0
    skipped_large: int = 0
    problems: list[str] = field(default_factory=list)

    def pages(self) -> Iterator[Page]:
        try:
            with open(self.path, "rb") as stream:
                yield from self._read(stream)
        except OSError as exc:
            raise FetchError(f"cannot read WARC {self.path}: {exc.strerror or exc}",
                             self.path, code="unreadable") from None

    def _read(self, stream: IO[bytes]) -> Iterator[Page]:
        iterator = ArchiveIterator(stream, no_record_parse=False, check_digests=False)
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                return
            except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
                # warcio cannot resynchronise inside a damaged gzip member or header
                # block: count the loss and stop reading this file.
                self._bad(f"record after #{self.records}: {exc}")
                return
            page = self._page(record)
            if page is not None:
                yield page

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
        except Exception as exc:  # zlib.error, EOFError, decoding errors of one record
            self._bad(f"{uri}: {exc}")
            return None
        if len(body) > self.max_bytes:
            self.skipped_large += 1
            return None
        status = record.http_headers.get_statuscode()
        return Page(ref=uri, url=uri, body=body, content_type=content_type,
                    charset=_charset(content_type),
                    status=int(status) if status and status.isdigit() else None)

    def _bad(self, message: str) -> None:
        self.bad_records += 1
        if len(self.problems) < 20:
            self.problems.append(message[:300])


def iter_warc_pages(source: Source, config: Config) -> Iterator[Page]:
    """The pages of one WARC source; raises FetchError at the end if records were lost."""
    reader = WarcReader(source.ref, max_bytes=config.max_page_bytes)
    yield from reader.pages()
    if reader.bad_records:
        raise FetchError(
            f"{reader.bad_records} WARC record(s) could not be read in {source.ref}: "
            + "; ".join(reader.problems[:3]), source.ref, code="warc_corrupt")
