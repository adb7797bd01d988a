"""One attempt at one media URL: request (redirects by hand), resume, stream, finalize.

The retry loop in :mod:`harvester.download` calls :func:`run_attempt` once per
attempt, so everything that can fail while the body streams is inside it.

Resume rules (RELIABILITY.md R03-R08): bytes already in the ``.part`` are
asked for with ``Range: bytes=N-`` plus ``If-Range`` (strong ETag, else
Last-Modified, from the sidecar); a ``.part`` without a validator is never
resumed.  A 206 is appended only when its ``Content-Range`` starts at N; a 200
truncates and restarts; a 416 whose ``*/size`` equals N finalizes the ``.part``;
any other 416 or a misplaced 206 discards it.  A body shorter than announced
keeps its bytes for the next attempt.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from harvester.config import Config
from harvester.download.names import PartFiles, UnsafePath, finalize, hash_file, read_head
from harvester.download.sniff import SNIFF_BYTES, MediaType, sniff, textual
from harvester.errors import BlockedURL, DownloadError, NotMedia, TooLarge
from harvester.net.body import Watchdog, content_encoding, decoded, identity_body
from harvester.net.guard import check_url
from harvester.net.policy import Transient, status_error, translate

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


@dataclass
class Job:
    """One download across its attempts (mutable: progress and resumability)."""

    url: str
    cfg: Config
    client: httpx.Client
    dest_dir: Path
    kind: str
    files: PartFiles
    progress: Callable[[int], None] | None = None
    reported: int = 0
    resumable: bool = False

    def report(self, total: int) -> None:
        """Tell the progress callback how many bytes arrived (negative on a restart)."""
        if self.progress is not None and total != self.reported:
            self.progress(total - self.reported)
        self.reported = total


@dataclass(frozen=True, slots=True)
class Done:
    """A finished file and what the server said about it."""

    relpath: str
    sha256: str
    size: int
    mime: str
    etag: str | None
    last_modified: str | None


def run_attempt(job: Job) -> Done:
    """One attempt; raises DownloadError (Transient when retrying may help)."""
    deadline = time.monotonic() + job.cfg.deadline
    offset, stored = _resume_point(job)
    headers = {"Range": f"bytes={offset}-", "If-Range": _validator(stored) or ""} if offset else {}
    response = open_response(job, headers, deadline)
    try:
        return _receive(job, response, offset, stored, deadline)
    except httpx.HTTPError as exc:
        raise _forget_unless_resumable(job, translate(exc, job.url, in_body=True)) from exc
    except Transient as exc:
        raise _forget_unless_resumable(job, exc) from None
    except UnsafePath:
        raise
    except DownloadError:
        job.files.discard()
        raise
    except OSError as exc:  # the disk, not the network: keep the .part, do not retry
        raise DownloadError(f"cannot write {job.files.part}: {exc.strerror or exc}", job.url,
                            code="io_error") from exc
    finally:
        response.close()


def _forget_unless_resumable(job: Job, exc: DownloadError) -> DownloadError:
    if not job.resumable:
        job.files.discard()
    return exc


def _validator(stored: dict[str, Any]) -> str | None:
    etag = stored.get("etag")
    if isinstance(etag, str) and etag and not etag.startswith("W/"):
        return etag
    modified = stored.get("last_modified")
    return modified if isinstance(modified, str) and modified else None


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


def open_response(job: Job, headers: dict[str, str], deadline: float) -> httpx.Response:
    """Send the request, following redirects by hand and checking every hop."""
    current = job.url
    seen = {current}
    for _ in range(job.cfg.max_redirects + 1):
        try:
            check_url(current, allow_private=job.cfg.allow_private_hosts)
        except BlockedURL as exc:
            hop = "" if current == job.url else f"redirect to {current}: "
            raise BlockedURL(hop + exc.message, job.url, code=exc.code) from None
        response = _send(job, current, headers, deadline)
        location = response.headers.get("location")
        if response.status_code not in REDIRECTS or location is None:
            return response
        response.close()
        current = urljoin(current, location.strip())
        if current in seen:
            raise DownloadError(f"redirect loop at {current}", job.url, code="too_many_redirects")
        seen.add(current)
    raise DownloadError(f"more than {job.cfg.max_redirects} redirects", job.url,
                        code="too_many_redirects")


def _send(job: Job, url: str, headers: dict[str, str], deadline: float) -> httpx.Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise Transient("the download took longer than the deadline", job.url, code="timeout")
    timeout = httpx.Timeout(min(job.cfg.timeout, remaining), pool=None)
    try:
        request = job.client.build_request("GET", url, headers=headers, timeout=timeout)
    except httpx.InvalidURL as exc:
        raise BlockedURL(f"unusable URL {url}: {exc}", job.url, code="bad_url") from None
    try:
        return job.client.send(request, stream=True)
    except BlockedURL as exc:  # raised at connect time by the guard transport
        raise BlockedURL(exc.message, job.url, code=exc.code) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        # httpx parses a redirect's Location even when it will not follow it.
        raise BlockedURL(f"{url} redirects to an unusable URL: {exc}", job.url,
                         code="bad_redirect") from None
    except httpx.HTTPError as exc:
        raise translate(exc, job.url, in_body=False) from exc


def _receive(job: Job, response: httpx.Response, offset: int, stored: dict[str, Any],
             deadline: float) -> Done:
    status = response.status_code
    if status == 416 and offset:
        return _on_416(job, response, offset, stored)
    if status not in (200, 206):  # a transient status keeps a resumable .part
        raise status_error(response, job.url, job.cfg)
    encoding = content_encoding(response.headers.get("content-encoding"), job.url)
    total = _check_range(job, response, offset, encoding) if status == 206 else None
    if status == 200 and offset:
        job.files.discard()  # the server restarted from byte 0: never splice (R04, R05)
        offset = 0
    expected = _expected_size(response, offset, total, encoding)
    content_type = response.headers.get("content-type")
    if textual(content_type):
        raise NotMedia(f"server sent {content_type!r}, a document, not media", job.url)
    if expected is not None and expected > job.cfg.max_bytes:
        raise TooLarge(f"{expected} bytes announced, above the {job.cfg.max_bytes} byte cap",
                       job.url)
    etag, modified = _remember(job, response, stored, encoding, content_type)
    media, sha, size = _stream(job, response, offset, expected, encoding, deadline)
    relpath = finalize(job.files, job.dest_dir, sha, media.ext)
    return Done(relpath, sha, size, media.mime, etag, modified)


def _check_range(job: Job, response: httpx.Response, offset: int, encoding: str | None) -> int:
    """Total size from a 206's Content-Range; a range we did not ask for restarts."""
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match is None or int(match.group(1)) != offset or encoding is not None:
        job.files.discard()
        got = response.headers.get("content-range")
        raise Transient(f"asked for bytes from {offset}, got Content-Range {got!r}: restarting",
                        job.url, code="bad_range")
    return -1 if match.group(3) == "*" else int(match.group(3))


