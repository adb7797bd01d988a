"""The warcio reader of WARC files: the fallback when FastWARC is not installed.

Reads plain and gzip-per-record WARC and ARC files, pure Python.  warcio tells
the offset of each record (to resynchronise after damage), bodies shorter than
declared (truncation) and records longer than declared; it stops quietly at a
record cut short, and at the first damaged gzip member, so resynchronising is
ours (:func:`~harvester.inputs.warcbase.next_record_start`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from harvester.inputs.warcbase import WarcTally, is_html, next_record_start, stream_size
from harvester.records import Page

#: Errors warcio and zlib raise on damaged input (never a bare except).  warcio takes a
#: header block cut before its WARC-Target-URI for a record without one, and trips on
#: that (AttributeError).
_DAMAGE = (ArchiveLoadFailed, ValueError, OSError, EOFError, zlib.error, AttributeError)


class _QuietIterator(ArchiveIterator):  # type: ignore[misc]
    """warcio's iterator without its stderr warning; the reader counts ``err_count``."""

    INC_RECORD = ""


def warcio_pages(stream: IO[bytes], tally: WarcTally, gzipped: bool) -> Iterator[Page]:
    """The HTML response records of ``stream`` as pages; damage is counted in ``tally``."""
    start: int | None = 0
    while start is not None:
        stream.seek(start)
        iterator = _QuietIterator(stream, no_record_parse=False, check_digests=False)
        try:
            for record in iterator:
                page = _page(record, tally)
                if page is not None:
                    yield page
                if iterator.err_count:  # a record longer or shorter than it declared
                    iterator.err_count = 0
                    tally.bad(f"record before byte {iterator.offset}: length mismatch")
            failed_at = iterator.offset
            if stream_size(stream) <= failed_at:
                return
            # warcio stops quietly at a record cut short: the bytes left are a loss
            tally.bad(f"record at byte {failed_at}: incomplete record")
        except _DAMAGE as exc:
            failed_at = iterator.offset
            what = "not a valid record" if isinstance(exc, ArchiveLoadFailed) else exc
            tally.bad(f"record at byte {failed_at}: {what}")
        start = next_record_start(stream, failed_at + 1, gzipped)


def _page(record: Any, tally: WarcTally) -> Page | None:
    if record.rec_type != "response" or record.http_headers is None:
        return None
    tally.records += 1
    uri = record.rec_headers.get_header("WARC-Target-URI") or f"{tally.path}#{tally.records}"
    content_type = record.http_headers.get_header("Content-Type")
    if not is_html(content_type):
        return None
    try:
        body = record.content_stream().read(tally.max_bytes + 1)
    except _DAMAGE as exc:  # a damaged gzip member or chunked body of one record
        tally.bad(f"{uri}: {exc}")
        return None
    if len(body) > tally.max_bytes:
        return None
    if record.raw_stream.limit > 0:  # fewer bytes than the record declared
        tally.bad(f"{uri}: record truncated ({record.raw_stream.limit} bytes missing)")
        return None
    status = record.http_headers.get_statuscode()
    return Page(ref=uri, url=uri, body=body, content_type=content_type,
                status=int(status) if status and status.isdigit() else None)
