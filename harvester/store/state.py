"""What earlier runs saw, fetched and downloaded: one SQLite file (``--state``).

Promise: a re-run does only new work, and a ``kill -9`` at any moment leaves
a consistent database.  Every write is one short ``BEGIN IMMEDIATE`` ...
``COMMIT`` transaction in WAL mode, so a crash loses at most the write in
flight and never half of one.  The schema is versioned with
``PRAGMA user_version``; a file from a newer harvester is refused, not
rewritten.  Tables::

    pages   ref → validators (ETag, Last-Modified), content hash, outcome and the
            stored extraction (the page's videos, serialised by harvester.store.serial)
    media   url → validators, sha256, path, size, content type, probe, and the file's
            modification time when its sha256 was verified (schema 2)
    videos  id → page, first_seen, last_seen, fingerprint, present
    runs    started, finished, counts of every completed run

A run's videos and counts are recorded only once its manifest is written
(:meth:`State.finish_run` computes, :meth:`State.commit_run` records, and
leaving ``with State.open(...)`` without an error commits), so a run killed
before its manifest is out is reported again by the next one, never lost.

A stored extraction is only offered back to the harvester version that wrote
it: after an upgrade each page is fetched and extracted afresh once.  Only the
coordinating process opens the state (see "Beyond one machine"); a lock makes
the connection safe for the pipeline's worker threads.  A shard worker gets a
:class:`harvester.store.snapshot.StateSnapshot` instead, and the coordinator
replays what it wrote with :meth:`State.apply`.  Take
:class:`harvester.store.lock.RunLock` before opening, so one run owns the file.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harvester import __version__
from harvester.errors import ConfigError, StateError
from harvester.records import MediaResult, MediaStatus, Page, PageResult, Video, utc_now
from harvester.store.serial import probe_from_dict, probe_to_dict, video_to_dict
from harvester.store.view import (
    PageState,
    Revalidated,
    SavedPage,
    StateWrites,
    reused,
    saved_page,
)

if TYPE_CHECKING:
    from harvester.store.manifest import Manifest

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE pages (
    ref TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, content_sha256 TEXT,
    outcome TEXT NOT NULL, fetched_at TEXT NOT NULL, generator TEXT NOT NULL,
    videos_json TEXT NOT NULL);
CREATE TABLE media (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, sha256 TEXT, path TEXT,
    bytes INTEGER, content_type TEXT, probe_json TEXT, updated_at TEXT NOT NULL,
    mtime_ns INTEGER);
CREATE TABLE videos (
    id TEXT PRIMARY KEY, page TEXT NOT NULL, first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL, fingerprint TEXT NOT NULL, present INTEGER NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, finished TEXT NOT NULL,
    counts_json TEXT NOT NULL);
"""

#: From each older schema version to SCHEMA_VERSION.  Media rows of schema 1 have no
#: modification time: their files are read once more, and the time recorded then.
_MIGRATIONS = {0: _SCHEMA, 1: "ALTER TABLE media ADD COLUMN mtime_ns INTEGER"}

#: Stored extractions are offered back only to the version that wrote them.
GENERATOR = __version__

_KEPT_MEDIA = (MediaStatus.DOWNLOADED, MediaStatus.CACHED)


