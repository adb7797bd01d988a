"""What a download directory already holds, by URL, kept across runs without ``--state``.

Like wget's ``-nc``: a second run into the same ``--dir`` reuses the files an
earlier run downloaded instead of asking the server again.  The index is one
JSON file in the directory (``.harvester-index.json``: URL → path, sha256,
size, validators, and the file's modification time when its sha256 was
verified).  A file is reused only when it still has that size and time, or
else its bytes still hash to the recorded sha256 (``download`` checks that
before it answers ``cached``), so a file rewritten on disk is downloaded
again, never trusted.

Runs that share the directory merge their entries: the index is rewritten
under a lock, read again first, and written atomically.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from harvester.files import waiting_lock, write_atomic
from harvester.records import MediaResult, MediaStatus

__all__ = ["INDEX_NAME", "DirIndex"]

INDEX_NAME = ".harvester-index.json"
_KEPT = (MediaStatus.DOWNLOADED, MediaStatus.CACHED)
_FIELDS = ("path", "sha256", "bytes", "content_type", "etag", "last_modified", "mtime_ns")


class DirIndex:
    """The index of one download directory (thread-safe; written by :meth:`flush`)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / INDEX_NAME
        self._lock = threading.Lock()
        self._entries = _read(self.path)
        self._new: dict[str, dict[str, Any]] = {}

    def media(self, url: str) -> MediaResult | None:
        """The file an earlier run kept for ``url`` (status ``cached``), or None."""
        with self._lock:
            entry = self._new.get(url) or self._entries.get(url)
        if entry is None:
            return None
        return MediaResult(url=url, status=MediaStatus.CACHED, attempts=0,
                           path=entry.get("path"), sha256=entry.get("sha256"),
                           bytes=entry.get("bytes"), content_type=entry.get("content_type"),
                           etag=entry.get("etag"), last_modified=entry.get("last_modified"),
                           mtime_ns=_int_or_none(entry.get("mtime_ns")))

    def save_media(self, result: MediaResult) -> None:
        """Remember a file on disk; other outcomes are not kept."""
        if result.status not in _KEPT or result.path is None or result.sha256 is None:
            return
        with self._lock:
            self._new[result.url] = {k: getattr(result, k) for k in _FIELDS}

    def flush(self) -> None:
        """Merge this run's entries into the index file (other runs' entries kept)."""
        with self._lock:
            new = dict(self._new)
        if not new:
            return
        with waiting_lock(self.path.with_name(INDEX_NAME + ".lock")):
            merged = {**_read(self.path), **new}
            write_atomic(self.path, json.dumps(merged, sort_keys=True, ensure_ascii=False))


def _int_or_none(value: Any) -> int | None:
    """An integer from the file, or None (a hand-edited entry is read again, not trusted)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """The entries of an index file; an unreadable one counts as empty."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {url: entry for url, entry in data.items()
            if isinstance(url, str) and isinstance(entry, dict)}
