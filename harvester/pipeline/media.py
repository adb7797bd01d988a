"""The media stage of a run: download each distinct URL once, probe it, check claims.

A ``contentUrl`` that answers with an HLS playlist or a DASH manifest is a
stream (:mod:`harvester.stream`): downloaded segment by segment and remuxed
to MP4, or with ``measure`` alone measured from its playlists.

Downloads run on a thread pool of ``config.concurrency`` workers with a
per-host cap; each distinct URL is fetched once even when several videos (or
several pages) point at it.  Each file is probed as soon as its download ends,
on a pool of its own, while other downloads go on (ffprobe works the CPU,
downloads mostly wait on the network); the same content is probed once.  Only
``harvester.pipeline.run`` calls this.

Finished files are recorded (in the state, or the directory's index) in
batches, each once its new directory entries are durable: one fsync per
directory for the batch, not one per file (:class:`Recorder`).  A crash
never leaves a record of a file that is not on disk; it may lose the records
of the last batch, whose files the next run finds and checks again.

Shard workers run this stage side by side over one download directory, and
two shards may name the same URL: with ``lock_dir`` each URL is fetched by
one of them at a time, so two never write the same ``.part`` file at once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from harvester.config import Config
from harvester.download import DirSync, download, result_from_error
from harvester.errors import HarvesterError, IsStream
from harvester.files import waiting_lock
from harvester.measure.checks import check
from harvester.measure.probe import probe, probe_available
from harvester.net.client import Session, open_session
from harvester.pipeline.dirindex import DirIndex
from harvester.pipeline.events import Event, Progress
from harvester.records import (
    ErrorInfo,
    Media,
    MediaResult,
    MediaStatus,
    Probe,
    StreamKind,
    Video,
)
from harvester.stream import StreamOptions, download_stream, found_playlist, measure_stream

if TYPE_CHECKING:
    from harvester.store.view import StateView

log = logging.getLogger(__name__)

_HAVE_FILE = (MediaStatus.DOWNLOADED, MediaStatus.CACHED)


def media_urls(videos: Iterable[Video]) -> list[tuple[str, str]]:
    """Distinct (url, kind) pairs to fetch, in first-seen order."""
    wanted: dict[str, str] = {}
    for video in videos:
        if video.declared.content_url:
            wanted.setdefault(video.declared.content_url, "video")
        if video.declared.thumbnail_urls:
            wanted.setdefault(video.declared.thumbnail_urls[0], "thumbnail")
    return list(wanted.items())


def declared_sizes(videos: Iterable[Video]) -> dict[str, tuple[int, int]]:
    """The first declared (width, height) of each content URL: the size a stream's
    rendition should match."""
    sizes: dict[str, tuple[int, int]] = {}
    for video in videos:
        d = video.declared
        if d.content_url and d.width is not None and d.height is not None:
            sizes.setdefault(d.content_url, (d.width, d.height))
    return sizes


def run_media(
    videos: list[Video], config: Config, *, state: StateView | None = None,
    progress: Progress | None = None, session: Session | None = None,
    lock_dir: Path | None = None,
) -> dict[str, Media]:
    """Download, probe and check the media of ``videos``; keyed by video id.

    A file already in the download directory is reused when its bytes still
    match what was recorded for its URL: by ``state``, or without one by the
    directory's own index (:mod:`harvester.pipeline.dirindex`).  ``lock_dir``
    (for runs that share the download directory with other processes) holds
    a lock file per URL while it is being fetched.
    """
    dest = Path(config.dir)
    dest.mkdir(parents=True, exist_ok=True)
    own = session is None
    net = session or open_session(config)
    # Without a state, the directory's own index says which files are already there.
    index = DirIndex(dest) if state is None else None
    # A stopped run starts no new probe: measuring would only delay it.
    probes = Probes(config, dest, net.cancel) if config.probe else None
    recorder = Recorder([m for m in (state, index) if m is not None])
    fetcher = Fetcher(config, net, dest, state, progress, lock_dir, declared_sizes(videos),
                      index, probes, recorder)
    try:
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            jobs = media_urls(videos)
            if not config.download:  # measuring reads the playlists of videos only
                jobs = [(url, kind) for url, kind in jobs if kind == "video"]
            fetched = dict(zip([u for u, _ in jobs], pool.map(
                lambda job: fetcher.fetch(*job), jobs), strict=True))
        recorder.flush()  # before the probes' own records, which come after
        measured = measure_all(fetched, config, dest, state, probes)
    finally:
        if own:
            net.close()
        recorder.flush()
        if index is not None:
            index.flush()
        if probes is not None:
            probes.close()
    return {v.id: media_for(v, measured) for v in videos
            if v.declared.content_url or v.declared.thumbnail_urls}


@dataclass(frozen=True)
class Fetcher:
    """Everything one run's downloads share: session, state and progress."""

    config: Config
    session: Session
    dest: Path
    state: StateView | None = None
    progress: Progress | None = None
    lock_dir: Path | None = None
    sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    index: DirIndex | None = None
    probes: Probes | None = None
    recorder: Recorder | None = None

    def fetch(self, url: str, kind: str) -> MediaResult:
        """One download; every failure becomes a MediaResult with a stable code.

        Once the run has been asked to stop, nothing new is started: the URL is
        ``skipped`` with the code ``interrupted``.
        """
        if self.session.cancel.is_set():
            return MediaResult(url=url, status=MediaStatus.SKIPPED, error=ErrorInfo(
                "interrupted", "the run was interrupted before this download started"))
        with self._only_fetcher_of(url):
            result = self._download(url, kind)
        if result.status in _HAVE_FILE:
            if self.recorder is not None:
                self.recorder.add(result)
            else:  # no recorder, no DirSync: the file's name was durable on return
                for memory in (self.state, self.index):
                    if memory is not None:
                        memory.save_media(result)
            if self.probes is not None:
                self.probes.start(url, result)
        if self.progress is not None:
            self.progress(Event("media-done", url, result.bytes or 0, media=result))
        return result

    def _download(self, url: str, kind: str) -> MediaResult:
        try:
            if not self.config.download:
                return measure_stream(url, self.session, self._stream_options(url))
            return self._file_or_stream(url, kind)
        except HarvesterError as exc:
            return result_from_error(url, exc)
        except Exception as exc:  # a bug must cost one download, never the run
            return MediaResult(url=url, status=MediaStatus.FAILED,
                               error=ErrorInfo("internal_error", repr(exc)[:300]))

    def _file_or_stream(self, url: str, kind: str) -> MediaResult:
        memory = self.state if self.state is not None else self.index
        previous = memory.media(url) if memory is not None else None
        try:
            return download(url, self.session, dest_dir=self.dest,
                            max_bytes=self.config.max_bytes, kind=kind, previous=previous,
                            verify=self.config.verify,
                            dirsync=self.recorder.dirsync if self.recorder else None,
                            progress=_byte_reporter(url, self.progress),
                            on_size=_size_reporter(url, self.progress))
        except IsStream as found:
            return self._stream(url, found)

    def _stream(self, url: str, found: IsStream) -> MediaResult:
        """A stream's MP4; a failure keeps saying which kind of stream it was."""
        try:
            return download_stream(url, self.session, self._stream_options(url),
                                   dest_dir=self.dest, max_bytes=self.config.max_bytes,
                                   progress=_byte_reporter(url, self.progress),
                                   first=found_playlist(found))
        except HarvesterError as exc:
            return replace(result_from_error(url, exc), stream=StreamKind(found.kind))

    def _stream_options(self, url: str) -> StreamOptions:
        return StreamOptions(choice=self.config.stream_variant, declared=self.sizes.get(url),
                             remux_timeout=self.config.remux_timeout)

    @contextmanager
    def _only_fetcher_of(self, url: str) -> Iterator[None]:
        """The URL's lock, when other processes download into the same directory."""
        if self.lock_dir is None:
            yield
            return
        key = hashlib.sha256(url.encode("utf-8", "surrogateescape")).hexdigest()
        with waiting_lock(self.lock_dir / f"{key}.lock"):
            yield


