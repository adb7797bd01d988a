"""The FastWARC reader of WARC files: the default, as it reads in C where warcio reads in Python.

FastWARC (resiliparse) reads plain and gzip-per-record WARC files in C.  It gives
each record's offset (``stream_pos``) and its declared length, which is all the
damage report needs, but it may stop without a word where a record is cut short,
so after each pass the end of the last record read is checked against what
follows it (:func:`~harvester.inputs.warcbase.record_end`): bytes left that no
record covers are reported as an incomplete record, and reading resumes at the
next clean record, as after an error.

FastWARC's own HTTP decoding stops the iteration after the first decoded record
(2.0.1), so bodies are read as stored and the rare chunked or compressed one is
decoded here (:func:`_decoded`), as warcio does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from fastwarc.warc import ArchiveIterator, WarcRecordType

from harvester.errors import RemoteError
from harvester.inputs.warcbase import (
    WarcTally,
    is_html,
    next_record_start,
    record_end,
    stream_size,
)
from harvester.net.body import Decoder
from harvester.records import Page

_RESPONSE = WarcRecordType.response
_ENCODINGS = ("transfer-encoding", "content-encoding")
_BLANK_TAIL = 64  # a few blank lines after the last record are not damage


def fastwarc_pages(stream: IO[bytes], tally: WarcTally, gzipped: bool) -> Iterator[Page]:
    """The HTML response records of ``stream`` as pages; damage is counted in ``tally``."""
    size = stream_size(stream)
    start: int | None = 0
    while start is not None:
        stream.seek(start)
        last: int | None = None  # offset of the last record read in this pass
        last_bad = False  # whether that record was already counted as lost
        error: str | None = None
        try:
            for record in ArchiveIterator(stream, parse_http=False):
                last = record.stream_pos
                page, last_bad = _page(record, tally)
                if page is not None:
                    yield page
        except OSError as exc:  # what FastWARC raises on a damaged record or gzip member
            error = f"not a valid record ({exc})"
        start = _resume(stream, tally, gzipped, (start, last, last_bad), size, error)


def _resume(stream: IO[bytes], tally: WarcTally, gzipped: bool,
            read: tuple[int, int | None, bool], size: int, error: str | None) -> int | None:
    """Where reading resumes after a pass that stopped (None: at the end), counting the
    record lost, if any.  ``read`` is the pass's start, its last record's offset and
    whether that record was counted already."""
    start, last, last_bad = read
    what = error or "incomplete record"
    if last is None:
        failed_at = start  # nothing could be read from the start of the pass
    else:
        end = record_end(stream, last, gzipped)
        if end is None:  # the last record read is itself cut short or corrupt
            if not last_bad:
                tally.bad(f"record at byte {last}: {what}")
            return next_record_start(stream, last + 1, gzipped)
        failed_at = end
    if error is None and _blank_from(stream, failed_at, size):
        return None
    tally.bad(f"record at byte {failed_at}: {what}")
    return next_record_start(stream, failed_at + 1, gzipped)


def _blank_from(stream: IO[bytes], pos: int, size: int) -> bool:
    """Whether nothing but a few blank lines follows ``pos``."""
    if size - pos > _BLANK_TAIL:
        return False
    stream.seek(pos)
    return not stream.read(_BLANK_TAIL).strip()


def _page(record: Any, tally: WarcTally) -> tuple[Page | None, bool]:
    """The page of one record, if it is an HTML response; and whether it was lost."""
    if record.record_type != _RESPONSE or not record.is_http:
        return None, False
    try:
        record.parse_http()
    except OSError as exc:
        tally.bad(f"record at byte {record.stream_pos}: unreadable HTTP headers ({exc})")
        return None, True
    http = record.http_headers
    if http is None or http.status_code is None:
        # no status line: not a page (a record cut short is counted by the end-of-pass check)
        return None, False
    tally.records += 1
    content_type, encoded = _http_fields(http)
    if not is_html(content_type):
        return None, False
    declared = record.content_length
    if declared > tally.max_bytes:
        return None, False
    # looked up only now: each lookup by name costs FastWARC a scan of the headers
    uri = record.headers.get("WARC-Target-URI") or f"{tally.path}#{tally.records}"
    # read() rather than read(max_bytes + 1): FastWARC allocates the size asked for,
    # and 50 MB per page would cost more than reading the page
    body = record.reader.read()
    if len(body) < declared:
        tally.bad(f"{uri}: record truncated ({declared - len(body)} bytes missing)")
        return None, True
    if encoded:
        decoded = _decoded(body, http, tally.max_bytes, uri)
        if decoded is None:
            return None, False
        body = decoded
    return Page(ref=uri, url=uri, body=body, content_type=content_type,
                status=http.status_code), False


def _http_fields(http: Any) -> tuple[str | None, bool]:
    """The first ``Content-Type``, and whether a Transfer- or Content-Encoding is declared.

    One pass over the headers: each lookup by name costs FastWARC a scan of its own
    (about 2.5 us), which three of them per page would make a tenth of reading."""
    content_type = None
    encoded = False
    for name, value in http.to_tuples():
        key = name.lower()
        if key == "content-type":
            if content_type is None:
                content_type = value
        elif key in _ENCODINGS:
            encoded = True
    return content_type, encoded


def _decoded(body: bytes, http: Any, limit: int, uri: str) -> bytes | None:
    """The body as the server meant it (chunks joined, gzip or deflate undone), as warcio
    gives it; None when that is over ``limit``.  A body that does not decode is kept as
    stored, as warcio keeps it."""
    if "chunked" in (http.get("Transfer-Encoding") or "").lower():
        body = _dechunked(body)
    coding = (http.get("Content-Encoding") or "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    try:
        decoder = Decoder(coding, limit, uri)
        decoded = b"".join(bytes(piece) for piece in decoder.feed(body))
        decoder.finish()
    except RemoteError as exc:
        return None if exc.code == "too_large" else body
    return decoded


def _dechunked(body: bytes) -> bytes:
    """A chunked body's data, or the body itself when it is not well chunked."""
    pieces: list[bytes] = []
    pos = 0
    while pos < len(body):
        line_end = body.find(b"\r\n", pos)
        try:
            length = int(body[pos:line_end].split(b";", 1)[0], 16)
        except ValueError:
            return body
        if line_end < 0 or length < 0:
            return body
        if length == 0:
            return b"".join(pieces)
        pieces.append(body[line_end + 2:line_end + 2 + length])
        pos = line_end + 2 + length + 2
    return b"".join(pieces)
