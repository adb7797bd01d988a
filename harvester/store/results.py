"""A run's results as they arrive, kept on disk: the manifest's body without the memory.

:class:`RunResults` takes page results one at a time (in the run's order) and
the media of their videos, and gives them back in that order when the
manifest is written.  It holds them in a private SQLite database that lives in
a temporary file (deleted when it is closed), so a run of millions of pages
keeps a few megabytes in memory however many pages it saw.

Pages without videos, error or sitemap facts are counted but not kept unless
``list_all`` is set: on the web most pages have no video, and listing each
would make the manifest mostly empty entries.

A page seen twice (the same URL in two WARC files, or in two shards) is kept
once, at the place it was first seen: its first successful result wins, so no
video appears twice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from harvester.records import Media, MediaStatus, PageResult
from harvester.store.serial import (
    media_from_dict,
    media_to_dict,
    page_result_from_dict,
    page_result_to_dict,
    page_to_dict,
    video_to_dict,
)

__all__ = ["RunResults", "is_listed"]

# A page row holds the page result without its videos (``body``) and its manifest entry;
# each video is a row of its own, so a page of thousands of videos is never one string.
_SCHEMA = """
CREATE TABLE pages (ref TEXT PRIMARY KEY, pos INTEGER NOT NULL UNIQUE, part INTEGER NOT NULL,
                    failed INTEGER NOT NULL, videos INTEGER NOT NULL, distinct_videos INTEGER,
                    invalid INTEGER, partial INTEGER, repaired INTEGER, body TEXT NOT NULL,
                    entry TEXT NOT NULL);
CREATE INDEX pages_part ON pages (part, pos);
CREATE TABLE videos (pos INTEGER NOT NULL, n INTEGER NOT NULL, body TEXT NOT NULL,
                     PRIMARY KEY (pos, n));
