"""What both WARC readers share: the tally of records and damage, and finding records.

A reader (:mod:`~harvester.inputs.warc_fastwarc` or
:mod:`~harvester.inputs.warc_warcio`)
reads records until the library stops; this module says where the record at an offset
ends (:func:`record_end`) and where the next clean record starts
(:func:`next_record_start`), so that reading resumes after damage and damage that a
library passes over in silence is still counted.
"""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass, field
from typing import IO

GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_LINE = b"WARC/1."
_SCAN_BLOCK = 1 << 20
_INFLATE_PIECE = 1 << 20
_HEAD_LIMIT = 1 << 16
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/ld+json")
_PROBLEMS_KEPT = 20


@functools.lru_cache(maxsize=256)
def is_html(content_type: str | None) -> bool:
    """Response bodies worth extracting; a missing type is sniffed later by extract().
    (Cached: a crawl repeats a handful of header values.)"""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


@dataclass
class WarcTally:
    """What reading one WARC file counted: HTTP response records, and records lost."""

    path: str
    max_bytes: int = 50 * 1024**2
    records: int = 0
    bad_records: int = 0
    problems: list[str] = field(default_factory=list)

    def bad(self, message: str) -> None:
        """Count one lost record; the first few messages are kept, short and printable."""
        self.bad_records += 1
        if len(self.problems) < _PROBLEMS_KEPT:
            # libraries quote the damaged bytes: keep the message short and printable
            text = "".join(c if c.isprintable() else "?" for c in message[:160])
            self.problems.append(text)


def stream_size(stream: IO[bytes]) -> int:
    """The length of a seekable stream (its position is left at the end)."""
    return stream.seek(0, 2)


def record_end(stream: IO[bytes], pos: int, gzipped: bool) -> int | None:
    """Where the record starting at ``pos`` ends (where the next one should start), or
    None when it is cut short or unreadable.

    In a gzip file that is the end of the record's gzip member; in a plain file, the
    header block, ``Content-Length`` bytes and the closing blank line.
    """
    return _member_end(stream, pos) if gzipped else _plain_end(stream, pos)


def _member_end(stream: IO[bytes], pos: int) -> int | None:
    stream.seek(pos)
    inflate = zlib.decompressobj(31)
    taken = 0
    try:
        while chunk := stream.read(_INFLATE_PIECE):
            taken += len(chunk)
            data = chunk
            while data:
                inflate.decompress(data, _INFLATE_PIECE)  # output dropped: only the end counts
                if inflate.eof:
                    return pos + taken - len(inflate.unused_data)
                data = inflate.unconsumed_tail
    except zlib.error:
        return None
    return None


def _plain_end(stream: IO[bytes], pos: int) -> int | None:
    stream.seek(pos)
    head = stream.read(_HEAD_LIMIT)
    blank = head.find(b"\r\n\r\n")
    length = _CONTENT_LENGTH.search(head, 0, blank + 2) if blank > 0 else None
    if length is None:
        return None
    end = pos + blank + 4 + int(length.group(1)) + 4
    stream.seek(end - 4)
    return end if stream.read(4) == b"\r\n\r\n" else None


def next_record_start(stream: IO[bytes], pos: int, gzipped: bool) -> int | None:
    """Offset of the first clean record start at or after ``pos``, or None at the end."""
    while True:
        stream.seek(pos)
        block = stream.read(_SCAN_BLOCK + 16)
        if not block:
            return None
        marker = GZIP_MAGIC if gzipped else _WARC_LINE
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
