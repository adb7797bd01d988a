"""Sharded runs: plan shards, process each on an executor, merge the parts.

The unit of work is a :class:`Shard`: one WARC file, or a chunk of
``config.shard_size`` other pages (files or URLs) in input order.  A shard's
id is a hash of what it reads (refs, and size and mtime of local files) and of
the harvester version, so it names the same work on every run.

``process_shard(shard, config)`` is the worker function: a plain, module-level
function of picklable records that runs on a process pool or a Dask worker.
It writes one manifest part and then a completion marker to
``config.shard_dir`` (any fsspec URL; see :mod:`harvester.scale.shardstore`).
``harvest_sharded`` skips shards whose marker exists, runs the rest, and
merges every part, in plan order, into one manifest: the result does not
depend on the executor or on which shards were done in an earlier run.  A
shard that fails writes nothing and is redone on the next run.  The SQLite
state stays with this coordinating process.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TextIO

from harvester import __version__
from harvester.config import Config
from harvester.errors import FetchError
from harvester.inputs.sources import WARC_SUFFIXES, iter_sources
from harvester.inputs.warc import WarcReader, warc_damage
from harvester.pipeline.run import RUN_OPTIONS, Event, Progress, process_page, run_pages
from harvester.records import ErrorInfo, PageResult, Source, SourceKind
from harvester.scale.shardstore import ShardStore, shard_root
from harvester.store.manifest import Manifest, utc_now

if TYPE_CHECKING:
    from harvester.store.state import State

__all__ = ["Shard", "ShardResult", "harvest_sharded", "plan_shards", "process_shard"]


@dataclass(frozen=True, slots=True)
class Shard:
    """One unit of work: a WARC file or a chunk of pages."""

    id: str
    kind: str  # "warc" | "pages"
    sources: tuple[Source, ...]

    @property
    def label(self) -> str:
        first = self.sources[0].ref if self.sources else "-"
        return first if len(self.sources) == 1 else f"{first} (+{len(self.sources) - 1} more)"


@dataclass(frozen=True, slots=True)
class ShardResult:
    """What one shard produced (the part itself is in the shard store)."""

    shard_id: str
    pages: int
    videos: int
    failed_pages: int
    bad_records: int = 0
    seconds: float = field(default=0.0, compare=False)
    skipped: bool = field(default=False, compare=False)


def _fingerprint(source: Source) -> list[object]:
    """What identifies a source's content: its ref, plus size and mtime for local files."""
    if source.kind is SourceKind.URL or "://" in source.ref:
        return [source.ref]
    try:
        st = os.stat(source.ref)
    except OSError:
        return [source.ref, None]
    return [source.ref, st.st_size, st.st_mtime_ns]


def make_shard(kind: str, sources: Iterable[Source], config: Config) -> Shard:
    """A shard whose id is stable for the same sources, files and harvester version."""
    items = tuple(sources)
    key = json.dumps([__version__, kind, config.max_page_bytes,
                      [_fingerprint(s) for s in items]])
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return Shard(id=f"{kind}-{digest}", kind=kind, sources=items)


def _remote_warc(source: Source) -> Source:
    """``s3://bucket/x.warc.gz`` and other fsspec URLs of WARC files are read as WARC."""
    ref = source.ref.lower()
    if (source.kind is SourceKind.URL and "://" in ref
            and not ref.startswith(("http://", "https://")) and ref.endswith(WARC_SUFFIXES)):
        return Source(ref=source.ref, kind=SourceKind.WARC)
    return source


def plan_shards(sources: Iterable[Source], config: Config) -> list[Shard]:
    """One shard per WARC file; other pages in chunks of ``shard_size``, input order kept."""
    shards: list[Shard] = []
    chunk: list[Source] = []
    for source in map(_remote_warc, sources):
        if source.kind is SourceKind.WARC:
            if chunk:
                shards.append(make_shard("pages", chunk, config))
                chunk = []
            shards.append(make_shard("warc", [source], config))
            continue
        chunk.append(source)
        if len(chunk) >= config.shard_size:
            shards.append(make_shard("pages", chunk, config))
            chunk = []
    if chunk:
        shards.append(make_shard("pages", chunk, config))
    return shards


def process_shard(shard: Shard, config: Config) -> ShardResult:
    """Process every page of ``shard``; write its part, then its marker.

    Runs in a worker process.  Per-page problems are results inside the part;
    an exception (a write that failed, a worker bug) fails the whole shard,
    which then has no marker and is redone on the next run.
    """
    started = time.perf_counter()
    bad_records = 0
    if shard.kind == "warc":
        results, bad_records = _warc_results(shard.sources[0], config)
    else:
        results = _page_results(shard.sources, config)
    summary = ShardResult(
        shard_id=shard.id, pages=len(results),
        videos=sum(len(r.videos) for r in results),
        failed_pages=sum(r.error is not None for r in results), bad_records=bad_records,
        seconds=round(time.perf_counter() - started, 3))
    ShardStore(_root(config)).write(shard, results, summary)
    return summary


