"""Download one media URL into the download directory, safely, with retries and resume.

Promise: :func:`download` either returns a file that is complete (length as
announced, sha256 computed while streaming), looks like media by its magic
bytes, and sits at a name we made (``ab/ab12....mp4``) inside ``dest_dir``; or
it raises a :class:`~harvester.errors.HarvesterError` with a stable ``code``
and leaves no final file.  A ``.part`` survives a failure only when it can be
resumed (identity body with a strong ETag or Last-Modified).

* Safety: only http(s); every hop's address is checked at connect time
  (:mod:`harvester.net.guard`); redirects are followed by hand up to
  ``max_redirects``; ``max_bytes`` is checked on the announced length and while
  streaming; ``Content-Disposition`` is ignored.
* Retries (tenacity) wrap the whole transfer; see :mod:`.policy` for what is
  retried and how long we wait, :mod:`.transfer` for resume, :mod:`.stream`
  for the deadline, speed watchdog and the gzip policy (decoded under the cap,
  not resumable).

>>> with make_media_client(cfg) as client:                     # doctest: +SKIP
...     result = download(url, cfg, client, dest_dir=Path("downloads"))
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from harvester.config import Config
from harvester.download.names import PartFiles, hash_file, stored_file
from harvester.download.transfer import Done, Job, run_attempt
from harvester.errors import BlockedURL, DownloadError, HarvesterError, NotMedia, TooLarge
from harvester.net.guard import GuardTransport, check_url
from harvester.net.policy import Backoff, Deferred, Transient, is_transient
from harvester.records import ErrorInfo, MediaResult, MediaStatus

if TYPE_CHECKING:
    from harvester.net.limiter import HostLimiter

__all__ = ["COOLING", "download", "make_media_client", "result_from_error"]

#: The code of an item deferred because its host asked us to stay away earlier in the run.
COOLING = "host_cooling_down"


def make_media_client(cfg: Config) -> httpx.Client:
    """An HTTP/1.1 client for media: guarded transport, no env proxies, no auto-redirects.

    The pool holds ``cfg.concurrency`` connections and requests wait for a free
    one without a pool timeout (R41): concurrency is capped by the caller's
    executor and the per-host semaphore, never by failing with ``PoolTimeout``.
    """
    limits = httpx.Limits(max_connections=cfg.concurrency,
                          max_keepalive_connections=cfg.concurrency)
    transport = GuardTransport(allow_private=cfg.allow_private_hosts, limits=limits)
    return httpx.Client(
        transport=transport, trust_env=False, follow_redirects=False,
        timeout=httpx.Timeout(cfg.timeout, pool=None),
        headers={"User-Agent": cfg.user_agent, "Accept-Encoding": "identity"},
    )


def download(
    url: str, cfg: Config, client: httpx.Client, *, dest_dir: Path, kind: str = "video",
    limiter: HostLimiter | None = None, previous: MediaResult | None = None,
    progress: Callable[[int], None] | None = None,
) -> MediaResult:
    """Fetch ``url`` into ``dest_dir``; DOWNLOADED, or CACHED when ``previous`` still holds.

    ``kind`` is ``"video"`` or ``"thumbnail"`` (an image is not a video and a
    video is not a thumbnail).  ``progress(n)`` receives byte deltas (negative
    when a restart discards bytes).  Raises BlockedURL, TooLarge, NotMedia or
    DownloadError (``code``, ``attempts``); see :func:`result_from_error`.
    """
    check_url(url, allow_private=cfg.allow_private_hosts)
    cached = _cached(url, dest_dir, previous)
    if cached is not None:
        return cached
    dest_dir.mkdir(parents=True, exist_ok=True)
    job = Job(url, cfg, client, dest_dir, kind, PartFiles.for_url(dest_dir, url), progress)
    done, attempts = _with_retries(job, limiter, urlsplit(url).hostname or "")
    return MediaResult(url=url, status=MediaStatus.DOWNLOADED, path=done.relpath,
                       bytes=done.size, sha256=done.sha256, attempts=attempts,
                       content_type=done.mime, etag=done.etag,
                       last_modified=done.last_modified)


def _with_retries(job: Job, limiter: HostLimiter | None, host: str) -> tuple[Done, int]:
    retrying = Retrying(stop=stop_after_attempt(job.cfg.retries + 1), wait=Backoff(job.cfg),
                        retry=retry_if_exception(is_transient), reraise=True)
    attempts = 0
    done: Done | None = None
    try:
        _check_cooling(job, limiter, host)
        for attempt in retrying:
            with attempt, _slot(limiter, host):
                _check_cooling(job, limiter, host)  # another download may have been told
                attempts = attempt.retry_state.attempt_number
                done = _throttled_attempt(job, limiter, host)
    except DownloadError as exc:
        exc.attempts = attempts
        raise
    except BlockedURL as exc:
        exc.attempts = attempts  # type: ignore[attr-defined]
        raise
    assert done is not None
    return done, attempts


def _check_cooling(job: Job, limiter: HostLimiter | None, host: str) -> None:
    """Defer at once, without a request, while ``host`` is cooling down (R13)."""
    left = limiter.cooling(host) if limiter is not None else None
    if left is not None:
        raise Deferred(f"{host} asked us to stay away for {left:.0f} s more: deferred to a "
                       "later run", job.url, code=COOLING, retry_after=left)


def _throttled_attempt(job: Job, limiter: HostLimiter | None, host: str) -> Done:
    """One attempt; a host that says "too many requests" gets fewer slots or a rest.

    A 429 halves the host's concurrency for the rest of the run (R14); a
    ``Retry-After`` above the cap cools the host down until then, so the other
    downloads from it are deferred without asking (R13).
    """
    try:
        return run_attempt(job)
    except Deferred as exc:
        if limiter is not None and exc.retry_after is not None:
            limiter.cool_down(host, time.monotonic() + exc.retry_after)
        raise
    except Transient as exc:
        if limiter is not None and exc.code == "http_429":
            limiter.reduce(host)
        raise


@contextlib.contextmanager
def _slot(limiter: HostLimiter | None, host: str) -> Iterator[None]:
    """Hold a per-host slot for one attempt (not across the backoff sleep)."""
    if limiter is None:
        yield
        return
    with limiter.slot(host):
        yield


def _cached(url: str, dest_dir: Path, previous: MediaResult | None) -> MediaResult | None:
    """``previous`` as CACHED when its file is still there with the same sha256."""
    if previous is None or previous.sha256 is None:
        return None
    path = stored_file(dest_dir, previous.path)
    if path is None:
        return None
    if hash_file(path, url).hexdigest() != previous.sha256:
        return None
    return replace(previous, url=url, status=MediaStatus.CACHED, attempts=0, error=None)


def result_from_error(url: str, exc: HarvesterError) -> MediaResult:
    """The MediaResult the manifest records for a failed download."""
    if isinstance(exc, BlockedURL):
        status = MediaStatus.BLOCKED
    elif isinstance(exc, TooLarge):
        status = MediaStatus.SKIPPED
    elif isinstance(exc, NotMedia):
        status = MediaStatus.NOT_MEDIA
    elif isinstance(exc, Deferred) or exc.code.endswith("_deferred"):
        status = MediaStatus.DEFERRED
    else:
        status = MediaStatus.FAILED
    attempts = getattr(exc, "attempts", 0)
    return MediaResult(url=url, status=status, attempts=attempts if isinstance(attempts, int)
                       else 0, error=ErrorInfo(exc.code, exc.message))
