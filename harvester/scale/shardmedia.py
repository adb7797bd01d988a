"""Downloads at scale: one task per media host, on the run's executor.

Media candidates are deduplicated (each URL once), then grouped by the host
of each video's content URL (its thumbnail's when it has none), so that one
worker owns each host's politeness limits (``config.per_host``).  Each task is
:func:`download_group`, which calls :func:`harvester.pipeline.media.run_media` on its
videos.  Files are stored by content hash, so a thumbnail shared by videos on
two hosts, fetched by two workers, lands in the same file: harmless.

The state stays with the coordinator: it hands each task what the state knew
about its URLs, and records what the task kept.  ``config.dir`` must be a
directory every worker can write (a shared mount on a real cluster).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from harvester.config import Config
from harvester.records import ErrorInfo, Media, MediaResult, MediaStatus, Video

if TYPE_CHECKING:
    from harvester.pipeline.run import Progress
    from harvester.store.state import State


class MediaMemo:
    """The two state calls run_media makes, answered from a snapshot; saves are kept."""

    def __init__(self, known: dict[str, MediaResult]) -> None:
        self.known = known
        self.saved: dict[str, MediaResult] = {}

    def media(self, url: str) -> MediaResult | None:
        return self.known.get(url)

    def save_media(self, result: MediaResult) -> None:
        self.saved[result.url] = result


def _urls(video: Video) -> list[str]:
    return [u for u in (video.declared.content_url, *video.declared.thumbnail_urls[:1]) if u]


def group_by_host(videos: Iterable[Video]) -> dict[str, list[Video]]:
    """Videos with media, grouped by the host of their first media URL (input order kept)."""
    groups: dict[str, list[Video]] = {}
    for video in videos:
        urls = _urls(video)
        if urls:
            host = (urlsplit(urls[0]).hostname or "").lower()
            groups.setdefault(host, []).append(video)
    return groups


def download_group(
    videos: list[Video], config: Config, known: dict[str, MediaResult],
) -> tuple[dict[str, Media], list[MediaResult]]:
    """Worker task: run_media on one host's videos; (media by video id, results to keep)."""
    from harvester.pipeline.media import run_media

    memo = MediaMemo(known)
    # run_media only calls .media() and .save_media() on its state.
    media = run_media(videos, config, state=cast("State", memo))
    return media, list(memo.saved.values())


def _failed(videos: list[Video], message: str) -> dict[str, Media]:
    def result(url: str | None) -> MediaResult | None:
        return None if url is None else MediaResult(
            url=url, status=MediaStatus.FAILED, error=ErrorInfo("internal_error", message))

    return {v.id: Media(video=result(v.declared.content_url),
                        thumbnail=result(next(iter(v.declared.thumbnail_urls), None)))
            for v in videos}


def run_media_sharded(
    pool: Executor, videos: list[Video], config: Config, *, state: State | None = None,
    progress: Progress | None = None,
) -> dict[str, Media]:
    """Download the media of ``videos``, one task per host group; results merged by id."""
    from harvester.pipeline.run import Event

    groups = group_by_host(videos)
    futures = []
    for host, group in groups.items():
        known: dict[str, MediaResult] = {}
        if state is not None:
            for url in {u for v in group for u in _urls(v)}:
                previous = state.media(url)
                if previous is not None:
                    known[url] = previous
        futures.append((host, pool.submit(download_group, group, config, known)))
    merged: dict[str, Media] = {}
    for host, future in futures:
        try:
            media, kept = future.result()
        except Exception as exc:  # a lost worker costs this host's downloads, not the run
            media, kept = _failed(groups[host], f"{type(exc).__name__}: {exc}"[:300]), []
        merged.update(media)
        if state is not None:
            for result in kept:
                state.save_media(result)
        if progress is not None:
            progress(Event("media-done", host, len(media)))
    return {v.id: merged[v.id] for v in videos if v.id in merged}
