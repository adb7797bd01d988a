"""Progress events a run reports as it goes, for a progress bar or a log.

Kept apart from the run loop so that the page stage (:mod:`harvester.pipeline.run`)
and the media stage (:mod:`harvester.pipeline.media`) both report without
importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """A progress event: ``kind`` is "page", "media-start", "media-bytes", "media-done"
    or "shard" (a sharded run finished or skipped one shard: ``amount`` pages,
    ``total`` shards, ``videos`` found)."""

    kind: str
    ref: str
    amount: int = 0
    total: int | None = None
    videos: int = 0


#: Receives every event of a run, from the run's worker threads.
Progress = Callable[[Event], None]
