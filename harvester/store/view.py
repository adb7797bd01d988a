"""What the pipeline asks of the state, and the records of what it writes there.

:class:`StateView` is the whole interface a run has with earlier runs: five
calls, made by :mod:`harvester.pipeline.run` (pages) and
:mod:`harvester.pipeline.media` (downloads).  :class:`harvester.store.state.State`
answers them from SQLite; :class:`harvester.store.snapshot.StateSnapshot`
answers them inside a shard worker from a copy taken by the coordinator.

The rules both share live here, so a page is remembered and reused the same
way whichever answers: :func:`reused` (a 304 or the same bytes give back the
stored extraction) and :func:`saved_page` (only a page processed without error
is remembered).  :class:`StateWrites` is what a snapshot recorded, for the
coordinator to apply to the real state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Protocol

from harvester.records import MediaResult, Page, PageResult, Video
from harvester.store.serial import video_from_dict


@dataclass(frozen=True, slots=True)
class PageState:
    """One page as the last successful fetch left it."""

    ref: str
    etag: str | None
    last_modified: str | None
    content_sha256: str | None
    outcome: str
    fetched_at: str
    videos_json: str = field(repr=False)

    def videos(self) -> tuple[Video, ...]:
        """The stored extraction, as records."""
        return tuple(video_from_dict(d) for d in json.loads(self.videos_json))


class StateView(Protocol):
    """The state calls a run makes; reads may come from a snapshot, writes may be replayed."""

    def page(self, ref: str) -> PageState | None:
        """The stored page (validators and extraction), or None when unknown."""

    def reuse(self, previous: PageState, page: Page) -> PageResult | None:
        """The stored extraction when ``page`` is unchanged, remembering fresh validators."""

    def save_page(self, page: Page, result: PageResult) -> None:
        """Remember a page that was processed anew."""

    def media(self, url: str) -> MediaResult | None:
        """The last file kept for ``url`` (status ``cached``), or None."""

    def save_media(self, result: MediaResult) -> None:
        """Remember a media file that was fetched or probed."""


@dataclass(frozen=True, slots=True)
class SavedPage:
    """What the state keeps of a processed page: validators, content hash, extraction."""

    ref: str
    etag: str | None
    last_modified: str | None
    content_sha256: str
    videos: tuple[Video, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Revalidated:
    """Fresh validators of an unchanged page (its extraction stays as stored)."""

    ref: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class StateWrites:
    """The writes a run made through a snapshot, in the order the state should apply them."""

    pages: tuple[SavedPage, ...] = ()
    revalidated: tuple[Revalidated, ...] = ()
    media: tuple[MediaResult, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pages or self.revalidated or self.media)


def saved_page(page: Page, result: PageResult) -> SavedPage | None:
    """The row to keep for a processed page, or None when it failed.

    Keeping the old row on failure keeps its validators and extraction, so a
    transient error does not cost the next run a full fetch.
    """
    if result.error is not None:
        return None
    sha = result.content_sha256 or hashlib.sha256(page.body).hexdigest()
    return SavedPage(ref=result.ref, etag=page.etag, last_modified=page.last_modified,
                     content_sha256=sha, videos=result.videos)


def reused(previous: PageState, page: Page) -> PageResult | None:
    """The stored extraction when ``page`` is a 304 or has the same bytes, else None.

    The result carries the response's validators where it sent any, else the
    stored ones: those are what the state should remember for the next run.
    """
    unchanged = page.status == 304 or (
        previous.content_sha256 is not None
        and hashlib.sha256(page.body).hexdigest() == previous.content_sha256)
    if not unchanged:
        return None
    return PageResult(
        ref=previous.ref, videos=previous.videos(), status=page.status,
        etag=page.etag or previous.etag,
        last_modified=page.last_modified or previous.last_modified,
        content_sha256=previous.content_sha256, skipped="unchanged")
