"""A picklable copy of the state for one shard: reads answered, writes recorded.

The SQLite state stays with the coordinating process.  Before it hands a
shard to a worker it takes a :class:`StateSnapshot` with
:func:`take_snapshot`: the stored rows of the shard's pages (validators and
extraction, so an unchanged page is a conditional request and a 304 reuses
the extraction) and of the media URLs those extractions mention (so a file
still on disk is ``cached``, not fetched again).  In the worker the snapshot
is the run's :class:`~harvester.store.view.StateView`; every write is kept,
and :meth:`StateSnapshot.writes` hands them back with the shard's result for
:meth:`harvester.store.state.State.apply` to replay.

Reads see the state as it was when the snapshot was taken, not the writes
made since: a run asks for each page and each media URL once, before it
writes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from harvester.records import MediaResult, Page, PageResult
from harvester.store.view import (
    PageState,
    Revalidated,
    SavedPage,
    StateView,
    StateWrites,
    reused,
    saved_page,
)


class StateSnapshot:
    """:class:`~harvester.store.view.StateView` over copied rows; writes are recorded."""

    def __init__(self, pages: dict[str, PageState] | None = None,
                 media: dict[str, MediaResult] | None = None) -> None:
        self._pages = dict(pages or {})
        self._media = dict(media or {})
        self._reset()

    def _reset(self) -> None:
        # the pipeline writes from its worker threads
        self._lock = threading.Lock()
        self._saved: dict[str, SavedPage] = {}
        self._revalidated: dict[str, Revalidated] = {}
        self._saved_media: dict[str, MediaResult] = {}

    def __getstate__(self) -> dict[str, Any]:
        # the rows travel to the worker; a lock cannot, and writes start afresh there
        return {"pages": self._pages, "media": self._media}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._pages, self._media = state["pages"], state["media"]
        self._reset()

    def page(self, ref: str) -> PageState | None:
        return self._pages.get(ref)

    def reuse(self, previous: PageState, page: Page) -> PageResult | None:
        result = reused(previous, page)
        if result is not None:
            with self._lock:
                self._revalidated[result.ref] = Revalidated(
                    result.ref, result.etag, result.last_modified)
        return result

    def save_page(self, page: Page, result: PageResult) -> None:
        row = saved_page(page, result)
        if row is not None:
            with self._lock:
                self._saved[row.ref] = row

    def media(self, url: str) -> MediaResult | None:
        return self._media.get(url)

    def save_media(self, result: MediaResult) -> None:
        with self._lock:  # a later save of a URL (with its probe) replaces an earlier one
            self._saved_media[result.url] = result

    def writes(self) -> StateWrites:
        """Every write recorded so far, for the real state to apply."""
        with self._lock:
            return StateWrites(pages=tuple(self._saved.values()),
                               revalidated=tuple(self._revalidated.values()),
                               media=tuple(self._saved_media.values()))


def take_snapshot(state: StateView, refs: Iterable[str]) -> StateSnapshot:
    """The rows ``state`` holds for the pages ``refs`` and for the media they mention."""
    pages = {ref: row for ref in refs if (row := state.page(ref)) is not None}
    urls = {url: None for row in pages.values() for video in row.videos()
            for url in (video.declared.content_url, *video.declared.thumbnail_urls) if url}
    media = {url: kept for url in urls if (kept := state.media(url)) is not None}
    return StateSnapshot(pages, media)
