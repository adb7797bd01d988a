"""A WARC file's pages that may name a video, extracted a few at a time, in a row.

Reading the pages between two that name a video (inflating, scanning) evicts the
extraction's code and tables from the CPU's caches, which each such page then pays
to bring back; extracted in a row, they share them.  Their results, and
those of the pages read between them, are given in the pages' order all the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

from harvester.records import Page, PageResult

__all__ = ["BATCH_BYTES", "BATCH_PAGES", "BATCH_SPAN", "Batch", "without_videos"]

#: A batch is extracted when it holds this many pages, or this many bytes, or this
#: many pages have been read since its first (so a page with a video waits only so long).
BATCH_PAGES = 16
BATCH_BYTES = 8 * 1024 * 1024
BATCH_SPAN = 256


class Batch:
    """Pages waiting to be extracted, with the results of the pages read after them.

    ``extract`` gives a page's result (:func:`harvester.pipeline.run.process_page`);
    once ``cancel`` is set no page more is extracted.
    """

    def __init__(self, extract: Callable[[Page], PageResult],
                 cancel: threading.Event | None = None) -> None:
        self.extract = extract
        self.cancel = cancel
        self.queue: list[Page | PageResult] = []
        self._pages = 0
        self._bytes = 0

    def wait(self, page: Page) -> bool:
        """Queue a page to extract; True when the batch is full."""
        self.queue.append(page)
        self._pages += 1
        self._bytes += len(page.body)
        return (self._pages >= BATCH_PAGES or self._bytes >= BATCH_BYTES
                or len(self.queue) >= BATCH_SPAN)

    def follow(self, result: PageResult) -> bool:
        """Queue the result of a page read after a waiting one; True when the batch is full."""
        self.queue.append(result)
        return len(self.queue) >= BATCH_SPAN

    def results(self) -> Iterator[PageResult]:
        """Extract the waiting pages, in a row, then give every result in order (once
        the run is stopped, only those before the first page left unextracted)."""
        queue, self.queue = self.queue, []
        self._pages = self._bytes = 0
        done: list[PageResult] = []
        for item in queue:
            if isinstance(item, Page):
                if self.cancel is not None and self.cancel.is_set():
                    break
                item = self.extract(item)
            done.append(item)
        yield from done


def without_videos(page: Page) -> PageResult:
    """The result of a page that names no video, as
    :func:`~harvester.pipeline.run.process_page` gives it."""
    return PageResult(ref=page.ref, status=page.status, etag=page.etag,
                      last_modified=page.last_modified)
