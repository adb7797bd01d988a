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
``bad_encoding``.  A large identity body is read straight from the socket
(:func:`identity_body`), without h11's copies.
"""

from __future__ import annotations

import socket
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator

import httpx

from harvester.errors import DownloadError
from harvester.net.policy import Transient

DECODE_PIECE = 256 * 1024
#: Identity bodies announced at least this long are read straight from the socket.
DIRECT_MIN = 4 << 20
DIRECT_READ = 1 << 20
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


def identity_body(response: httpx.Response, url: str,
                  timeout: float) -> Iterator[bytes | memoryview]:
    """The raw body of ``response``; a large one read from the socket into one buffer.

    Through h11 every read is copied three times more (into its receive
    buffer and out of it twice) while holding the GIL, which made a parallel
    loopback download about twice as slow as reading the socket.  So when the
    body has a Content-Length of at least :data:`DIRECT_MIN` and no
    Transfer-Encoding, the first chunk comes through httpx (h11 hands over
    everything it already buffered: a Content-Length body is given out whole
    up to what remains), and the rest is read with ``recv_into`` into a
    reused buffer, exactly the announced length.  h11 then still expects the
    body, so httpcore closes the connection when the response is closed
    instead of reusing it: one connection per large file.

    Items may be views of the reused buffer, valid until the next one is
    asked for.  A short body is ``truncated``, a read timeout ``timeout``, a
    reset ``connection_lost``; all :class:`Transient`.
    """
    chunks = response.iter_raw()
    length = response.headers.get("content-length", "").strip()
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if (not length.isdigit() or int(length) < DIRECT_MIN or not isinstance(sock, socket.socket)
            or "transfer-encoding" in response.headers):
        yield from chunks
        return
    first = next(iter(chunks), b"")
    yield first
    yield from _recv_exactly(sock, int(length) - len(first), url, timeout)


def _recv_exactly(sock: socket.socket, count: int, url: str,
                  timeout: float) -> Iterator[memoryview]:
    view = memoryview(bytearray(min(count, DIRECT_READ) or 1))
    try:
        sock.settimeout(timeout)
        while count > 0:
            got = sock.recv_into(view, min(count, len(view)))
            if got == 0:
                raise Transient(f"connection closed with {count} bytes of the body unsent",
                                url, code="truncated")
            count -= got
            yield view[:got]
    except TimeoutError as exc:
        raise Transient(f"timed out reading the body: {exc}", url, code="timeout") from None
    except OSError as exc:
        raise Transient(f"connection lost: {exc}", url, code="connection_lost") from None
