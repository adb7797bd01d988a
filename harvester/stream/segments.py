"""Fetch every segment, init section and key of a stream into its work directory.

Promises:

* every URL is checked by the address guard before anything is fetched, so
  one blocked or ``file:`` segment fails the stream with no request sent;
* each part is one :func:`~harvester.net.exchange.exchange` (retries,
  deadline, guard at every hop, per-host slots), a few at a time;
* a part is written to ``NAME.tmp`` and renamed when complete, so a file
  named like a part is a whole part: a later run finds it and does not
  fetch it again (resume at segment granularity);
* the bytes of all parts together stay under ``max_bytes`` (``too_large``);
* a failure names the part (``segment 3 of 10 (URL): ...``) and keeps the
  stream's code (``http_404``, ``private_address`` ...).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import httpx

from harvester.download.names import open_regular
from harvester.errors import BlockedURL, DownloadError, RemoteError, StreamRefused, TooLarge
from harvester.net.body import body_chunks
from harvester.net.client import Session
from harvester.net.exchange import Request, exchange
from harvester.net.guard import check_url
from harvester.stream.model import Media, Part

__all__ = ["Budget", "Job", "fetch_parts", "plan_files"]

#: An AES-128 key is exactly this long.
KEY_BYTES = 16


@dataclass(frozen=True, slots=True)
class Job:
    """One part to fetch, the local name it gets and how a failure names it."""

    part: Part
    name: str
    label: str
    is_key: bool = False


class Budget:
    """The byte cap shared by every part of one stream (thread-safe)."""

    def __init__(self, limit: int, url: str) -> None:
        self.limit, self.url, self.used = limit, url, 0
        self._lock = threading.Lock()

    def left(self) -> int:
        with self._lock:
            return max(self.limit - self.used, 0)

    def add(self, size: int) -> None:
        with self._lock:
            self.used += size
            if self.used > self.limit:
                raise TooLarge(f"the stream's segments pass the {self.limit}-byte cap",
                               self.url)


def plan_files(media: Media, prefix: str) -> tuple[list[Job], dict[Part, str]]:
    """The jobs for one track and the local name of every part (a part used by
    several segments, like an init section or a key, is fetched once)."""
    names: dict[Part, str] = {}
    jobs: list[Job] = []
    total = len(media.segments)
    ext = "m4s" if any(s.init for s in media.segments) else "ts"

    def add(part: Part, name: str, label: str, is_key: bool = False) -> None:
        if part not in names:
            names[part] = name
            jobs.append(Job(part, name, label, is_key))

    for i, segment in enumerate(media.segments):
        if segment.init is not None:
            add(segment.init, f"{prefix}-init{len(names):05d}.mp4", f"init section {i + 1}")
        if segment.key is not None:
            add(segment.key.part, f"{prefix}-key{len(names):05d}.key", f"key of segment {i + 1}",
                is_key=True)
        add(segment.part, f"{prefix}-seg{i:05d}.{ext}", f"segment {i + 1} of {total}")
    return jobs, names


def fetch_parts(session: Session, jobs: list[Job], workdir: Path, budget: Budget, *,
                workers: int, progress: Callable[[int], None] | None = None) -> int:
    """Fetch every job not already on disk; returns the attempts made."""
    for job in jobs:
        _check(session, job, budget.url)
    todo: list[Job] = []
    for job in jobs:
        size = _done_size(workdir / job.name, budget.url)
        if size is None:
            todo.append(job)
        else:
            budget.add(size)
    attempts = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(_fetch, session, job, workdir, budget, progress) for job in todo]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        errors = [e for e in (f.exception() for f in done) if e is not None]
        if errors:
            for future in futures:
                future.cancel()  # the parts not started yet; running ones end by their deadline
            raise errors[0]
        attempts = sum(f.result() for f in futures)
    return attempts


def _check(session: Session, job: Job, url: str) -> None:
    try:
        check_url(job.part.url, session.rules)
    except BlockedURL as exc:
        raise BlockedURL(f"{job.label} ({job.part.url}): {exc.message}", url,
                         code=exc.code) from None


def _done_size(path: Path, url: str) -> int | None:
    """The size of a part already fetched by an earlier run, or None."""
    try:
        fd = open_regular(path, os.O_RDONLY, url)
    except FileNotFoundError:
        return None
    try:
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def _fetch(session: Session, job: Job, workdir: Path, budget: Budget,
           progress: Callable[[int], None] | None) -> int:
    """One part into ``workdir/name`` (via ``.tmp``); returns its attempts."""
    target = workdir / job.name
    tmp = workdir / (job.name + ".tmp")
    byterange = job.part.byterange

    def headers() -> dict[str, str]:
        if byterange is None:
            return {"Accept-Encoding": "identity"}
        start, length = byterange
        return {"Accept-Encoding": "identity", "Range": f"bytes={start}-{start + length - 1}"}

    def handle(response: httpx.Response, final: str) -> int:
        if byterange is not None and response.status_code != 206:
            raise StreamRefused("the server ignores byte ranges", job.part.url)
        size = _write(session, response, job, tmp, budget.left())
        os.replace(tmp, target)
        return size

    try:
        size, attempts = exchange(session, Request(job.part.url, handle=handle, headers=headers))
    except RemoteError as exc:
        raise _named(exc, job, budget.url) from None
    budget.add(size)
    if progress is not None:
        progress(size)
    return attempts


def _write(session: Session, response: httpx.Response, job: Job, tmp: Path, limit: int) -> int:
    fd = open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, job.part.url)
    size = 0
    try:
        for chunk in body_chunks(response, job.part.url, session.policy, limit=limit):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
            size += len(chunk)
        os.fsync(fd)
    finally:
        os.close(fd)
    if job.is_key and size != KEY_BYTES:
        raise StreamRefused(f"an AES-128 key is {KEY_BYTES} bytes, got {size}", job.part.url,
                            code="bad_key")
    return size


def _named(exc: RemoteError, job: Job, url: str) -> RemoteError:
    """The part's error as the stream's, naming the part, keeping code and attempts."""
    message = f"{job.label} ({job.part.url}): {exc.message}"
    if isinstance(exc, BlockedURL):
        named: RemoteError = BlockedURL(message, url, code=exc.code)
    elif isinstance(exc, StreamRefused):
        named = StreamRefused(message, url, code=exc.code)
    elif exc.code == "too_large":
        named = TooLarge(message, url)
    else:
        named = DownloadError(message, url, code=exc.code)
    named.attempts = exc.attempts
    return named