def _root(config: Config) -> str:
    return config.shard_dir or shard_root(config)


def _warc_results(source: Source, config: Config) -> tuple[list[PageResult], int]:
    reader = WarcReader(source.ref, max_bytes=config.max_page_bytes)
    results: list[PageResult] = []
    try:
        results.extend(process_page(page, config) for page in reader.pages())
    except FetchError as exc:  # the file is missing: a finding, not a failed shard
        results.append(PageResult(ref=source.ref, error=ErrorInfo(exc.code, exc.message)))
    if reader.bad_records:
        err = warc_damage(reader, source.ref)
        results.append(PageResult(ref=source.ref, error=ErrorInfo(err.code, err.message)))
    return results, reader.bad_records


def _page_results(sources: tuple[Source, ...], config: Config) -> list[PageResult]:
    from harvester.net.client import open_session

    with open_session(config) as session:
        return list(run_pages(sources, config, session))


def harvest_sharded(
    pages: Iterable[str], config: Config, *, state: State | None = None,
    progress: Progress | None = None, stdin: TextIO | None = None,
    executor: Executor | None = None,
) -> Manifest:
    """:func:`harvester.pipeline.run.harvest`, run shard by shard on ``config.executor``.

    ``executor`` (any concurrent.futures.Executor) replaces the configured one;
    the caller then owns it.
    """
    manifest = Manifest(started=utc_now(), options={k: getattr(config, k) for k in RUN_OPTIONS})
    config = replace(config, shard_dir=_root(config))
    store = ShardStore(_root(config))
    shards = plan_shards(iter_sources(pages, config.inputs, stdin), config)
    done = store.completed()
    pending = [s for s in shards if s.id not in done]
    for shard in shards:
        if shard.id in done and progress is not None:
            summary = replace(done[shard.id], skipped=True)
            progress(Event("shard", shard.id, summary.pages, len(shards), summary.videos))
    from harvester.scale.executors import open_executor

    needs_pool = bool(pending) or config.download
    opened = open_executor(config) if executor is None and needs_pool else nullcontext(executor)
    with opened as pool:
        failures = run_shards(pool, pending, config, progress, len(shards)) if pool else {}
        manifest.pages = merge_parts(store, shards, failures)
        if config.download and pool is not None:
            from harvester.scale.shardmedia import run_media_sharded

            manifest.media = run_media_sharded(pool, manifest.videos, config, state=state,
                                               progress=progress)
    if state is not None:
        manifest.seen, manifest.changes = state.finish_run(manifest)
    manifest.finished = utc_now()
    return manifest


def run_shards(
    pool: Executor, shards: list[Shard], config: Config, progress: Progress | None,
    total: int,
) -> dict[str, str]:
    """Run ``shards``, a bounded number in flight; returns failure messages by shard id."""
    window = 4 * max(1, config.workers or os.cpu_count() or 1)
    queue: Iterator[Shard] = iter(shards)
    running: dict[Future[ShardResult], Shard] = {}
    failures: dict[str, str] = {}
    while True:
        for shard in queue:
            running[pool.submit(process_shard, shard, config)] = shard
            if len(running) >= window:
                break
        if not running:
            return failures
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            shard = running.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # any worker failure costs this shard, once
                failures[shard.id] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            if progress is not None:
                progress(Event("shard", shard.id, result.pages, total, result.videos))


def merge_parts(store: ShardStore, shards: list[Shard], failures: dict[str, str]
                ) -> list[PageResult]:
    """Every page of every shard in plan order; a page seen in several shards counts once.

    The first successful result of a page wins (a recrawl of the same URL in two
    WARC files gives the same video ids), so no video appears twice.
    """
    merged: dict[str, PageResult] = {}
    for shard in shards:
        results = None if shard.id in failures else store.read(shard)
        if results is None:
            reason = failures.get(shard.id, "its part is missing or unreadable")
            store.forget(shard)
            results = [PageResult(ref=shard.label, error=ErrorInfo(
                "shard_failed", f"shard {shard.id} failed ({reason}); "
                                "it is redone on the next run"))]
        for result in results:
            old = merged.get(result.ref)
            if old is None or (old.error is not None and result.error is None):
                merged[result.ref] = result
    return list(merged.values())
