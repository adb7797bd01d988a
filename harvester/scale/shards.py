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
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harvester.config import Config, parse_storage_options
from harvester.net.client import open_session
from harvester.pipeline.events import Event, Progress
from harvester.pipeline.run import manifest_of_run, run_inputs, run_sources
from harvester.records import ErrorInfo, PageResult
from harvester.scale.executors import Window, open_executor
from harvester.scale.plan import Shard, ShardRef, ShardResult, plan_shards
from harvester.scale.shardstore import DEFAULT_ROOT, ShardPart, ShardStore
from harvester.store.results import RunResults
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
    results = RunResults(list_all=config.list_all_pages)
    try:
        with open_session(config) as session:
            run_sources(shard.sources, config, session, results, state=state,
                        lock_dir=Path(config.dir) / LOCKS)
        counts = results.counts()
        summary = ShardResult(
            shard_id=shard.id, pages=counts["pages"], videos=counts["videos"],
            failed_pages=counts["pages_failed"], seconds=round(time.perf_counter() - started, 3))
        _store(config).write(shard, results, summary)
    finally:
        results.close()
    return replace(summary, writes=None if state is None else state.writes())


def _root(config: Config) -> str:
    return (config.shard_dir or DEFAULT_ROOT).rstrip("/")


def _store(config: Config) -> ShardStore:
    """The run's shard directory, with ``--storage-option`` as for remote inputs."""
    return ShardStore(_root(config), parse_storage_options(config.storage_options))


def harvest_sharded(
    pages: Iterable[str], config: Config, *, state: State | None = None,
    progress: Progress | None = None, stdin: TextIO | None = None,
    executor: Executor | None = None, cancel: threading.Event | None = None,
) -> Manifest:
    """:func:`harvester.pipeline.run.harvest`, run shard by shard on ``config.executor``.

    ``executor`` (any concurrent.futures.Executor) replaces the configured one;
    the caller then owns it.  Once ``cancel`` is set no new shard starts; the
    shards in flight finish and the manifest, marked ``interrupted``, holds
    the shards done (the others are done by the next run).  Shards are
    planned as they are handed out and the coordinator keeps only their ids,
    so its memory does not grow with the input.
    """
    config = replace(config, shard_dir=_root(config))
    store = _store(config)
    with manifest_of_run(config, state, progress, cancel) as manifest:
        plan = _Plan(plan_shards(run_inputs(pages, config, stdin), config), store.completed(),
                     progress)
        failures = _run_pending(executor, plan.pending(), config, state, progress, cancel)
        merge_parts(store, plan.merged(cancelled=cancel is not None and cancel.is_set()),
                    failures, manifest.results)
    return manifest


class _Plan:
    """The shards of a run as they are planned: the ones to run, and the order to merge.

    A shard with a completion marker from an earlier run is reported as done
    and not run again.  Only each shard's id and label are kept.
    """

    def __init__(self, shards: Iterator[Shard], done: Mapping[str, ShardResult],
                 progress: Progress | None) -> None:
        self._shards = shards
        self._done = done
        self._progress = progress
        self.refs: list[ShardRef] = []
        self.started: set[str] = set()

    def pending(self) -> Iterator[Shard]:
        for shard in self._shards:
            self.refs.append(shard.ref())
            summary = self._done.get(shard.id)
            if summary is None:
                self.started.add(shard.id)
                yield shard
            elif self._progress is not None:
                self._progress(Event("shard", shard.id, summary.pages, None, summary.videos))

    def merged(self, *, cancelled: bool) -> list[ShardRef]:
        """The shards whose parts make the manifest, in plan order.

        After a stop, shards never handed out are left to the next run.
        """
        return [r for r in self.refs if not cancelled or r.id in self._done
                or r.id in self.started]


def _run_pending(
    executor: Executor | None, pending: Iterator[Shard], config: Config, state: State | None,
    progress: Progress | None, cancel: threading.Event | None,
) -> dict[str, str]:
    """Run the pending shards; failure messages by shard id.

    When a worker of the pool this run made dies, the pool breaks and every
    shard it held or had not started fails with it: those run once more on a
    fresh pool, so one lost worker costs no shard.  A pool the caller handed
    in is the caller's to replace.  With nothing to run no pool is started (a
    cluster takes seconds to start; a re-run of finished shards should not).
    """
    first = next(pending, None)
    if first is None:
        return {}
    pending = chain((first,), pending)
    lost: list[Shard] = []
    opened = open_executor(config) if executor is None else nullcontext(executor)
    with opened as pool:
        failures = run_shards(pool, pending, config, state, progress, cancel, lost)
    if not lost or executor is not None or (cancel is not None and cancel.is_set()):
        return failures
    with open_executor(config) as pool:
        again = run_shards(pool, iter(lost), config, state, progress, cancel)
    for shard in lost:
        failures.pop(shard.id)
        if shard.id in again:
            failures[shard.id] = again[shard.id]
    return failures


