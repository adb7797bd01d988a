"""HLS and DASH streams: measured from their playlists, downloaded segment by segment.

A ``contentUrl`` is a stream when its body starts like a playlist
(``#EXTM3U``, ``<MPD``), whatever its URL or Content-Type says.  Then:

* :func:`measure_stream` (``--measure``) fetches the playlists only and
  records the renditions (``variants``), the duration (the sum of the
  segment durations) and the size of the chosen rendition;
* :func:`download_stream` (``--download``) also fetches every part of the
  chosen rendition through the network layer into a per-stream work
  directory (``DIR/.streams/KEY/``; parts on disk are not fetched again),
  remuxes them locally into one MP4 with ffmpeg and stores it under its
  content hash like any other download; the work directory goes once the
  MP4 is in place, and no MP4 is kept when any part failed.

Both return a :class:`~harvester.records.MediaResult` with ``stream`` and
``variants``; DRM gives status ``protected`` and a live stream status
``live``, each with what was measured and nothing fetched beyond the
playlists.  Refusals (``playlist_loop``, ``playlist_too_deep``,
``too_many_segments``, a blocked or non-http(s) part) raise a
:class:`~harvester.errors.HarvesterError` with that code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harvester.download.names import PartFiles, UnsafePath, finalize, hash_file, read_head
from harvester.download.sniff import sniff
from harvester.errors import DownloadError, IsStream, NotMedia, StreamRefused
from harvester.net.client import Session
from harvester.records import ErrorInfo, MediaResult, MediaStatus, StreamKind
from harvester.stream.model import Media
from harvester.stream.remux import local_playlist, remux
from harvester.stream.resolve import Fetched, Plan, fetch_playlist, plan_stream
from harvester.stream.segments import Budget, fetch_parts, plan_files

__all__ = ["Fetched", "StreamOptions", "download_stream", "found_playlist", "measure_stream"]

#: Where work directories live inside the download directory.
WORK_DIR = ".streams"


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """How to pick a rendition and bound the work: ``choice`` is ``best``,
    ``worst``, ``match`` or ``WIDTHxHEIGHT``; ``declared`` the page's size."""

    choice: str = "match"
    declared: tuple[int, int] | None = None
    remux_timeout: float = 600.0


def measure_stream(url: str, session: Session, options: StreamOptions,
                   first: Fetched | None = None) -> MediaResult:
    """Status ``measured`` (or ``protected``/``live``) from the playlists alone;
    ``skipped`` with code ``not_stream`` when ``url`` is not a playlist."""
    first = first or fetch_playlist(session, url)
    if first.kind is None:
        return MediaResult(url=url, status=MediaStatus.SKIPPED, attempts=first.attempts,
                           error=ErrorInfo("not_stream", "not an HLS or DASH playlist; "
                                           "--measure reads playlists only"))
    plan = plan_stream(session, first, options.choice, options.declared)
    return _measured(url, plan, _status(plan) or MediaStatus.MEASURED)


def download_stream(url: str, session: Session, options: StreamOptions, *, dest_dir: Path,
                    max_bytes: int, progress: Callable[[int], None] | None = None,
                    first: Fetched | None = None) -> MediaResult:
    """The stream at ``url`` as one MP4 in ``dest_dir`` (status ``downloaded``);
    ``first`` is its playlist when the caller already read it."""
    first = first or fetch_playlist(session, url)
    if first.kind is None:
        raise NotMedia("the body is no longer a playlist", url)
    plan = plan_stream(session, first, options.choice, options.declared)
    status = _status(plan)
    if status is not None or plan.media is None:
        return _measured(url, plan, status or MediaStatus.FAILED)
    if not plan.media.segments:
        raise StreamRefused("the playlist lists no segments", url)
    workdir = _workdir(dest_dir, url, plan.media)
    tracks = [t for t in (plan.media, plan.media.audio) if t is not None]
    budget = Budget(max_bytes, url)
    attempts = plan.attempts
    playlists = []
    for number, track in enumerate(tracks):
        jobs, names = plan_files(track, f"t{number}")
        attempts += fetch_parts(session, jobs, workdir, budget,
                                workers=session.policy.per_host, progress=progress)
        playlist = workdir / f"t{number}.m3u8"
        playlist.write_text(local_playlist(track, names), "utf-8")
        playlists.append(playlist)
    files = PartFiles(url, workdir / "stream.mp4", workdir / "stream.json")
    remux(playlists, files.part, timeout=options.remux_timeout, url=url)
    return _stored(url, plan, files, dest_dir, workdir, attempts)


def found_playlist(found: IsStream) -> Fetched | None:
    """The playlist the downloader already read when it found a stream, if it kept it."""
    if found.body is None or found.final is None:
        return None
    return Fetched(found.kind, found.body, found.final, found.attempts)


def _status(plan: Plan) -> MediaStatus | None:
    if plan.protected:
        return MediaStatus.PROTECTED
    return MediaStatus.LIVE if plan.live else None


_REASONS = {
    MediaStatus.PROTECTED: ("drm", "the stream is encrypted with DRM ({}); nothing fetched"),
    MediaStatus.LIVE: ("live_stream", "a live stream has no end; measured from its playlist, "
                       "not fetched"),
    MediaStatus.FAILED: ("bad_playlist", "the playlist names no media"),
}


def _measured(url: str, plan: Plan, status: MediaStatus) -> MediaResult:
    reason = _REASONS.get(status)
    error = ErrorInfo(reason[0], reason[1].format(plan.protected)) if reason else None
    return MediaResult(url=url, status=status, attempts=plan.attempts, error=error,
                       probe=plan.measured(), stream=plan.kind, variants=plan.variants)


def _workdir(dest_dir: Path, url: str, media: Media) -> Path:
    """``DIR/.streams/KEY``: one per stream URL and chosen rendition, never a symlink."""
    tracks = "\n".join([url, media.url, media.audio.url if media.audio else ""])
    key = hashlib.sha256(tracks.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    workdir = dest_dir / WORK_DIR / key
    workdir.mkdir(parents=True, exist_ok=True)
    for path in (dest_dir / WORK_DIR, workdir):
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            raise UnsafePath(f"{path} is not a directory", url)
    return workdir


def _stored(url: str, plan: Plan, files: PartFiles, dest_dir: Path, workdir: Path,
            attempts: int) -> MediaResult:
    """Move the remuxed MP4 to its content-addressed name and drop the work directory."""
    media = sniff(read_head(files.part, url, 512))
    if media is None or media.ext != "mp4":
        raise DownloadError("ffmpeg wrote no MP4", url, code="remux_failed")
    sha = hash_file(files.part, url).hexdigest()
    size = files.part.stat().st_size
    stored = finalize(files, dest_dir, sha, media.ext, size)
    shutil.rmtree(workdir, ignore_errors=True)
    return MediaResult(url=url, status=MediaStatus.DOWNLOADED, path=stored.relpath, bytes=size,
                       sha256=sha, attempts=attempts, content_type=media.mime,
                       probe=plan.measured(), stream=StreamKind(plan.kind),
                       variants=plan.variants, mtime_ns=stored.mtime_ns)
