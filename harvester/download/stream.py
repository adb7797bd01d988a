"""Reading one response body under limits: deadline, minimum speed, byte cap, decoding.

httpx's timeouts are per read, so a server trickling one byte per second never
times out (httpx #1450).  :class:`Watchdog` adds what curl calls
``--speed-limit``/``--speed-time`` and an overall deadline; both abort the
attempt as a retryable failure.

Media is requested with ``Accept-Encoding: identity`` and read raw.  When a
server compresses anyway (``Content-Encoding: gzip`` or ``deflate``) the body
is decoded here, in bounded pieces so that a small compressed body cannot
expand past the byte cap in memory, and the download is not resumable (byte
ranges would address the compressed stream).  Any other encoding is refused
(``unsupported_encoding``); a corrupt or trailing-garbage stream is
``bad_encoding``.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator

from harvester.download.policy import Transient
from harvester.errors import DownloadError

DECODE_PIECE = 256 * 1024
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


class Watchdog:
    """Raise :class:`Transient` when past the deadline or slower than ``min_speed``.

    Speed is bytes per second over the last ``window`` seconds, checked as
    chunks arrive (a server that sends nothing at all hits the read timeout).
    """

    def __init__(self, url: str, *, deadline: float, min_speed: int, window: float) -> None:
        self._url = url
        self._deadline = deadline
        self._min_speed = min_speed
        self._window = window
        self._start = time.monotonic()
        self._total = 0
        self._samples: deque[tuple[float, int]] = deque([(self._start, 0)])

    def tick(self, nbytes: int) -> None:
        now = time.monotonic()
        self._total += nbytes
        if now > self._deadline:
            raise Transient("the download took longer than the deadline", self._url,
                            code="timeout")
        if self._min_speed <= 0 or self._window <= 0:
            return
        # A sample every window/16 keeps memory flat however fast the body arrives.
        if now - self._samples[-1][0] >= self._window / 16:
            self._samples.append((now, self._total))
        while len(self._samples) > 1 and self._samples[1][0] <= now - self._window:
            self._samples.popleft()
        since, base = self._samples[0]
        if now - self._start >= self._window and now - since > 0:
            rate = (self._total - base) / (now - since)
            if rate < self._min_speed:
                raise Transient(f"below {self._min_speed} B/s for {self._window:g} s "
                                f"({rate:.0f} B/s)", self._url, code="too_slow")


def content_encoding(value: str | None, url: str) -> str | None:
    """The body's encoding to undo, ``None`` for identity; refuses what we cannot decode."""
    encoding = (value or "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in _WBITS:
        return encoding
    raise DownloadError(f"server sent Content-Encoding {encoding!r} for media; only identity, "
                        "gzip and deflate are read", url, code="unsupported_encoding")


def decoded(chunks: Iterable[bytes], encoding: str, url: str) -> Iterator[bytes]:
    """Undo gzip/deflate in pieces of at most ``DECODE_PIECE`` bytes."""
    inflater = zlib.decompressobj(_WBITS[encoding])
    try:
        for chunk in chunks:
            data = chunk
            while data:
                piece = inflater.decompress(data, DECODE_PIECE)
                if inflater.unused_data:
                    raise DownloadError(f"data after the end of the {encoding} stream", url,
                                        code="bad_encoding")
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        rest = inflater.flush()
        if rest:
            yield rest
        if not inflater.eof:
            raise DownloadError(f"{encoding} stream ended early", url, code="bad_encoding")
    except zlib.error as exc:
        raise DownloadError(f"corrupt {encoding} body: {exc}", url, code="bad_encoding") from None
