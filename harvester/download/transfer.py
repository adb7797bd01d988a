"""One attempt at one media URL: resume, stream to the ``.part``, finalize.

The network layer (:mod:`harvester.net.exchange`) sends each attempt and
follows its redirects; :class:`Job` gives it the attempt's headers and reads
the answer, so everything that can fail while the body streams is inside the
attempt that tenacity retries.

Resume rules: bytes already in the ``.part`` are asked for with
``Range: bytes=N-`` plus ``If-Range`` (strong ETag, else Last-Modified, from
the sidecar); a ``.part`` without a validator is never resumed.  A 206 is
appended only when it proves it continues the same resource: its
``Content-Range`` starts at N, its total length is the one the first answer
gave, and its ETag and Last-Modified (when sent) are the stored ones, since a
server that ignores ``If-Range`` would otherwise have two versions stitched
into one file; any other 206 discards the ``.part``.  A 200 truncates and
restarts; a 416 whose ``*/size`` equals N finalizes the ``.part``; any other
416 or a misplaced 206 discards it.  A body shorter than announced keeps its
bytes for the next attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import httpx

from harvester.download.names import (
    DirSync,
    PartFiles,
    UnsafePath,
    finalize,
    hash_file,
    read_head,
)
from harvester.download.sniff import (
    MAX_PLAYLIST_BYTES,
    SNIFF_BYTES,
    MediaType,
    playlist_kind,
    rest_of_playlist,
    sniff,
    textual,
)
from harvester.errors import DownloadError, IsStream, NotMedia, RemoteError, TooLarge
from harvester.net.body import Decoder, body_chunks
from harvester.net.deadline import Cancelled
from harvester.net.policy import NetPolicy, Transient, parse_count

# At most 18 digits each (MAX_COUNT_DIGITS): longer is no real length, and int() of
# thousands of digits is refused or slow.
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d{1,18})-(\d{1,18})/(\d{1,18}|\*)\s*$",
                            re.IGNORECASE | re.ASCII)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d{1,18})\s*$", re.IGNORECASE | re.ASCII)


@dataclass
class Job:
    """One download across its attempts (mutable: resume point, progress, resumability)."""

    url: str
    policy: NetPolicy
    max_bytes: int
    dest_dir: Path
    kind: str
    files: PartFiles
    progress: Callable[[int], None] | None = None
    on_size: Callable[[int], None] | None = None
    dirsync: DirSync | None = None
    reported: int = 0
    resumable: bool = False
    offset: int = 0
    stored: dict[str, Any] = field(default_factory=dict)

    def report(self, total: int) -> None:
        """Tell the progress callback how many bytes arrived (negative on a restart)."""
        if self.progress is not None and total != self.reported:
            self.progress(total - self.reported)
        self.reported = total

    def headers(self) -> dict[str, str]:
        """This attempt's request headers: a Range with If-Range when resuming."""
        self.offset, self.stored = _resume_point(self)
        headers = {"Accept-Encoding": "identity"}
        if self.offset:
            headers["Range"] = f"bytes={self.offset}-"
            headers["If-Range"] = _validator(self.stored) or ""
        return headers

    def accepts(self, status: int) -> bool:
        """200, 206, and 416 when resuming; every other status is the exchange's error."""
        return status in (200, 206) or (status == 416 and self.offset > 0)

    def receive(self, response: httpx.Response, url: str) -> Done:
        """Read one accepted response into the .part and finalize it."""
        try:
            return _receive(self, response, self.offset, self.stored)
        except Transient as exc:
            raise _forget_unless_resumable(self, exc) from None
        except (UnsafePath, Cancelled):  # a stopped run keeps its .part for the next one
            raise
        except RemoteError:
            self.files.discard()
            raise
        except OSError as exc:  # the disk, not the network: keep the .part, do not retry
            raise DownloadError(f"cannot write {self.files.part}: {exc.strerror or exc}",
                                self.url, code="io_error") from exc


@dataclass(frozen=True, slots=True)
class Done:
    """A finished file and what the server said about it."""

    relpath: str
    sha256: str
    size: int
    mime: str
    etag: str | None
    last_modified: str | None
    mtime_ns: int