class _Memory(Protocol):
    def save_media(self, result: MediaResult) -> None: ...


class Recorder:
    """Records files on disk in the state and the directory index, in batches: a
    batch is saved once the directory entries of its files are durable (one
    fsync per directory, :class:`DirSync`).  A batch is due at ``batch`` files or
    when its oldest has waited ``wait`` seconds; :meth:`flush` saves the rest."""

    def __init__(self, memories: list[_Memory], *, batch: int = 256,
                 wait: float = 2.0) -> None:
        self.dirsync = DirSync()
        self._memories = memories
        self._batch = batch
        self._wait = wait
        self._lock = threading.Lock()
        self._pending: list[MediaResult] = []
        self._since = 0.0

    def add(self, result: MediaResult) -> None:
        """Record ``result`` with its batch (saving the batch now when it is due)."""
        with self._lock:
            if not self._pending:
                self._since = time.monotonic()
            self._pending.append(result)
            due = (len(self._pending) >= self._batch
                   or time.monotonic() - self._since >= self._wait)
        if due:
            self.flush()

    def flush(self) -> None:
        """Make every pending file's name durable, then save the pending records."""
        with self._lock:
            batch, self._pending = self._pending, []
        _durable_then_saved(batch, self._memories, self.dirsync)


def _durable_then_saved(results: list[MediaResult], memories: list[_Memory],
                        dirsync: DirSync | None) -> None:
    if dirsync is not None:
        try:
            dirsync.flush()  # also when the batch is empty: another thread's files may wait
        except OSError as exc:
            # Not durable, so not recorded: the next run finds these files and checks them.
            log.warning("cannot fsync the download directory (%s); %d files not recorded",
                        exc, len(results))
            return
    for result in results:
        for memory in memories:
            memory.save_media(result)


