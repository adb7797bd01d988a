"""How the command line shows things to a person: progress bars, findings, summaries.

The library never prints; everything a terminal sees is made here.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from dataclasses import asdict
from types import TracebackType
from typing import Any

from tqdm import tqdm

from harvester.config import SECRET_PARAMS
from harvester.net.redact import redact
from harvester.pipeline.run import Event
from harvester.records import Probe, Video
from harvester.store.manifest import Manifest

#: Media outcomes worth a line on the terminal.
_REPORTED = ("failed", "blocked", "deferred", "not_media")


class ProgressBars:
    """What a person watching the run sees on stderr.

    On a terminal: a pages bar (with its total when known), overall media bytes
    and one bar per file in flight.  Terminal or not (unless quiet): one line
    per failed page or download, with its code and URL.  Media events arrive
    from download threads.
    """

    def __init__(self, enabled: bool, *, bars: bool | None = None,
                 total: int | None = None, secrets: tuple[str, ...] = SECRET_PARAMS,
                 verbose: bool = False) -> None:
        self.enabled = enabled
        self.verbose = verbose
        self.secrets = secrets
        self.bars = enabled if bars is None else enabled and bars
        self.total = total
        self._pages: tqdm[Any] | None = None
        self._bytes: tqdm[Any] | None = None
        self._shards: tqdm[Any] | None = None
        self._shard_counts = [0, 0]  # pages, videos
        self._files: dict[str, tqdm[Any]] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_terminal(cls, *, enabled: bool = True, total: int | None = None,
                     secrets: tuple[str, ...] = SECRET_PARAMS,
                     verbose: bool = False) -> ProgressBars:
        return cls(enabled, bars=sys.stderr.isatty(), total=total, secrets=secrets,
                   verbose=verbose)

    def __enter__(self) -> ProgressBars:
        if self.bars:
            self._pages = tqdm(desc="pages", unit="page", total=self.total, file=sys.stderr,
                               leave=False)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        for bar in (self._pages, self._bytes, self._shards, *self._files.values()):
            if bar is not None:
                bar.close()

    def say(self, line: str) -> None:
        """One line on stderr that does not break the bars (secrets in URLs masked)."""
        line = redact(line, self.secrets)
        if self.bars:
            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def update(self, event: Event) -> None:
        if not self.enabled:
            return
        self._report_failure(event)
        if not self.bars:
            return
        if event.kind == "page" and self._pages is not None:
            self._pages.update(1)
        elif event.kind == "shard":
            self._shard(event)
        elif event.kind in ("media-start", "media-bytes", "media-done"):
            with self._lock:
                self._media(event)

    def _report_failure(self, event: Event) -> None:
        if event.kind == "page" and event.result is not None and event.result.error:
            error = event.result.error
            self.say(f"page failed: {error.code} {event.ref}: {_short(error.message, 120)}")
        elif event.kind == "page" and event.result is not None and event.result.skipped:
            if self.verbose:
                self.say(f"page {event.result.skipped}: {event.ref}")
        elif event.kind == "media-done" and event.media is not None:
            media = event.media
            if media.error is not None and media.status.value in _REPORTED:
                self.say(f"media {media.status.value}: {media.error.code} {event.ref}: "
                         f"{_short(media.error.message, 120)}")

    def hints(self, manifest: Manifest) -> list[str]:
        """Advice for what the run met, one line each (shown before the summary)."""
        blocked = {r.url for _, m in manifest.results.media() for r in (m.video, m.thumbnail)
                   if r is not None and r.error is not None and r.error.code == "private_address"}
        if not blocked:
            return []
        return [f"harvester: {len(blocked)} media URL(s) on private addresses were blocked; "
                "allow a host with --allow-host HOST (or all with --allow-private-hosts)"]

    def _media(self, event: Event) -> None:
        """The overall bytes bar and the bar of the file the event is about."""
        if event.kind == "media-done":
            bar = self._files.pop(event.ref, None)
            if bar is not None:
                bar.close()
            return
        if event.kind == "media-start":  # the size is known: percent and time left
            self._file_bar(event.ref).reset(total=event.total)
            return
        if self._bytes is None:
            self._bytes = tqdm(desc="media", unit="B", unit_scale=True, position=1,
                               file=sys.stderr, leave=False)
        self._bytes.update(event.amount)
        self._file_bar(event.ref).update(event.amount)

    def _file_bar(self, url: str) -> tqdm[Any]:
        bar = self._files.get(url)
        if bar is None:
            shown = redact(url, self.secrets)
            name = shown.rsplit("/", 1)[-1][:30] or shown[:30]
            bar = tqdm(desc=name, unit="B", unit_scale=True, file=sys.stderr, leave=False,
                       position=2 + len(self._files))
            self._files[url] = bar
        return bar

    def _shard(self, event: Event) -> None:
        """Shards done / total, with pages per second and videos found so far."""
        if self._shards is None:
            self._shards = tqdm(desc="shards", unit="shard", total=event.total,
                                file=sys.stderr, leave=False)
            self._shard_counts = [0, 0]
        self._shard_counts[0] += event.amount
        self._shard_counts[1] += event.videos
        elapsed = self._shards.format_dict.get("elapsed") or 0.0
        rate = self._shard_counts[0] / elapsed if elapsed else 0.0
        self._shards.set_postfix_str(f"{self._shard_counts[0]} pages, {rate:.0f} pages/s, "
                                     f"{self._shard_counts[1]} videos", refresh=False)
        self._shards.update(1)


def summary_line(manifest: Manifest) -> str:
    """The one line a cron run prints to stderr."""
    c = manifest.counts()
    parts = [f"{c['pages']} pages ({c['pages_failed']} failed)",
             f"{c['videos']} videos ({c['distinct_videos']} distinct, {c['invalid']} invalid, "
             f"{c['partial']} partial)"]
    media = {k: v for k, v in c["media"].items() if v}
    if media:
        parts.append("media: " + ", ".join(f"{v} {k}" for k, v in media.items()))
    if manifest.changes is not None:
        ch = manifest.changes
        parts.append(f"changes: {len(ch['new'])} new, {len(ch['changed'])} changed, "
                     f"{len(ch['gone'])} gone")
    return "harvester: " + "; ".join(parts)


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_validation(path: str, videos: Sequence[Video],
                      unreadable: Sequence[str] = ()) -> str:
    """Findings of one file, the way a person reads them in a terminal."""
    lines = [f"{path}: {len(videos)} video(s)" if videos else f"{path}: no VideoObject found"]
    lines.extend(f"  unreadable {problem}" for problem in unreadable)
    for n, v in enumerate(videos, 1):
        verdict = "valid" if v.validation.valid else "INVALID"
        name = _short(v.declared.name or "(no name)")
        extra = ", partial" if v.partial else ""
        lines.append(f"  #{n} {v.syntax.value} {v.pointer or '/'} “{name}”: {verdict}{extra}")
        if v.repairs:
            lines.append(f"      repaired: {', '.join(v.repairs)}")
        if v.duplicate_of:
            lines.append(f"      same video as {v.duplicate_of}")
        for f in v.validation.errors:
            lines.append(f"      error   {f.pointer or '/'}: {f.message}")
        for f in v.validation.warnings:
            lines.append(f"      warning {f.pointer or '/'}: {f.message}")
    return "\n".join(lines)


def render_probe(results: Sequence[tuple[str, Probe]], *, as_json: bool = False) -> str:
    """``harvester probe`` output: one line per file, or JSON."""
    if as_json:
        return json.dumps({path: asdict(p) for path, p in results}, indent=2)
    from harvester.measure.probe import format_probe

    return "\n".join(format_probe(path, p) for path, p in results)
