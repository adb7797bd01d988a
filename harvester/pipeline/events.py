"""Progress events a run reports as it goes, for a progress bar or a log.

Kept apart from the run loop so that the page stage (:mod:`harvester.pipeline.run`)
and the media stage (:mod:`harvester.pipeline.media`) both report without
importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harvester.records import MediaResult, PageResult
    from harvester.store.manifest import Manifest


@dataclass(frozen=True, slots=True)
class Event:
    """A progress event.

    ``kind`` is "run" (the run began: ``manifest`` is its manifest, still
    empty), "page" (a page is done: ``result``), "media-start" (``total`` is
    the announced size, when known), "media-bytes" (``amount`` more bytes),
    "media-done" (``media`` is the outcome) or "shard" (a sharded run finished
    or skipped one shard: ``amount`` pages, ``total`` shards, ``videos`` found).
    """

    kind: str
    ref: str
    amount: int = 0
    total: int | None = None
    videos: int = 0
    result: PageResult | None = field(default=None, compare=False, repr=False)
    media: MediaResult | None = field(default=None, compare=False, repr=False)
    manifest: Manifest | None = field(default=None, compare=False, repr=False)


#: Receives every event of a run, from the run's worker threads.
Progress = Callable[[Event], None]
