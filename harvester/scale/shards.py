"""Sharded runs: plan shards, run each on an executor, merge the parts.

``process_shard(shard, config, state)`` is the worker function: a plain,
module-level function of picklable records that runs on a process pool or a
Dask worker.  It runs the same pipeline as a serial run
(:func:`harvester.pipeline.run.run_sources`) over the shard's pages, and over
their media when the run downloads, then writes one part and a completion
marker to ``config.shard_dir`` (any fsspec URL; see
:mod:`harvester.scale.shardstore`).

The SQLite state stays with this coordinating process.  Each shard gets a
snapshot of what the state knows about its pages and their media
(:mod:`harvester.store.snapshot`), so an unchanged page is a conditional
request and a file still on disk is not fetched again; what the shard wrote
through the snapshot comes back with its result and is applied to the state
as the shard completes.

``harvest_sharded`` skips shards whose marker exists, runs the rest, and
merges every part, in plan order, into one manifest: the result does not
depend on the executor or on which shards were done in an earlier run.  A
shard that fails writes nothing and is redone on the next run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harvester.config import Config
from harvester.net.client import open_session
from harvester.pipeline.events import Event, Progress
from harvester.pipeline.run import manifest_of_run, run_inputs, run_sources
from harvester.records import ErrorInfo, Media, PageResult
from harvester.scale.executors import executor_slots, open_executor
from harvester.scale.plan import Shard, ShardResult, plan_shards
from harvester.scale.shardstore import DEFAULT_ROOT, ShardPart, ShardStore
from harvester.store.snapshot import StateSnapshot, take_snapshot

if TYPE_CHECKING:
    from harvester.store.manifest import Manifest
    from harvester.store.state import State

__all__ = ["Shard", "ShardResult", "harvest_sharded", "plan_shards", "process_shard"]

#: How a shard lost to a broken worker pool is reported (and recognised for its retry).
POOL_BROKE = "the worker pool broke"

#: Under the download directory: one lock file per URL being fetched by some worker.
LOCKS = ".locks"


def process_shard(shard: Shard, config: Config, state: StateSnapshot | None = None,
                  ) -> ShardResult:
    """Run the pipeline over the pages of ``shard``; write its part, then its marker.

    Runs in a worker process.  ``state`` is the coordinator's snapshot for
    this shard; the writes it records are returned in the result's
    ``writes``.  Per-page and per-download problems are results inside the
    part; an exception (a write that failed, a worker bug) fails the whole
    shard, which then has no marker and is redone on the next run.
    """
    started = time.perf_counter()
    with open_session(config) as session:
        pages, media = run_sources(shard.sources, config, session, state=state,
                                   lock_dir=Path(config.dir) / LOCKS)
    summary = ShardResult(
        shard_id=shard.id, pages=len(pages), videos=sum(len(r.videos) for r in pages),
        failed_pages=sum(r.error is not None for r in pages),
        seconds=round(time.perf_counter() - started, 3))
    ShardStore(_root(config)).write(shard, pages, media, summary)
    return replace(summary, writes=None if state is None else state.writes())


def _root(config: Config) -> str:
    return (config.shard_dir or DEFAULT_ROOT).rstrip("/")


def harvest_sharded(
    pages: Iterable[str], config: Config, *, state: State | None = None,
    progress: Progress | None = None, stdin: TextIO | None = None,
    executor: Executor | None = None, cancel: threading.Event | None = None,
) -> Manifest:
    """:func:`harvester.pipeline.run.harvest`, run shard by shard on ``config.executor``.

    ``executor`` (any concurrent.futures.Executor) replaces the configured one;
    the caller then owns it.  Once ``cancel`` is set no new shard starts; the
    shards in flight finish and the manifest, marked ``interrupted``, holds
    the shards done (the others are done by the next run).
    """
    config = replace(config, shard_dir=_root(config))
    store = ShardStore(_root(config))
    with manifest_of_run(config, state, progress, cancel) as manifest:
        shards = plan_shards(run_inputs(pages, config, stdin), config)
        pending = _pending(store, shards, progress)
        failures: dict[str, str] = {}
        started: set[str] = set()
        if pending:
            failures = _run_pending(executor, pending, config, state, progress, len(shards),
                                    cancel, started)
        if cancel is not None and cancel.is_set():
            skipped = {s.id for s in pending} - started
            shards = [s for s in shards if s.id not in skipped]
        manifest.pages, manifest.media = merge_parts(store, shards, failures)
    return manifest


def _run_pending(
    executor: Executor | None, pending: list[Shard], config: Config, state: State | None,
    progress: Progress | None, total: int, cancel: threading.Event | None, started: set[str],
) -> dict[str, str]:
    """Run the pending shards; failure messages by shard id.

    When a worker of the pool this run made dies, the pool breaks and every
    shard it held or had not started fails with it: those run once more on a
    fresh pool, so one lost worker costs no shard.  A pool the caller handed
    in is the caller's to replace.
    """
    opened = open_executor(config) if executor is None else nullcontext(executor)
    with opened as pool:
        failures = run_shards(pool, pending, config, state, progress, total, cancel, started)
    lost = [s for s in pending if failures.get(s.id, "").startswith(POOL_BROKE)]
    if not lost or executor is not None or (cancel is not None and cancel.is_set()):
        return failures
    with open_executor(config) as pool:
        again = run_shards(pool, lost, config, state, progress, total, cancel, started)
    for shard in lost:
        failures.pop(shard.id)
        if shard.id in again:
            failures[shard.id] = again[shard.id]
    return failures


def _pending(store: ShardStore, shards: list[Shard], progress: Progress | None) -> list[Shard]:
    """The shards without a completion marker; the others are reported as skipped."""
    done = store.completed()
    for shard in shards:
        if shard.id in done and progress is not None:
            summary = done[shard.id]
            progress(Event("shard", shard.id, summary.pages, len(shards), summary.videos))
    return [s for s in shards if s.id not in done]


def run_shards(
    pool: Executor, shards: list[Shard], config: Config, state: State | None,
    progress: Progress | None, total: int, cancel: threading.Event | None = None,
    started: set[str] | None = None,
) -> dict[str, str]:
    """Run ``shards``, a bounded number in flight; returns failure messages by shard id.

    Each shard's snapshot is taken as it is submitted, and its writes are
    applied to ``state`` as it completes, so a shard that fails changes nothing.
    """
    window = 4 * executor_slots(pool, config)
    queue: Iterator[Shard] = iter(shards)
    running: dict[Future[ShardResult], Shard] = {}
    failures: dict[str, str] = {}
    while True:
        for shard in queue if cancel is None or not cancel.is_set() else ():
            snapshot = None if state is None else take_snapshot(state, _refs(shard))
            try:
                running[pool.submit(process_shard, shard, config, snapshot)] = shard
            except BrokenExecutor as exc:  # a worker died: the shards left are not started
                for left in (shard, *queue):
                    failures[left.id] = f"{POOL_BROKE} ({exc}); not started"
                break
            if started is not None:
                started.add(shard.id)
            if len(running) >= window:
                break
        if not running:
            return failures
        finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
        for future in finished:
            shard = running.pop(future)
            try:
                result = future.result()
            except BrokenExecutor as exc:
                failures[shard.id] = f"{POOL_BROKE} ({exc})"[:300]
                continue
            except Exception as exc:  # any worker failure costs this shard, once
                failures[shard.id] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            if state is not None and result.writes is not None:
                state.apply(result.writes)
            if progress is not None:
                progress(Event("shard", shard.id, result.pages, total, result.videos))


def _refs(shard: Shard) -> list[str]:
    return [source.ref for source in shard.sources]


def merge_parts(store: ShardStore, shards: list[Shard], failures: Mapping[str, str],
                ) -> tuple[list[PageResult], dict[str, Media]]:
    """Every page of every shard in plan order, and the media of their videos.

    A page seen in several shards counts once: its first successful result
    wins (a recrawl of the same URL in two WARC files gives the same video
    ids), so no video appears twice, and its videos' media come from the
    same part.
    """
    merged: dict[str, tuple[PageResult, Mapping[str, Media]]] = {}
    for shard in shards:
        part = _part(store, shard, failures)
        for result in part.pages:
            old = merged.get(result.ref)
            if old is None or (old[0].error is not None and result.error is None):
                merged[result.ref] = (result, part.media)
    media = {v.id: found[v.id] for result, found in merged.values()
             for v in result.videos if v.id in found}
    return [result for result, _ in merged.values()], media


def _part(store: ShardStore, shard: Shard, failures: Mapping[str, str]) -> ShardPart:
    """The shard's part, or one failed page that says why there is none."""
    part = None if shard.id in failures else store.read(shard)
    if part is not None:
        return part
    reason = failures.get(shard.id, "its part is missing or unreadable")
    store.forget(shard)
    return ShardPart(pages=[PageResult(ref=shard.label, error=ErrorInfo(
        "shard_failed", f"shard {shard.id} failed ({reason}); it is redone on the next run"))])