def _forget_unless_resumable(job: Job, exc: RemoteError) -> RemoteError:
    if not job.resumable:
        job.files.discard()
    return exc


def _validator(stored: dict[str, Any]) -> str | None:
    """What If-Range sends: a strong ETag, else the Last-Modified date; only a value that
    can go back in a header as it came (printable ASCII, one line, of sane length)."""
    etag = stored.get("etag")
    if _sendable(etag) and not etag.startswith("W/"):
        return etag
    modified = stored.get("last_modified")
    return modified if _sendable(modified) else None


def _sendable(value: Any) -> TypeGuard[str]:
    return (isinstance(value, str) and 0 < len(value) <= 1024 and value.isascii()
            and value.isprintable())


def _resume_point(job: Job) -> tuple[int, dict[str, Any]]:
    """Bytes to resume from and the stored validators; a .part we cannot trust goes."""
    job.resumable = False
    size = job.files.size()
    if size == 0:
        return 0, {}
    stored = job.files.read_sidecar()
    if _validator(stored) is None:
        job.files.discard()
        return 0, {}
    job.resumable = True
    return size, stored


def _receive(job: Job, response: httpx.Response, offset: int, stored: dict[str, Any]) -> Done:
    status = response.status_code
    if status == 416:
        return _on_416(job, response, offset, stored)
    encoding = _encoding(job, response)
    total = _check_range(job, response, offset, encoding, stored) if status == 206 else None
    if status == 200 and offset:
        job.files.discard()  # the server restarted from byte 0: never splice
        offset = 0
    expected = _expected_size(response, offset, total, encoding)
    if expected is not None and job.on_size is not None:
        job.on_size(expected)
    content_type = response.headers.get("content-type")
    if textual(content_type):
        _refuse_document(job, response, content_type)
    if expected is not None and expected > job.max_bytes:
        raise TooLarge(f"{expected} bytes announced, above the {job.max_bytes} byte cap",
                       job.url)
    etag, modified = _remember(job, response, stored, encoding, content_type, expected)
    media, sha, size = _stream(job, response, offset, expected)
    kept = finalize(job.files, job.dest_dir, sha, media.ext, size, job.dirsync)
    return Done(kept.relpath, sha, size, media.mime, etag, modified, kept.mtime_ns)


def _encoding(job: Job, response: httpx.Response) -> str | None:
    """The body's coding to undo, ``None`` for identity (refuses what cannot be decoded)."""
    decoder = Decoder(response.headers.get("content-encoding"), 0, job.url)
    return None if decoder.identity else decoder.coding


def _check_range(job: Job, response: httpx.Response, offset: int, encoding: str | None,
                 stored: dict[str, Any]) -> int:
    """Total size from a 206's Content-Range, once the 206 proves it continues the
    ``.part``; anything else discards the ``.part`` and restarts from byte 0."""
    header = _single(response, "content-range") or ""
    match = _CONTENT_RANGE.match(header)
    total = None if match is None or match.group(3) == "*" else int(match.group(3))
    why = None
    if match is None or int(match.group(1)) != offset or encoding is not None:
        why = f"asked for bytes from {offset}, got Content-Range {header!r}"
    elif total is not None and total <= int(match.group(2)):
        why = f"Content-Range {header!r} ends past its own total"
    elif not _same_total(stored, total):
        why = f"the total length changed from {stored.get('total')} to {total}"
    elif (changed := _changed_validator(response, stored)) is not None:
        why = f"the {changed} changed"
    if why is not None:
        job.files.discard()
        raise Transient(f"{why}: restarting from byte 0", job.url, code="bad_range")
    return -1 if total is None else total


def _same_total(stored: dict[str, Any], total: int | None) -> bool:
    """Whether a 206's total agrees with the length the first answer announced."""
    known = stored.get("total")
    return not isinstance(known, int) or total is None or known == total


def _changed_validator(response: httpx.Response, stored: dict[str, Any]) -> str | None:
    """The validator a 206 sends that differs from the stored one (a server that ignored
    If-Range and now serves another version), or ``None``."""
    for header, key in (("etag", "etag"), ("last-modified", "last_modified")):
        sent = response.headers.get_list(header)
        known = stored.get(key)
        if sent and isinstance(known, str) and known and (len(sent) > 1 or sent[0] != known):
            return "ETag" if header == "etag" else "Last-Modified"
    return None


