"""Wire the stages together: pages → videos → (media) → manifest.

``harvest(pages, config)`` is the library's whole-run entry point.  It is the
only place that catches per-page and per-download errors: each is recorded in
the manifest with a stable code and the run goes on.  Stages stay pure
functions of one page or one media item; this module owns concurrency, the
state and the manifest.

:func:`run_sources` is the body of every run, serial or sharded, and
:func:`manifest_of_run` the one place a run's manifest is begun and finished.
The state is reached only through :class:`harvester.store.view.StateView`: the
SQLite state itself in this process, a snapshot of it in a shard worker.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from io import BytesIO
from itertools import chain
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from harvester.config import Config
from harvester.errors import HarvesterError
from harvester.extract import extract, may_name_a_video
from harvester.inputs.fetch import fetch, read_file
from harvester.inputs.remote import Remote
from harvester.inputs.sitemap import sitemap_kind
from harvester.inputs.sources import iter_sources
from harvester.inputs.warc import iter_warc_pages
from harvester.net.client import Session, open_session
from harvester.net.robots import RobotsCache
from harvester.pipeline.batches import Batch, without_videos
from harvester.pipeline.events import Event, Progress
from harvester.pipeline.media import run_media
from harvester.pipeline.sitemaps import (
    Expansion,
    expand_body,
    expand_robots,
    expand_sitemap,
    lastmod_unchanged,
    sitemap_sources,
)
from harvester.pipeline.sitemapvideos import with_sitemap_videos
from harvester.records import ErrorInfo, Page, PageResult, Source, SourceKind, Video, utc_now
from harvester.store.manifest import Manifest
from harvester.store.results import RunResults

if TYPE_CHECKING:
    from harvester.store.state import State
    from harvester.store.view import PageState, StateView

__all__ = ["RUN_OPTIONS", "Event", "Progress", "harvest", "manifest_of_run", "process_page",
           "run_inputs", "run_pages", "run_sources"]

#: Options copied into the manifest's run record (what shaped the results).
RUN_OPTIONS = ("download", "measure", "stream_variant", "dir", "allow_private_hosts",
               "allow_hosts", "ignore_robots", "concurrency", "per_host", "retries", "timeout",
               "max_bytes", "probe")


def harvest(
    pages: Iterable[str],
    config: Config,
    *,
    session: Session | None = None,
    state: State | None = None,
    progress: Progress | None = None,
    stdin: TextIO | None = None,
    cancel: threading.Event | None = None,
) -> Manifest:
    """Run the whole pipeline over ``pages`` and return the manifest.

    ``session`` carries every request of the run, pages and media, when given
    (the caller keeps it open); otherwise one is made and closed here.  Nothing
    is written to disk except downloads; writing the manifest is the caller's choice
    (:func:`harvester.store.manifest.write_manifest`).  Setting ``cancel`` (or
    the session's own stop signal) stops the run within about a second: pages
    and downloads in flight end as ``interrupted``, ``.part`` files are kept,
    nothing new starts, and the manifest says ``interrupted``.
    """
    own_session = session is None
    net = session or open_session(config, cancel)
    try:
        with manifest_of_run(config, state, progress, net.cancel) as manifest:
            sources = run_inputs(pages, config, stdin, net)
            run_sources(sources, config, net, manifest.results, state=state,
                        progress=progress)
    finally:
        if own_session:
            net.close()
    return manifest


def run_inputs(pages: Iterable[str], config: Config, stdin: TextIO | None = None,
               session: Session | None = None) -> Iterator[Source]:
    """Every source of a run: ``pages``, the ``-i`` lists (local or by URL, under
    ``--url-prefix``), then the sitemaps' pages.  Lists at http(s) URLs are read
    through ``session`` (or a session of their own)."""
    listed = iter_sources(pages, config.inputs, stdin, config.globs,
                          url_prefix=config.url_prefix, remote=Remote(config, session))
    return chain(listed, sitemap_sources(config))


@contextmanager
def manifest_of_run(config: Config, state: State | None, progress: Progress | None = None,
                    cancel: threading.Event | None = None) -> Iterator[Manifest]:
    """The manifest of one run, serial or sharded: started now, finished on leaving.

    ``progress`` hears a "run" event with the new manifest.  The caller fills
    in pages and media; on leaving without an error the state (when given)
    says what each video's first and last sighting is and what changed, and
    the finish time is set.  A run stopped by ``cancel`` is marked
    ``interrupted`` and not recorded in the state: it saw only part of the
    pages, so it cannot say which videos are gone.
    """
    manifest = Manifest(started=utc_now(),
                        options={k: getattr(config, k) for k in RUN_OPTIONS},
                        results=RunResults(list_all=config.list_all_pages))
    if progress is not None:
        progress(Event("run", "", manifest=manifest))
    yield manifest
    manifest.interrupted = cancel is not None and cancel.is_set()
    if state is not None and not manifest.interrupted:
        manifest.seen, manifest.changes = state.finish_run(manifest)
    manifest.finished = utc_now()


def run_sources(
    sources: Iterable[Source], config: Config, session: Session, results: RunResults, *,
    state: StateView | None = None, progress: Progress | None = None,
    lock_dir: Path | None = None,
) -> None:
    """Every page of ``sources`` into ``results`` as it is done, then (with
    ``config.download`` or ``config.measure``) their videos' media.

    The body of every run: :func:`harvest` runs it over all the pages, a shard
    worker over the pages of its shard (with a snapshot of the state, and a
    ``lock_dir`` for the download directory it shares with other workers).
    Pages go to ``results`` one at a time; only the videos wait for the media
    stage, and only when there is one.
    """
    media_stage = config.download or config.measure
    videos: list[Video] = []
    for number, result in enumerate(run_pages(sources, config, session, state, progress)):
        results.add(result, part=number // config.shard_size)
        if media_stage:
            videos.extend(result.videos)
    if videos:
        results.add_media(run_media(videos, config, state=state, progress=progress,
                                    session=session, lock_dir=lock_dir))


def run_pages(
    sources: Iterable[Source], config: Config, session: Session,
    state: StateView | None = None, progress: Progress | None = None,
    executor: Executor | None = None,
) -> Iterator[PageResult]:
    """Process every page, up to ``config.concurrency`` at a time, in the order started.

    A source that turns out to be a sitemap is expanded in place: the pages it
    lists are started next (a page already started is not started again), and
    its own entry follows theirs.  At most a few sources per worker are taken
    ahead, so a sitemap of 50,000 pages is never held in memory at once.
    """
    robots = None if config.ignore_robots else RobotsCache(session)
    pool = executor or ThreadPoolExecutor(max_workers=config.concurrency)
    feed = _Feed(sources)
    pending: deque[Future[Iterable[PageResult] | Expansion]] = deque()
    ahead = max(1, config.concurrency) * 4
    try:
        while True:
            while len(pending) < ahead and (item := feed.next()) is not None:
                pending.append(_start(item, pool, config, session, robots, state))
            if not pending:
                return
            outcome = pending.popleft().result()
            if isinstance(outcome, Expansion):
                feed.push(outcome)
                continue
            for result in outcome:
                if progress is not None:
                    progress(Event("page", result.ref, len(result.videos), result=result))
                yield result
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


def _start(item: Source | Expansion, pool: Executor, config: Config, session: Session,
           robots: RobotsCache | None, state: StateView | None,
           ) -> Future[Iterable[PageResult] | Expansion]:
    """A future for one source, or the finished entry of an expanded sitemap.

    A WARC file's pages are read as they are taken (in the taking thread),
    so a file of any size holds one page at a time.
    """
    done: Future[Iterable[PageResult] | Expansion] = Future()
    if isinstance(item, Expansion):
        done.set_result([item.result()])
        return done
    if item.kind is SourceKind.WARC:
        done.set_result(_warc_results(item, config, session))
        return done
    return pool.submit(process_source, item, config, session, robots, state)


class _Feed:
    """The sources still to start: the input, with expanded sitemaps' children first
    (depth first), then each sitemap itself as the marker that it is done."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self._stack: list[Iterator[Source | Expansion]] = [iter(sources)]
        self._started: set[str] = set()

    def push(self, expansion: Expansion) -> None:
        self._stack.append(chain(expansion.children, (expansion,)))

    def next(self) -> Source | Expansion | None:
        while self._stack:
            item = next(self._stack[-1], None)
            if item is None:
                self._stack.pop()
            elif isinstance(item, Expansion):
                return item
            # One page listed twice (or typed and listed) is read once; the
            # input itself is already free of duplicates.
            elif item.hint is None or item.ref not in self._started:
                self._started.add(item.ref)
                return item
        return None


def process_source(
    source: Source, config: Config, session: Session | None,
    robots: RobotsCache | None = None, state: StateView | None = None,
) -> Iterable[PageResult] | Expansion:
    """All page results of one source (a WARC file holds many pages), or the expansion
    of a sitemap; none once the run has been asked to stop."""
    if session is not None and session.cancel.is_set():
        return []
    if source.kind is SourceKind.WARC:
        return _warc_results(source, config, session)
    if source.kind in (SourceKind.SITEMAP, SourceKind.ROBOTS):
        if session is None:
            return [PageResult(ref=source.ref, error=ErrorInfo(
                "internal_error", "no network session for a sitemap source"))]
        if source.kind is SourceKind.ROBOTS:
            return expand_robots(source, session, robots)
        return expand_sitemap(source, config, session, robots)
    outcome = load_and_process(source, config, session, robots, state)
    return outcome if isinstance(outcome, Expansion) else [outcome]


def _warc_results(source: Source, config: Config,
                  session: Session | None) -> Iterator[PageResult]:
    """The results of a WARC file's pages, in their order, then its damage if any.

    A page without any word that names a video (most pages) gets its result
    from the one scan of its bytes; the others wait for a batch
    (:class:`~harvester.pipeline.batches.Batch`).  Every page read is
    reported when the file ends or is damaged; a stopped run extracts no page
    more, and reports the pages before the first it left.
    """
    # A WARC at an http(s) URL is read through the run's session, as pages are.
    remote = Remote(config, session)

    def opener(ref: str) -> AbstractContextManager[IO[bytes]]:
        return remote.open_warc(ref, trusted=source.trusted)

    cancel = session.cancel if session is not None else None
    batch = Batch(lambda page: process_page(page, config), cancel)
    read = 0
    try:
        for page in iter_warc_pages(source, config, opener):
            if cancel is not None and cancel.is_set():
                break
            read += 1
            try:
                maybe = may_name_a_video(page.body, page.content_type)
            except Exception:  # a bug must cost one page: process_page() records it
                maybe = True
            if maybe:
                if batch.wait(page):
                    yield from batch.results()
            elif batch.queue:
                if batch.follow(without_videos(page)):
                    yield from batch.results()
            else:
                yield without_videos(page)
    except HarvesterError as exc:  # lost records are reported after the good ones
        yield from batch.results()
        yield PageResult(ref=source.ref, error=ErrorInfo(exc.code, exc.message))
    except OSError as exc:  # a remote file system gave up mid-file: the pages read stand
        yield from batch.results()
        message = f"reading stopped after {read} pages: {exc}"
        yield PageResult(ref=source.ref, error=ErrorInfo("unreadable", message))
    else:
        yield from batch.results()


def load_and_process(
    source: Source, config: Config, session: Session | None,
    robots: RobotsCache | None = None, state: StateView | None = None,
) -> PageResult | Expansion:
    """Read or fetch one page and extract its videos; failures become a result.

    A page whose bytes are a sitemap is expanded instead (it is not fetched
    again).  A page a sitemap listed whose ``lastmod`` is older than its last
    successful fetch is not requested at all: it keeps its stored videos.
    """
    previous = state.page(source.ref) if state is not None else None
    hint = source.hint
    if previous is not None and lastmod_unchanged(hint, previous.fetched_at):
        return with_sitemap_videos(_kept(previous), hint, source.ref)
    try:
        page = _load(source, config, session, robots, previous)
        if page.status != 304 and sitemap_kind(page.body[:65536]) is not None:
            return expand_body(source, BytesIO(page.body), config)
        if previous is not None and state is not None:
            reused = state.reuse(previous, page)
            if reused is not None:
                return with_sitemap_videos(reused, hint, page.url)
        result = with_sitemap_videos(process_page(page, config), hint, page.url)
        if state is not None:
            state.save_page(page, result)
        return result
    except HarvesterError as exc:
        error = ErrorInfo(exc.code, exc.message)
    except Exception as exc:  # a bug must cost one page, never the run
        error = ErrorInfo("internal_error", repr(exc)[:300])
    # A page that fails on a re-run keeps its last good extraction in the manifest
    # (marked failed), so one bad fetch never makes a cron manifest lose videos.
    stale = previous.videos() if previous is not None else ()
    return PageResult(ref=source.ref, videos=stale, error=error)


def _load(source: Source, config: Config, session: Session | None,
          robots: RobotsCache | None, previous: PageState | None) -> Page:
    if source.kind is not SourceKind.URL:
        return read_file(source, config.max_page_bytes)
    if session is None:
        raise HarvesterError("no network session for a URL source")
    trusted = source.trusted and (source.hint is None or source.hint.trusted)
    return fetch(source, session, max_bytes=config.max_page_bytes, robots=robots,
                 etag=previous.etag if previous else None,
                 last_modified=previous.last_modified if previous else None, trusted=trusted)


def _kept(previous: PageState) -> PageResult:
    """A page left unrequested because its sitemap says it has not changed."""
    return PageResult(ref=previous.ref, videos=previous.videos(), etag=previous.etag,
                      last_modified=previous.last_modified,
                      content_sha256=previous.content_sha256, skipped="unchanged")


def process_page(page: Page, config: Config) -> PageResult:
    """Extract, repair, normalise and validate every video of one page (no I/O).

    The page's content hash is left to the state, which alone uses it (a run
    over millions of WARC pages would otherwise hash every body for nothing).
    """
    try:
        videos = extract(page.body, page.url, content_type=page.content_type, ref=page.ref)
    except Exception as exc:  # extract() promises not to raise; keep the run going if it does
        return PageResult(ref=page.ref, error=ErrorInfo("internal_error", repr(exc)[:300]))
    return PageResult(ref=page.ref, videos=tuple(videos), status=page.status, etag=page.etag,
                      last_modified=page.last_modified)

