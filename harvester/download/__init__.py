"""Download one media URL into the download directory, safely, with retries and resume.

Promise: :func:`download` either returns a file that is complete (length as
announced, sha256 computed while streaming), looks like media by its magic
bytes, and sits at a name we made (``ab/ab12....mp4``) inside ``dest_dir``; or
it raises a :class:`~harvester.errors.HarvesterError` with a stable ``code``
and leaves no final file.  The file's data is durable when it returns, and so
is its name, or, when the caller passes a :class:`DirSync`, once the caller's
``dirsync.flush()`` returns (one directory fsync for a batch of files: record
a file only after that).  A ``.part`` survives a failure only when it can be
resumed (identity body with a strong ETag or Last-Modified).

Every request goes through the network layer (:mod:`harvester.net`): the
address guard at every hop (a media URL found in a page is never trusted),
the retry policy, the per-attempt deadline, the per-host limit and the
bounded body reader.  ``max_bytes`` is checked on the announced length and
while streaming; ``Content-Disposition`` is ignored.  :mod:`.transfer` holds
the resume rules.

>>> with open_session(cfg) as session:                         # doctest: +SKIP
...     result = download(url, session, dest_dir=Path("downloads"), max_bytes=cfg.max_bytes)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from harvester.download.names import (
    DirSync,
    PartFiles,
    UnsafePath,
    same_stamp,
    stored_file,
    verified_file,
)
from harvester.download.transfer import Done, Job
from harvester.errors import (
    BlockedURL,
    DownloadError,
    HarvesterError,
    NotMedia,
    RemoteError,
    TooLarge,
)
from harvester.net.client import Session
from harvester.net.deadline import Cancelled
from harvester.net.exchange import COOLING, Request, exchange
from harvester.net.guard import check_url
from harvester.net.policy import Deferred, Transient
from harvester.records import ErrorInfo, MediaResult, MediaStatus

__all__ = ["COOLING", "DirSync", "download", "result_from_error"]


def download(
    url: str, session: Session, *, dest_dir: Path, max_bytes: int, kind: str = "video",
    previous: MediaResult | None = None, progress: Callable[[int], None] | None = None,
    on_size: Callable[[int], None] | None = None, verify: bool = False,
    dirsync: DirSync | None = None,
) -> MediaResult:
    """Fetch ``url`` into ``dest_dir``; DOWNLOADED, or CACHED when ``previous`` still holds.

    ``previous``'s file still holds when it has the recorded size and modification
    time (not read again), or, when those differ, none is recorded or ``verify`` is
    set, when its bytes hash to the recorded sha256.  With ``dirsync`` the new
    file's name is durable only after ``dirsync.flush()``.

    ``kind`` is ``"video"`` or ``"thumbnail"`` (an image is not a video and a
    video is not a thumbnail).  ``on_size(total)`` hears the file's size when
    the server announces it; ``progress(n)`` receives byte deltas (negative
    when a restart discards bytes).  Raises BlockedURL, TooLarge, NotMedia (its
    subclass IsStream when a video URL answers with an HLS playlist or a DASH
    manifest: :mod:`harvester.stream` takes it from there, with the body read),
    Deferred or DownloadError (``code``, ``attempts``); see :func:`result_from_error`.
    """
    check_url(url, session.rules)
    cached = _cached(url, dest_dir, previous, verify)
    if cached is not None:
        return cached
    dest_dir.mkdir(parents=True, exist_ok=True)
    files = PartFiles.for_url(dest_dir, url)
    with files.locked():
        job = Job(url, session.policy, max_bytes, dest_dir, kind, files, progress, on_size,
                  dirsync)
        return _fetch(url, session, job)


def _fetch(url: str, session: Session, job: Job) -> MediaResult:
    """The download itself, with the URL's lock held."""
    request = Request(url, handle=job.receive, headers=job.headers, accept=job.accepts)
    try:
        done, attempts = exchange(session, request)
    except UnsafePath:
        raise
    except RemoteError as exc:
        if not (job.resumable and isinstance(exc, Transient | Deferred | Cancelled)):
            job.files.discard()
        raise _as_download_error(exc) from exc
    return _downloaded(url, done, attempts)


def _downloaded(url: str, done: Done, attempts: int) -> MediaResult:
    return MediaResult(url=url, status=MediaStatus.DOWNLOADED, path=done.relpath,
                       bytes=done.size, sha256=done.sha256, attempts=attempts,
                       content_type=done.mime, etag=done.etag,
                       last_modified=done.last_modified, mtime_ns=done.mtime_ns)


def _as_download_error(exc: RemoteError) -> RemoteError:
    """The network layer's error in the download family (same code and attempts)."""
    if isinstance(exc, BlockedURL | DownloadError | Cancelled):
        return exc
    kind = TooLarge if exc.code == "too_large" else DownloadError
    return kind(exc.message, exc.url, code=exc.code, attempts=exc.attempts)


def _cached(url: str, dest_dir: Path, previous: MediaResult | None,
            verify: bool) -> MediaResult | None:
    """``previous`` as CACHED when its file is still there with the same sha256: by its
    unchanged size and modification time, or else (and always with ``verify``) by
    reading it."""
    if previous is None or previous.sha256 is None:
        return None
    path = stored_file(dest_dir, previous.path)
    if path is None:
        return None
    if not verify and same_stamp(path, previous.bytes, previous.mtime_ns):
        return replace(previous, url=url, status=MediaStatus.CACHED, attempts=0, error=None)
    found = verified_file(path, url, reread=verify)
    if found.sha256 != previous.sha256:
        return None  # damaged or replaced since: fetched again, and the file replaced
    return replace(previous, url=url, status=MediaStatus.CACHED, attempts=0, error=None,
                   bytes=found.size, mtime_ns=found.mtime_ns)


def result_from_error(url: str, exc: HarvesterError) -> MediaResult:
    """The MediaResult the manifest records for a failed download."""
    if isinstance(exc, BlockedURL):
        status = MediaStatus.BLOCKED
    elif isinstance(exc, TooLarge):
        status = MediaStatus.SKIPPED
    elif isinstance(exc, NotMedia):
        status = MediaStatus.NOT_MEDIA
    elif isinstance(exc, Deferred) or exc.code.endswith("_deferred") or exc.code == COOLING:
        status = MediaStatus.DEFERRED
    else:
        status = MediaStatus.FAILED
    attempts = exc.attempts if isinstance(exc, RemoteError) else 0
    return MediaResult(url=url, status=status, attempts=attempts,
                       error=ErrorInfo(exc.code, exc.message))