def run_shards(
    pool: Executor, shards: Iterable[Shard], config: Config, state: State | None,
    progress: Progress | None, cancel: threading.Event | None = None,
    lost: list[Shard] | None = None,
) -> dict[str, str]:
    """Run ``shards``, a bounded number in flight; returns failure messages by shard id.

    At most :class:`~harvester.scale.executors.Window` shards are submitted and
    not yet collected (four per worker slot; a Dask cluster is asked its size
    as the run goes), so the driver holds a bounded number of pending results.
    Each shard's snapshot is taken as it is submitted, and its writes are
    applied to ``state`` as it completes, so a shard that fails changes
    nothing.  A shard whose task fails (a Dask worker lost while it held the
    result, a part that could not be written) runs once more before any new
    shard starts; only a second failure is reported.  Shards lost with a
    broken pool are also added to ``lost``.
    """
    window = Window(pool, config)
    queue: Iterator[Shard] = iter(shards)
    running: dict[Future[ShardResult], Shard] = {}
    failures: dict[str, str] = {}
    broken: list[Shard] = [] if lost is None else lost
    again: list[Shard] = []  # failed once: run a second time before any new shard
    retried: set[str] = set()
    while True:
        while len(running) < window.size() and (cancel is None or not cancel.is_set()):
            shard = again.pop() if again else next(queue, None)
            if shard is None:
                break
            snapshot = None if state is None else take_snapshot(state, _refs(shard))
            try:
                running[pool.submit(process_shard, shard, config, snapshot)] = shard
            except BrokenExecutor as exc:  # a worker died: the shards left are not started
                for left in (shard, *queue):
                    failures[left.id] = f"{POOL_BROKE} ({exc}); not started"
                    broken.append(left)
                break
        if not running:
            return failures
        # With a timeout: workers that joined meanwhile get shards before one finishes.
        finished, _ = wait(list(running), timeout=window.every, return_when=FIRST_COMPLETED)
        for future in finished:
            shard = running.pop(future)
            try:
                result = future.result()
            except BrokenExecutor as exc:
                failures[shard.id] = f"{POOL_BROKE} ({exc})"[:300]
                broken.append(shard)
                continue
            except Exception as exc:  # a worker lost mid-task, a write that failed, a bug
                failures[shard.id] = f"{type(exc).__name__}: {exc}"[:300]
                if shard.id not in retried:  # what was lost in passing is redone once
                    retried.add(shard.id)
                    again.append(shard)
                continue
            failures.pop(shard.id, None)
            if state is not None and result.writes is not None:
                state.apply(result.writes)
            if progress is not None:
                progress(Event("shard", shard.id, result.pages, None, result.videos))


def _refs(shard: Shard) -> list[str]:
    return [source.ref for source in shard.sources]


def merge_parts(store: ShardStore, shards: Iterable[ShardRef], failures: Mapping[str, str],
                results: RunResults) -> None:
    """Every page of every shard into ``results``, in plan order, with its videos' media.

    Parts are read one at a time.  A page seen in several shards counts
    once: its first successful result wins (a recrawl of the same URL in two
    WARC files gives the same video ids), so no video appears twice, and its
    videos' media come from the same part.
    """
    for number, shard in enumerate(shards):
        part = _part(store, shard, failures)
        results.count_unlisted(part.unlisted)
        for page in part.pages:
            if results.add(page, part=number):
                results.add_media({v.id: part.media[v.id] for v in page.videos
                                   if v.id in part.media})


def _part(store: ShardStore, shard: ShardRef, failures: Mapping[str, str]) -> ShardPart:
    """The shard's part, or one failed page that says why there is none."""
    part = None if shard.id in failures else store.read(shard)
    if part is not None:
        return part
    reason = failures.get(shard.id, "its part is missing or unreadable")
    store.forget(shard)
    return ShardPart(pages=[PageResult(ref=shard.label, error=ErrorInfo(
        "shard_failed", f"shard {shard.id} failed ({reason}); it is redone on the next run"))])