def _single(response: httpx.Response, name: str) -> str | None:
    """A header that must appear once: its value, or ``None`` when absent or repeated
    (two different Content-Lengths or Content-Ranges cannot both be believed)."""
    values = response.headers.get_list(name)
    return values[0] if len(values) == 1 else None


def _expected_size(response: httpx.Response, offset: int, total: int | None,
                   encoding: str | None) -> int | None:
    if total is not None and total >= 0:
        return total
    length = parse_count(_single(response, "content-length"))
    # A compressed body's length says nothing of the decoded size.
    if encoding is None and length is not None:
        return offset + length
    return None


def _remember(job: Job, response: httpx.Response, stored: dict[str, Any],
              encoding: str | None, content_type: str | None,
              expected: int | None) -> tuple[str | None, str | None]:
    """Keep the validators and the total length for a later resume (identity bodies only)."""
    etag = _single(response, "etag") or stored.get("etag")
    modified = _single(response, "last-modified") or stored.get("last_modified")
    values: dict[str, Any] = {"etag": etag, "last_modified": modified,
                              "content_type": content_type, "total": expected}
    job.resumable = encoding is None and _validator(values) is not None
    if job.resumable:
        job.files.write_sidecar(**values)
    else:
        job.files.discard()
    return etag, modified


def _on_416(job: Job, response: httpx.Response, offset: int, stored: dict[str, Any]) -> Done:
    match = _UNSATISFIED_RANGE.match(_single(response, "content-range") or "")
    if match is None or int(match.group(1)) != offset:
        job.files.discard()
        raise Transient(f"server cannot serve from byte {offset}: restarting", job.url,
                        code="bad_range")
    media = _accept(job, read_head(job.files.part, job.url, SNIFF_BYTES))
    sha = hash_file(job.files.part, job.url).hexdigest()
    job.report(offset)
    done = finalize(job.files, job.dest_dir, sha, media.ext, offset, job.dirsync)
    return Done(done.relpath, sha, offset, media.mime, stored.get("etag"),
                stored.get("last_modified"), done.mtime_ns)


def _refuse_document(job: Job, response: httpx.Response, content_type: str | None) -> None:
    """NotMedia for a document; IsStream when it is a playlist served as text
    (servers label HLS ``text/plain`` and DASH ``application/xml`` often enough)."""
    if job.kind == "video":
        chunks = iter(body_chunks(response, job.url, job.policy, limit=MAX_PLAYLIST_BYTES + 1))
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        try:
            _stream_or_none(job, head)
        except IsStream as found:
            raise _with_body(found, head, chunks, response) from None
    raise NotMedia(f"server sent {content_type!r}, a document, not media", job.url)


def _with_body(found: IsStream, head: bytes, chunks: Iterator[bytes | memoryview],
               response: httpx.Response) -> IsStream:
    """``found`` carrying the whole playlist, so the stream code need not ask again
    (without it when the rest cannot be read: the stream code then asks itself)."""
    try:
        found.body = rest_of_playlist(head, chunks)
    except RemoteError:
        found.body = None
    found.final = str(response.request.url)
    return found


def _stream_or_none(job: Job, head: bytes) -> None:
    """Raise IsStream when a video URL answered with a playlist."""
    kind = playlist_kind(head) if job.kind == "video" else None
    if kind is not None:
        raise IsStream(f"the body is {'an HLS playlist' if kind == 'hls' else 'a DASH manifest'}",
                       job.url, kind=kind)


def _accept(job: Job, head: bytes) -> MediaType:
    """The sniffed media type, or NotMedia (empty, unknown, the wrong kind, or IsStream)."""
    if not head:
        raise NotMedia("server sent an empty body", job.url, code="empty")
    media = sniff(head)
    if media is None:
        _stream_or_none(job, head)
        raise NotMedia(f"body does not start like any media format: {head[:16]!r}", job.url)
    wrong = (job.kind == "thumbnail" and media.family != "image") or (
        job.kind == "video" and media.family == "image")
    if wrong:
        raise NotMedia(f"expected a {job.kind}, got {media.mime}", job.url)
    return media