def _expected_size(response: httpx.Response, offset: int, total: int | None,
                   encoding: str | None) -> int | None:
    if total is not None and total >= 0:
        return total
    length = response.headers.get("content-length", "").strip()
    # A compressed body's length says nothing of the decoded size.
    if encoding is None and length.isdigit():
        return offset + int(length)
    return None


def _remember(job: Job, response: httpx.Response, stored: dict[str, Any],
              encoding: str | None, content_type: str | None) -> tuple[str | None, str | None]:
    """Keep the validators for a later resume (identity bodies only)."""
    etag = response.headers.get("etag") or stored.get("etag")
    modified = response.headers.get("last-modified") or stored.get("last_modified")
    values = {"etag": etag, "last_modified": modified, "content_type": content_type}
    job.resumable = encoding is None and _validator(values) is not None
    if job.resumable:
        job.files.write_sidecar(**values)
    else:
        job.files.discard()
    return etag, modified


def _on_416(job: Job, response: httpx.Response, offset: int, stored: dict[str, Any]) -> Done:
    match = _UNSATISFIED_RANGE.match(response.headers.get("content-range", ""))
    if match is None or int(match.group(1)) != offset:
        job.files.discard()
        raise Transient(f"server cannot serve from byte {offset}: restarting", job.url,
                        code="bad_range")
    media = _accept(job, read_head(job.files.part, job.url, SNIFF_BYTES))
    sha = hash_file(job.files.part, job.url).hexdigest()
    job.report(offset)
    relpath = finalize(job.files, job.dest_dir, sha, media.ext)
    return Done(relpath, sha, offset, media.mime, stored.get("etag"), stored.get("last_modified"))


def _accept(job: Job, head: bytes) -> MediaType:
    """The sniffed media type, or NotMedia (empty, unknown, or the wrong kind)."""
    if not head:
        raise NotMedia("server sent an empty body", job.url, code="empty")
    media = sniff(head)
    if media is None:
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
    first ``SNIFF_BYTES`` look like media (R30: a rejected body writes nothing)."""

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


def _stream(job: Job, response: httpx.Response, offset: int, expected: int | None,
            encoding: str | None, deadline: float) -> tuple[MediaType, str, int]:
    """Write the body to the .part, hashing as it arrives; returns (type, sha256, size)."""
    cap = job.cfg.max_bytes
    watchdog = Watchdog(job.url, deadline=deadline, min_speed=job.cfg.min_speed,
                        window=job.cfg.min_speed_window)
    chunks = (identity_body(response, job.url, job.cfg.timeout) if encoding is None
              else decoded(response.iter_raw(), encoding, job.url))
    sink = _Sink(job, offset)
    try:
        for chunk in chunks:
            watchdog.tick(len(chunk))
            if sink.received + len(chunk) > cap:
                raise TooLarge(f"body grew past the {cap} byte cap", job.url)
            sink.add(chunk)
        _check_complete(job, sink.received, expected)
        media = sink.finish()
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
