"""The media stage of a run: download each distinct URL once, probe it, check claims.

A ``contentUrl`` that answers with an HLS playlist or a DASH manifest is a
stream (:mod:`harvester.stream`): downloaded segment by segment and remuxed
to MP4, or with ``measure`` alone measured from its playlists.

Downloads run on a thread pool of ``config.concurrency`` workers with a
per-host cap; each distinct URL is fetched once even when several videos (or
several pages) point at it.  Probes are cached by content hash.  Only
``harvester.pipeline.run`` calls this.

Shard workers run this stage side by side over one download directory, and
two shards may name the same URL: with ``lock_dir`` each URL is fetched by
one of them at a time, so two never write the same ``.part`` file at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from harvester.config import Config
from harvester.download import download, result_from_error
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
    fetcher = Fetcher(config, net, dest, state, progress, lock_dir, declared_sizes(videos),
                      index)
    try:
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            jobs = media_urls(videos)
            if not config.download:  # measuring reads the playlists of videos only
                jobs = [(url, kind) for url, kind in jobs if kind == "video"]
            fetched = dict(zip([u for u, _ in jobs], pool.map(
                lambda job: fetcher.fetch(*job), jobs), strict=True))
    finally:
        if own:
            net.close()
        if index is not None:
            index.flush()
    if net.cancel.is_set():  # measuring would only delay a stopped run
        config = replace(config, probe=False)
    measured = measure_all(fetched, config, dest, state)
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
            for memory in (self.state, self.index):
                if memory is not None:
                    memory.save_media(result)
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


def _size_reporter(url: str, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda total: progress(Event("media-start", url, total=total))


def _byte_reporter(url: str, progress: Progress | None) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda n: progress(Event("media-bytes", url, n))


def measure_all(
    fetched: dict[str, MediaResult], config: Config, dest: Path, state: StateView | None,
) -> dict[str, MediaResult]:
    """Attach a probe to every file on disk; the same content is probed once.

    Probes run ``config.concurrency`` at a time: each is an ffprobe process
    that mostly waits for the disk and its own start-up.
    """
    if not config.probe:
        return fetched
    available = probe_available()
    wanted = {url: r for url, r in fetched.items() if _needs_probe(r)}
    files = {r.sha256 or url: r for url, r in wanted.items()}
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        probes = dict(zip(files, pool.map(
            lambda r: _probe_file(dest / str(r.path), r, config, available), files.values()),
            strict=True))
    out: dict[str, MediaResult] = {}
    for url, result in fetched.items():
        if url not in wanted:
            out[url] = result
            continue
        measured = probes[result.sha256 or url]
        if measured.error is not None and _from_playlist(result):
            measured = result.probe or measured  # the playlist's word beats nothing
        out[url] = replace(result, probe=measured)
        if state is not None:
            state.save_media(out[url])
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