def _size_reporter(url: str, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda total: progress(Event("media-start", url, total=total))


def _byte_reporter(url: str, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda n: progress(Event("media-bytes", url, n))


class Probes:
    """ffprobe runs started as files arrive, ``config.concurrency`` at a time, each
    content (by sha256) once.  Once ``cancel`` is set no new one starts."""

    def __init__(self, config: Config, dest: Path, cancel: threading.Event) -> None:
        self._config = config
        self._dest = dest
        self._cancel = cancel
        self._available = probe_available()
        self._pool = ThreadPoolExecutor(max_workers=config.concurrency,
                                        thread_name_prefix="probe")
        self._lock = threading.Lock()
        self._started: dict[str, Future[Probe | None]] = {}

    def start(self, url: str, result: MediaResult) -> None:
        """Probe ``result``'s file in the background, unless it needs none or its
        content is already being probed."""
        if not _needs_probe(result):
            return
        key = result.sha256 or url
        with self._lock:
            if key not in self._started:
                self._started[key] = self._pool.submit(self._run, result)

    def result(self, url: str, result: MediaResult) -> Probe | None:
        """The probe of ``result``'s file (waiting for it); None when the run was
        stopped before it ended (a stopped run waits for no probe)."""
        self.start(url, result)
        with self._lock:
            started = self._started[result.sha256 or url]
        if self._cancel.is_set() and not started.done():
            return None
        return started.result()

    def close(self) -> None:
        """Drop probes not yet begun; wait for those running unless the run was stopped
        (each ends by itself within its timeout)."""
        self._pool.shutdown(wait=not self._cancel.is_set(), cancel_futures=True)

    def _run(self, result: MediaResult) -> Probe | None:
        if self._cancel.is_set():
            return None
        return _probe_file(self._dest / str(result.path), result, self._config,
                           self._available)


def measure_all(
    fetched: dict[str, MediaResult], config: Config, dest: Path, state: StateView | None,
    probes: Probes | None = None,
) -> dict[str, MediaResult]:
    """Attach a probe to every file on disk; the same content is probed once.

    ``probes`` may already be running some of them (started as downloads
    finished); the rest start here, all at once, ``config.concurrency`` at a
    time: each is an ffprobe process, mostly its own start-up.
    """
    if not config.probe:
        return fetched
    own = probes is None
    running = probes if probes is not None else Probes(config, dest, threading.Event())
    try:
        for url, result in fetched.items():
            running.start(url, result)
        return {url: _measured(url, result, running, state) for url, result in fetched.items()}
    finally:
        if own:
            running.close()


def _measured(url: str, result: MediaResult, probes: Probes,
              state: StateView | None) -> MediaResult:
    """``result`` with its probe attached (and remembered), when it needed one."""
    if not _needs_probe(result):
        return result
    measured = probes.result(url, result)
    if measured is None:  # the run stopped first
        return result
    if measured.error is not None and _from_playlist(result):
        measured = result.probe or measured  # the playlist's word beats nothing
    out = replace(result, probe=measured)
    if state is not None:
        state.save_media(out)
    return out


def _needs_probe(result: MediaResult) -> bool:
    """A file on disk that has no probe yet (or only its playlist's word)."""
    if result.status not in _HAVE_FILE or result.path is None:
        return False
    return result.probe is None or result.probe.error is not None or _from_playlist(result)


def _from_playlist(result: MediaResult) -> bool:
    """True when a stream's probe is what its playlist said, not yet ffprobe's word."""
    return (result.stream is not None and result.probe is not None
            and result.probe.format_name == result.stream.value)


def _probe_file(path: Path, result: MediaResult, config: Config, available: bool) -> Probe:
    if not available:
        return Probe(available=False, error="ffprobe_unavailable")
    kind = "thumbnail" if (result.content_type or "").startswith("image/") else "video"
    return probe(path, kind=kind, timeout=config.probe_timeout)


def media_for(video: Video, measured: dict[str, MediaResult]) -> Media:
    """The downloads of one video and the verdicts of its claims."""
    vid = measured.get(video.declared.content_url or "")
    thumb_url = video.declared.thumbnail_urls[0] if video.declared.thumbnail_urls else None
    thumb = measured.get(thumb_url) if thumb_url else None
    checks = check(video.declared, vid.probe if vid else None, thumb.probe if thumb else None)
    return Media(video=vid, thumbnail=thumb, checks=checks)
