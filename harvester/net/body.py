"""Reading one response body under limits: decoding, byte cap, minimum speed, deadline.

One reader for pages, robots.txt and media:

* :class:`Decoder` undoes ``Content-Encoding`` (identity, gzip, x-gzip,
  deflate with or without its zlib header, several gzip members) in bounded
  pieces, so a 10 KB compression bomb never inflates past the cap in memory.
  Bytes after the end of the compressed stream are ignored, as browsers do;
  a corrupt or unfinished stream is ``bad_encoding``; any other coding
  ``unsupported_encoding``; more than the cap ``too_large``.
* :class:`Watchdog` aborts an attempt that is slower than ``min_speed`` over
  ``min_speed_window`` (``too_slow``) or past its deadline (``timeout``):
  a server trickling one byte a second never trips a per-read timeout.
* :class:`Throttle` holds one transfer to ``limit_rate`` bytes per second
  by sleeping as bytes arrive.  The watchdog does not count that sleep: a
  transfer we slow down ourselves is not "too slow".  The deadline still
  holds (a throttle never sleeps past it).
* :func:`body_chunks` puts them together; a large identity body is read
  straight from the socket (:func:`identity_body`), without h11's copies.
"""

from __future__ import annotations

import socket
import time
import zlib
from collections import deque
from collections.abc import Iterator

import httpx

from harvester.errors import RemoteError
from harvester.net.deadline import DeadlinePassed, bounded, check_cancelled, remaining, sliced
from harvester.net.policy import NetPolicy, Transient, parse_count

__all__ = ["DECODE_PIECE", "DIRECT_MIN", "DIRECT_READ", "Decoder", "Throttle", "Watchdog",
           "body_chunks", "read_body"]

#: The most a decoder hands out at once.
DECODE_PIECE = 256 * 1024
#: Identity bodies announced at least this long are read straight from the socket.
DIRECT_MIN = 4 << 20
DIRECT_READ = 1 << 20
#: How much compressed input may go by without output (headers, empty blocks).
_SLACK = 65536
_GZIP_MAGIC = b"\x1f\x8b"
_CODINGS = ("identity", "gzip", "x-gzip", "deflate")


class Decoder:
    """Decode a raw body chunk by chunk, never producing more than ``limit`` bytes."""

    def __init__(self, coding: str | None, limit: int, url: str) -> None:
        self.coding = (coding or "identity").strip().lower() or "identity"
        if self.coding not in _CODINGS:
            raise RemoteError(f"server sent Content-Encoding {self.coding!r}; only identity, "
                              "gzip and deflate are read", url, code="unsupported_encoding")
        self.url, self.limit = url, limit
        self.total = 0  # decoded bytes handed out
        self._raw = 0  # compressed bytes taken in
        self._zlib = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip header
        self._head = b""  # input kept until the first output, to retry as raw deflate
        self._raw_deflate = False
        self._ended = False  # the compressed stream ended; later bytes are ignored

    @property
    def identity(self) -> bool:
        return self.coding == "identity"

    def feed(self, data: bytes | memoryview) -> Iterator[bytes | memoryview]:
        """The decoded pieces of one raw chunk."""
        if self.identity:
            self._count(len(data))
            yield data
            return
        self._raw += len(data)
        if self._raw > self.limit + _SLACK:
            raise self._too_large("compressed body")
        if self._ended:
            return
        if not self.total and len(self._head) < _SLACK:
            self._head += bytes(data)
        try:
            yield from self._inflate(bytes(data))
        except zlib.error as exc:
            raise RemoteError(f"corrupt {self.coding} body: {exc}", self.url,
                              code="bad_encoding") from None

    def finish(self) -> None:
        """Check the end of the raw body: an unfinished compressed stream is corrupt."""
        if self.identity or self._ended or self._raw == 0:
            return
        if not self._zlib.eof:
            raise RemoteError(f"{self.coding} stream ended early", self.url,
                              code="bad_encoding")

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        try:
            yield from self._pieces(data)
        except zlib.error:
            if self.total or self._raw_deflate:
                raise
            # Some servers send raw deflate without the zlib header.
            self._raw_deflate = True
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            yield from self._pieces(self._head)

    def _pieces(self, data: bytes) -> Iterator[bytes]:
        while data and not self._ended:
            room = min(DECODE_PIECE, self.limit - self.total + 1)
            piece = self._zlib.decompress(data, room)
            if piece:
                self._count(len(piece))
                yield piece
            if self._zlib.eof:
                data = self._next_member(self._zlib.unused_data)
            else:
                data = self._zlib.unconsumed_tail

    def _next_member(self, rest: bytes) -> bytes:
        """Start the next gzip member, or end the stream (trailing bytes are ignored)."""
        if rest[:2] == _GZIP_MAGIC:
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return rest
        if len(rest) < 2 and rest[:1] in (b"", _GZIP_MAGIC[:1]):
            return b""  # too few bytes yet to tell another member from trailing junk
        self._ended = True
        return b""

    def _count(self, size: int) -> None:
        self.total += size
        if self.total > self.limit:
            raise self._too_large("body")

    def _too_large(self, what: str) -> RemoteError:
        return RemoteError(f"{what} is larger than the {self.limit}-byte cap (after "
                           "decompression)", self.url, code="too_large")