CREATE TABLE media (id TEXT PRIMARY KEY, video TEXT, thumbnail TEXT, body TEXT NOT NULL);
"""

#: Page counts summed over the kept pages, in the manifest's ``counts`` order.
_PAGE_COUNTS = ("pages_failed", "videos", "distinct_videos", "invalid", "partial", "repaired")


def is_listed(result: PageResult) -> bool:
    """Whether a page is worth an entry of its own: it has videos, an error or sitemap facts."""
    return bool(result.videos) or result.error is not None or result.sitemap is not None


class RunResults:
    """Page results and media of one run, in arrival order, on disk (thread-safe).

    Each of ``listeners`` hears of a page the first time it is kept (not a
    repeat), as it is added: the JSON-lines manifest writes its lines from it.
    """

    def __init__(self, *, list_all: bool = True) -> None:
        self.list_all = list_all
        # "" names a private temporary database: on disk, removed on close.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._lock = threading.Lock()
        self._pos = 0
        self._unlisted = 0
        self._repeats = 0  # pages kept already: counted again, not kept twice
        self.listeners: list[Callable[[PageResult], None]] = []

    def close(self) -> None:
        """Drop the temporary database."""
        with self._lock:
            self._db.close()

    # ----- adding

    def add(self, result: PageResult, part: int = 0) -> bool:
        """Keep (or count) one page result; True when it is kept.

        A page already kept is replaced only when it had failed and this
        result did not (it keeps its place); ``listeners`` hear only of pages
        kept for the first time.  ``part`` names the shard (or chunk
        of the input) the page came from; partitioned outputs are cut along it.
        """
        if not (self.list_all or is_listed(result)):
            with self._lock:
                self._unlisted += 1
            return False
        facts = _page_facts(result)
        with self._lock:
            # A new page (nearly every one) costs one INSERT; a page kept already is
            # left as it is, and looked at only then.
            pos = self._pos + 1
            old = None
            if self._db.execute("INSERT OR IGNORE INTO pages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                (result.ref, pos, part, *facts)).rowcount:
                self._pos = pos
            else:
                old = self._db.execute("SELECT pos, failed FROM pages WHERE ref = ?",
                                       (result.ref,)).fetchone()
                self._repeats += 1
                if not old[1] or result.error is not None:
                    return False
                # a success replaces a failure, in its place
                pos = old[0]
                self._db.execute("DELETE FROM videos WHERE pos = ?", (pos,))
                self._db.execute("REPLACE INTO pages VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                 (result.ref, pos, part, *facts))
            self._db.executemany("INSERT INTO videos VALUES (?,?,?)", (
                (pos, n, json.dumps(video_to_dict(v), ensure_ascii=False))
                for n, v in enumerate(result.videos)))
        if old is None:
            for listener in self.listeners:
                listener(result)
        return True

    @property
    def unlisted(self) -> int:
        """How many pages were read without being kept (not worth listing, or kept already)."""
        with self._lock:
            return self._unlisted + self._repeats

    def count_unlisted(self, pages: int) -> None:
        """Count ``pages`` pages that were seen but not listed (a shard counted them)."""
        with self._lock:
            self._unlisted += pages

    def add_media(self, media: Mapping[str, Media]) -> None:
        """The media of videos by id (a later entry for the same id replaces the earlier)."""
        rows = [(vid, _status(m.video), _status(m.thumbnail),
                 json.dumps(media_to_dict(m), ensure_ascii=False)) for vid, m in media.items()]
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO media VALUES (?,?,?,?)", rows)

    # ----- reading

    def pages(self) -> Iterator[PageResult]:
        """The kept pages in the order they were first seen."""
        for _, page in self.pages_by_part(order="pos"):
            yield page

    def pages_by_part(self, order: str = "part, pos") -> Iterator[tuple[int, PageResult]]:
        """``(part, page)`` of the kept pages, part by part, each in order."""
        for part, pos, body in self._rows(f"SELECT part, pos, body FROM pages ORDER BY {order}"):
            with self._lock:
                rows = self._db.execute("SELECT body FROM videos WHERE pos = ? ORDER BY n",
                                        (pos,)).fetchall()
            page = json.loads(body)
            page["videos"] = [json.loads(video) for video, in rows]
            yield part, page_result_from_dict(page)

    def page_entries(self, part: int | None = None) -> Iterator[dict[str, Any]]:
        """The manifest entries of the kept pages (of one part), in order."""
        where = "" if part is None else f"WHERE part = {int(part)} "
        for entry, in self._rows(f"SELECT entry FROM pages {where}ORDER BY pos"):
            yield json.loads(entry)

    def video_dicts(self, part: int | None = None) -> Iterator[dict[str, Any]]:
        """Every video of the kept pages (of one part) in its manifest form, in order."""
        where = "" if part is None else f"WHERE p.part = {int(part)} "
        for body, in self._rows("SELECT v.body FROM videos v JOIN pages p ON v.pos = p.pos "
                                f"{where}ORDER BY v.pos, v.n"):
            yield json.loads(body)

    def parts(self) -> list[int]:
        """The parts that hold kept pages, in order."""
        return [part for part, in self._rows("SELECT DISTINCT part FROM pages ORDER BY part")]

    def failed_refs(self) -> Iterator[str]:
        """The refs of the pages that failed, in order."""
        for ref, in self._rows("SELECT ref FROM pages WHERE failed ORDER BY pos"):
            yield ref

    def media_of(self, video_id: str) -> Media | None:
        """The media of one video, if the run has any."""
        found = self.media_dict_of(video_id)
        return None if found is None else media_from_dict(found)

    def media_dict_of(self, video_id: str) -> dict[str, Any] | None:
        """The manifest form of one video's media, if the run has any."""
        with self._lock:
            row = self._db.execute("SELECT body FROM media WHERE id = ?",
                                   (video_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def media(self) -> Iterator[tuple[str, Media]]:
        """Every ``(video id, media)``, in the order they were added."""
        for vid, body in self._rows("SELECT id, body FROM media ORDER BY rowid"):
            yield vid, media_from_dict(json.loads(body))

    def _rows(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """The rows of ``sql``, read in batches so that none is held whole."""
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute(sql)
        while True:
            with self._lock:
                batch = cursor.fetchmany(500)
            if not batch:
                return
            yield from batch

    def counts(self) -> dict[str, Any]:
        """The manifest's ``counts``: every page read (kept or not, and a page read twice
        twice), the failures and videos of the kept pages, and every media outcome."""
        with self._lock:
            sums = self._db.execute(
                "SELECT COUNT(*), TOTAL(failed), TOTAL(videos), TOTAL(distinct_videos), "
                "TOTAL(invalid), TOTAL(partial), TOTAL(repaired) FROM pages").fetchone()
            statuses = self._db.execute(
                "SELECT status, COUNT(*) FROM (SELECT video AS status FROM media UNION ALL "
                "SELECT thumbnail FROM media) WHERE status IS NOT NULL GROUP BY status"
            ).fetchall()
            seen = sums[0] + self._unlisted + self._repeats
        counts: dict[str, Any] = {"pages": seen}
        counts.update({name: int(value) for name, value in zip(_PAGE_COUNTS, sums[1:],
                                                                 strict=True)})
        media = {s.value: 0 for s in MediaStatus}
        media.update(dict(statuses))
        counts["media"] = media
        return counts


def _page_facts(result: PageResult) -> tuple[Any, ...]:
    """The page row after ref, pos and part: failed, the video counts, body and entry."""
    videos = result.videos
    body = page_result_to_dict(replace(result, videos=()))
    return (int(result.error is not None), len(videos),
            sum(v.duplicate_of is None for v in videos),
            sum(not v.validation.valid for v in videos), sum(v.partial for v in videos),
            sum(bool(v.repairs) for v in videos), json.dumps(body, ensure_ascii=False),
            json.dumps(page_to_dict(result), ensure_ascii=False))


def _status(result: Any) -> str | None:
    return None if result is None else str(result.status.value)