WRITEBACK_EVERY = 16 << 20


def _start_writeback(fd: int, start: int, length: int) -> None:
    """Ask the kernel to start writing ``length`` bytes from ``start`` to disk now.

    The final fsync must wait until every byte is on disk.  With a large page
    cache the kernel would otherwise start writing only at that fsync, so the
    disk sits idle while the network is busy and the download then waits for
    it.  ``POSIX_FADV_DONTNEED`` starts writeback of the dirty range without
    waiting (Linux) and lets those pages leave the cache once written, which
    also keeps a large download from crowding the cache.  Only a hint: where
    it is missing, fsync does all the work as before.
    """
    advise = getattr(os, "posix_fadvise", None)
    if advise is not None:
        with contextlib.suppress(OSError):
            advise(fd, start, length, os.POSIX_FADV_DONTNEED)


class _Sink:
    """Hashes and writes body bytes to the .part; nothing touches the disk until the
    first ``SNIFF_BYTES`` look like media (a rejected body writes nothing)."""

    def __init__(self, job: Job, offset: int) -> None:
        self.job = job
        part = job.files.part
        self.digest = hash_file(part, job.url, limit=offset) if offset else hashlib.sha256()
        self.head = read_head(part, job.url, SNIFF_BYTES) if offset else b""
        self.media = _accept(job, self.head) if len(self.head) >= SNIFF_BYTES else None
        self.fd = job.files.open(append=True) if offset else None
        self.size = offset
        self.flushed = offset
        job.report(offset)

    @property
    def received(self) -> int:
        """Bytes of the body so far, whether still held back or already written."""
        return self.size if self.fd is not None else len(self.head)

    def add(self, chunk: bytes | memoryview) -> None:
        if self.fd is None:
            self.head += chunk
            if len(self.head) >= SNIFF_BYTES:
                self._open_and_put_head()
            return
        if len(self.head) < SNIFF_BYTES:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
        self._put(chunk)

    def finish(self) -> MediaType:
        """Flush a body shorter than the sniff window, fsync; the body's media type."""
        if self.fd is None:
            self._open_and_put_head()
        self.media = self.media or _accept(self.job, self.head)
        assert self.fd is not None
        os.fsync(self.fd)
        return self.media

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _open_and_put_head(self) -> None:
        self.media = _accept(self.job, self.head)
        self.fd = self.job.files.open(append=False)
        self._put(self.head)

    def _put(self, chunk: bytes | memoryview) -> None:
        assert self.fd is not None
        view = memoryview(chunk)
        while view:
            view = view[os.write(self.fd, view):]
        self.digest.update(chunk)
        self.size += len(chunk)
        self.job.report(self.size)
        if self.size - self.flushed >= WRITEBACK_EVERY:
            _start_writeback(self.fd, self.flushed, self.size - self.flushed)
            self.flushed = self.size


def _stream(job: Job, response: httpx.Response, offset: int,
            expected: int | None) -> tuple[MediaType, str, int]:
    """Write the body to the .part, hashing as it arrives; returns (type, sha256, size)."""
    chunks = iter(body_chunks(response, job.url, job.policy, limit=job.max_bytes - offset))
    sink = _Sink(job, offset)
    try:
        try:
            for chunk in chunks:
                sink.add(chunk)
            _check_complete(job, sink.received, expected)
            media = sink.finish()
        except IsStream as found:
            raise _with_body(found, sink.head, chunks, response) from None
    finally:
        sink.close()
    return media, sink.digest.hexdigest(), sink.size


def _check_complete(job: Job, size: int, expected: int | None) -> None:
    if size == 0:
        raise NotMedia("server sent an empty body", job.url, code="empty")
    if expected is not None and size < expected:
        raise Transient(f"got {size} of {expected} bytes", job.url, code="truncated")
    if expected is not None and size > expected:
        job.files.discard()
        raise Transient(f"got {size} bytes, more than the {expected} announced", job.url,
                        code="bad_range")