class Watchdog:
    """Raise :class:`Transient` when past the deadline or slower than ``min_speed``.

    Speed is bytes per second over the last ``window`` seconds, checked as
    chunks arrive (a server that sends nothing at all hits the read timeout).
    Time the reader spent asleep on purpose (:meth:`paused`) is not counted.
    """

    def __init__(self, url: str, *, min_speed: int, window: float) -> None:
        self._url = url
        self._min_speed = min_speed
        self._window = window
        self._paused = 0.0
        self._start = time.monotonic()
        self._total = 0
        self._samples: deque[tuple[float, int]] = deque([(self._start, 0)])

    def paused(self, seconds: float) -> None:
        """Leave ``seconds`` of our own sleeping out of the speed measurement."""
        self._paused += seconds

    def tick(self, nbytes: int) -> None:
        check_cancelled(self._url)
        now = time.monotonic() - self._paused
        self._total += nbytes
        left = remaining()
        if left is not None and left <= 0:
            raise Transient("the transfer took longer than the deadline", self._url,
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


class Throttle:
    """Hold one transfer to ``rate`` bytes per second (0: no limit) by sleeping.

    After each chunk the reader sleeps until the bytes so far could have
    arrived at ``rate``.  A transfer that cannot finish at that rate before
    the attempt's deadline ends at the deadline as ``timeout``: the cap and
    the deadline both hold, and a resumable download goes on from there in
    its next attempt.
    """

    def __init__(self, rate: int, url: str) -> None:
        self._rate = rate
        self._url = url
        self._start = time.monotonic()
        self._total = 0

    def tick(self, nbytes: int) -> float:
        """Account for ``nbytes`` more and sleep as needed; returns the seconds slept."""
        if self._rate <= 0:
            return 0.0
        self._total += nbytes
        behind = self._start + self._total / self._rate - time.monotonic()
        if behind <= 0:
            return 0.0
        left = remaining()
        if left is not None and behind > left:
            time.sleep(max(0.0, left))
            raise Transient(f"at the --limit-rate of {self._rate} B/s the transfer needs "
                            "longer than the deadline; raise deadline for large files",
                            self._url, code="timeout")
        time.sleep(behind)
        return behind


def body_chunks(response: httpx.Response, url: str, policy: NetPolicy, *,
                limit: int, raw: bool = False) -> Iterator[bytes | memoryview]:
    """The decoded body of ``response``, at most ``limit`` bytes, under the watchdog
    and at most ``policy.limit_rate`` bytes per second.

    With ``raw`` the body is handed over as sent, its Content-Encoding not undone:
    the bytes of a file (a ``.warc.gz`` some servers label ``gzip``), or of a byte
    range of it.  Items may be views of a reused buffer, valid until the next one
    is asked for.
    """
    coding = None if raw else response.headers.get("content-encoding")
    decoder = Decoder(coding, limit, url)
    watchdog = Watchdog(url, min_speed=policy.min_speed, window=policy.min_speed_window)
    throttle = Throttle(policy.limit_rate, url)
    sent = (identity_body(response, url, policy.timeout) if decoder.identity
            else response.iter_raw())
    for chunk in sent:
        watchdog.tick(len(chunk))
        yield from decoder.feed(chunk)
        watchdog.paused(throttle.tick(len(chunk)))
    decoder.finish()


def read_body(response: httpx.Response, url: str, policy: NetPolicy, *, limit: int,
              keep_prefix: bool = False) -> bytes:
    """The whole decoded body; with ``keep_prefix`` a body over ``limit`` gives its
    first ``limit`` bytes instead of ``too_large``."""
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in body_chunks(response, url, policy, limit=limit):
            parts.append(bytes(chunk))
            size += len(chunk)
    except RemoteError as exc:
        if not (keep_prefix and exc.code == "too_large"):
            raise
        return b"".join(parts)[:limit]
    return b"".join(parts)


def identity_body(response: httpx.Response, url: str,
                  timeout: float) -> Iterator[bytes | memoryview]:
    """The raw body of ``response``; a large one read from the socket into one buffer.

    Through h11 every read is copied three times more (into its receive
    buffer and out of it twice) while holding the GIL.  So when the body has
    a Content-Length of at least :data:`DIRECT_MIN` and no Transfer-Encoding,
    the first chunk comes through httpx (h11 hands over everything it already
    buffered) and the rest is read with ``recv_into`` into a reused buffer,
    exactly the announced length.  h11 then still expects the body, so
    httpcore closes the connection when the response is closed instead of
    reusing it: one connection per large file.
    """
    chunks = response.iter_raw()
    length = parse_count(response.headers.get("content-length"))
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if (length is None or length < DIRECT_MIN
            or not isinstance(sock, socket.socket) or "transfer-encoding" in response.headers):
        yield from chunks
        return
    first = next(iter(chunks), b"")
    yield first
    yield from _recv_exactly(sock, length - len(first), url, timeout)


def _recv_some(sock: socket.socket, view: memoryview, size: int, timeout: float) -> int:
    """One ``recv_into``, waiting at most ``timeout`` in slices (a stop of the run is seen)."""
    while True:
        limit = bounded(timeout)
        wait = sliced(limit)
        sock.settimeout(wait)
        try:
            return sock.recv_into(view, size)
        except TimeoutError:
            if wait == limit or wait is None:
                raise
            timeout -= wait


def _recv_exactly(sock: socket.socket, count: int, url: str,
                  timeout: float) -> Iterator[memoryview]:
    view = memoryview(bytearray(min(count, DIRECT_READ) or 1))
    try:
        while count > 0:
            got = _recv_some(sock, view, min(count, len(view)), timeout)
            if got == 0:
                raise Transient(f"connection closed with {count} bytes of the body unsent",
                                url, code="truncated")
            count -= got
            yield view[:got]
    except (TimeoutError, DeadlinePassed) as exc:
        raise Transient(f"timed out reading the body: {exc}", url, code="timeout") from None
    except OSError as exc:
        raise Transient(f"connection dropped in the body: {exc}", url,
                        code="truncated") from None