@dataclass(frozen=True, slots=True)
class Changes:
    """Video ids new, changed and gone since the last completed run (sorted)."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {"new": list(self.new), "changed": list(self.changed), "gone": list(self.gone)}


@dataclass(frozen=True, slots=True)
class Observation:
    """The outcome of :meth:`State.observe_videos`: changes and (first_seen, last_seen) by id."""

    changes: Changes
    seen: Mapping[str, tuple[str, str]]


#: A finished run waiting for its manifest: (started, videos, pages_failed, counts).
_Pending = tuple[str, list[tuple[str, str, str]], list[str], dict[str, Any]]


def fingerprint(video: Video) -> str:
    """Hash of what a video *says* (data and declared); provenance is left out."""
    doc = video_to_dict(video)
    canonical = json.dumps({"data": doc["data"], "declared": doc["declared"]},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class State:
    """The state database of one harvester deployment.  Open with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self._pending: _Pending | None = None

    @classmethod
    def open(cls, path: str | Path) -> State:
        """Open (creating or migrating) the state file at ``path``."""
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False,
                                   timeout=10.0)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open state file {target}: {exc}") from None
        try:
            _prepare(conn, target)
        except BaseException:
            conn.close()
            raise
        return cls(conn, target)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit_run()
        finally:
            self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction: all of it lands, or none of it.

        A write the database cannot take (a full disk, a read-only file) is a
        :class:`StateError` naming the file; the transaction is rolled back,
        so the database stays as it was.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                raise StateError(f"cannot write the state file {self.path}: {exc}; "
                                 "nothing of that write was kept") from None

    def _one(self, sql: str, args: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._lock:
            row: tuple[Any, ...] | None = self._conn.execute(sql, args).fetchone()
            return row

    # -- pages -----------------------------------------------------------------

    def page(self, ref: str) -> PageState | None:
        """The stored page, or None when unknown or written by another harvester version."""
        row = self._one(
            "SELECT ref, etag, last_modified, content_sha256, outcome, fetched_at, videos_json"
            " FROM pages WHERE ref = ? AND generator = ?", (ref, GENERATOR))
        return None if row is None else PageState(*row)

    def save_page(self, page: Page, result: PageResult) -> None:
        """Remember a successfully processed page; a failure leaves the old row alone."""
        row = saved_page(page, result)
        if row is not None:
            with self._tx() as db:
                _put_page(db, row)

    def reuse(self, previous: PageState, page: Page) -> PageResult | None:
        """The stored extraction when ``page`` is a 304 or has the same bytes, else None.

        Fresh validators from the response are stored for the next run.
        """
        result = reused(previous, page)
        if result is not None:
            with self._tx() as db:
                _revalidate(db, Revalidated(result.ref, result.etag, result.last_modified))
        return result

    # -- media -----------------------------------------------------------------

    def media(self, url: str) -> MediaResult | None:
        """The last file kept for ``url`` (status ``cached``, attempts 0), or None.

        ``download()`` takes it as ``previous``: validators for a conditional or
        resumed request, and the sha256 and path to check the file on disk.
        """
        row = self._one(
            "SELECT url, etag, last_modified, sha256, path, bytes, content_type, probe_json,"
            " mtime_ns FROM media WHERE url = ?", (url,))
        if row is None:
            return None
        url_, etag, last_modified, sha256, path, size, ctype, probe_json, mtime_ns = row
        probe = probe_from_dict(json.loads(probe_json)) if probe_json else None
        return MediaResult(url=url_, status=MediaStatus.CACHED, path=path, bytes=size,
                           sha256=sha256, attempts=0, content_type=ctype, etag=etag,
                           last_modified=last_modified, probe=probe, mtime_ns=mtime_ns)

    def save_media(self, result: MediaResult) -> None:
        """Remember a file on disk (downloaded or cached); other outcomes are not stored."""
        if _kept(result):
            with self._tx() as db:
                _put_media(db, result)

    def apply(self, writes: StateWrites) -> None:
        """Replay what a run recorded in a snapshot, in one transaction.

        The same rows result as if the run had written here directly: pages
        saved, validators of unchanged pages refreshed, media files remembered.
        """
        if not writes:
            return
        with self._tx() as db:
            for row in writes.pages:
                _put_page(db, row)
            for fresh in writes.revalidated:
                _revalidate(db, fresh)
            for result in filter(_kept, writes.media):
                _put_media(db, result)

    # -- videos and runs ---------------------------------------------------------

    def observe_videos(
        self, run_started: str, videos: Iterable[tuple[str, str, str]],
        pages_failed: Iterable[str] = (), *, dry_run: bool = False,
    ) -> Observation:
        """Record the videos ``(id, page, fingerprint)`` of a run and say what changed.

        A video is *new* when it was not present after the last completed run,
        *changed* when its fingerprint differs, *gone* when it was present and is
        not now.  Videos of pages in ``pages_failed`` are not declared gone: we
        do not know what those pages hold now.  One transaction; ``dry_run``
        only computes.
        """
        current: dict[str, tuple[str, str]] = {}
        for vid, page, fp in videos:
            current.setdefault(vid, (page, fp))
        if dry_run:
            with self._lock:
                return _diff(self._known(self._conn), current, set(pages_failed), run_started)
        with self._tx() as db:
            obs = _diff(self._known(db), current, set(pages_failed), run_started)
            _apply(db, obs, current, run_started)
        return obs

    @staticmethod
    def _known(db: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
        rows = db.execute("SELECT id, page, first_seen, fingerprint, present FROM videos")
        return {row[0]: row[1:] for row in rows}

    def record_run(self, started: str, finished: str, counts: Mapping[str, Any]) -> None:
        """Append one completed run."""
        with self._tx() as db:
            db.execute("INSERT INTO runs (started, finished, counts_json) VALUES (?, ?, ?)",
                       (started, finished, json.dumps(counts, sort_keys=True)))

    def finish_run(
        self, manifest: Manifest,
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
        """(seen, changes) of the manifest's videos; recorded later by :meth:`commit_run`.

        Nothing is written yet: the run is recorded only once its manifest is out
        (``commit_run``, or leaving the ``with State.open(...)`` block without an
        error).  A run killed in between is reported again by the next run, so
        a change is never lost, at worst announced twice.
        """
        failed = list(manifest.results.failed_refs())
        # Videos a failed page carries over from its last good run were not seen now.
        videos = [(v.id, v.page, fingerprint(v)) for p in manifest.results.pages()
                  if p.error is None for v in p.videos]
        obs = self.observe_videos(manifest.started, videos, failed, dry_run=True)
        self._pending = (manifest.started, videos, failed, manifest.counts())
        return dict(obs.seen), obs.changes.as_dict()

    def commit_run(self) -> None:
        """Record the run that :meth:`finish_run` described: its videos and its counts."""
        if self._pending is None:
            return
        started, videos, failed, counts = self._pending
        self.observe_videos(started, videos, failed)
        self.record_run(started, utc_now(), counts)
        self._pending = None


def _put_page(db: sqlite3.Connection, row: SavedPage) -> None:
    videos = json.dumps([video_to_dict(v) for v in row.videos], ensure_ascii=False)
    db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (row.ref, row.etag, row.last_modified, row.content_sha256, "ok", utc_now(),
                GENERATOR, videos))


def _revalidate(db: sqlite3.Connection, fresh: Revalidated) -> None:
    db.execute("UPDATE pages SET etag = ?, last_modified = ?, fetched_at = ? WHERE ref = ?",
               (fresh.etag, fresh.last_modified, utc_now(), fresh.ref))


def _kept(result: MediaResult) -> bool:
    """Only a file on disk is worth remembering."""
    return result.status in _KEPT_MEDIA and result.path is not None


def _put_media(db: sqlite3.Connection, result: MediaResult) -> None:
    probe = probe_to_dict(result.probe)
    if result.probe is not None and result.probe.error is not None:
        probe = None  # a failed probe is retried next run, not remembered
    probe_json = None if probe is None else json.dumps(probe, sort_keys=True)
    db.execute("INSERT OR REPLACE INTO media (url, etag, last_modified, sha256, path, bytes,"
               " content_type, probe_json, updated_at, mtime_ns)"
               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (result.url, result.etag, result.last_modified, result.sha256, result.path,
                result.bytes, result.content_type, probe_json, utc_now(), result.mtime_ns))


def _diff(
    known: Mapping[str, tuple[Any, ...]], current: Mapping[str, tuple[str, str]],
    failed: set[str], run_started: str,
) -> Observation:
    """What changed between the stored videos (page, first_seen, fp, present) and now."""
    new: list[str] = []
    changed: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for vid, (_page, fp) in current.items():
        old = known.get(vid)
        if old is None or not old[3]:
            new.append(vid)
        elif old[2] != fp:
            changed.append(vid)
        first = old[1] if old is not None and old[3] else run_started
        seen[vid] = (first, run_started)
    gone = sorted(vid for vid, old in known.items()
                  if old[3] and vid not in current and old[0] not in failed)
    return Observation(Changes(tuple(sorted(new)), tuple(sorted(changed)), tuple(gone)), seen)


def _apply(
    db: sqlite3.Connection, obs: Observation, current: Mapping[str, tuple[str, str]],
    run_started: str,
) -> None:
    db.executemany("INSERT OR REPLACE INTO videos VALUES (?, ?, ?, ?, ?, 1)",
                   [(vid, page, obs.seen[vid][0], run_started, fp)
                    for vid, (page, fp) in current.items()])
    db.executemany("UPDATE videos SET present = 0 WHERE id = ?",
                   [(g,) for g in obs.changes.gone])


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    """WAL, a busy timeout, and the schema at :data:`SCHEMA_VERSION`."""
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: consistent after a crash
        conn.execute("PRAGMA busy_timeout=10000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ConfigError(f"state file {path} was written by a newer harvester "
                              f"(schema {version}); upgrade harvester or use another file")
        if version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"state file {path} is not a harvester state database ({exc}); "
                          "move it aside or pass another --state") from None
