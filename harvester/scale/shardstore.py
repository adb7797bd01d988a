"""Shard outputs on any fsspec file system: one part and one completion marker per shard.

Layout under the shard root (a local path by default, or ``s3://bucket/run/``
and the like when the matching fsspec backend is installed)::

    <shard id>.part.json.gz   the shard's listed page results, the number of pages it
                              counted without listing them and, when it downloaded, the
                              media of its videos (gzip JSON, deterministic bytes)
    <shard id>.done           its summary and the part's sha256, written after the part

Each file is written atomically: locally to a temporary name then
``os.replace``; on object stores a single PUT, which readers see whole or not
at all.  The marker is written only after the part, so a marker always
names a complete part; a part without a marker is simply redone.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from harvester.errors import ConfigError
from harvester.files import write_atomic
from harvester.records import Media, PageResult
from harvester.scale.plan import Shard, ShardRef, ShardResult
from harvester.store.results import RunResults
from harvester.store.serial import (
    media_from_dict,
    media_to_dict,
    page_result_from_dict,
    page_result_to_dict,
)

PART = ".part.json.gz"
MARKER = ".done"
PART_FORMAT = 3


@dataclass(frozen=True, slots=True)
class ShardPart:
    """What a shard's part holds: its listed page results, how many pages it counted
    without listing them, and the media of its videos by id."""

    pages: list[PageResult]
    media: dict[str, Media] = field(default_factory=dict)
    unlisted: int = 0


#: Where shards go when the run names no shard directory.
DEFAULT_ROOT = "harvester-shards"


class ShardStore:
    """Parts and markers under one root URL."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        from fsspec.core import url_to_fs

        try:
            self.fs, self.path = url_to_fs(root, **(storage_options or {}))
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"cannot use shard directory {root}: {exc}") from None
        self.local = "file" in _protocols(self.fs)

    def _name(self, shard_id: str, suffix: str) -> str:
        return f"{self.path}/{shard_id}{suffix}"

    def write(self, shard: Shard, results: RunResults, summary: ShardResult) -> None:
        """Write the part, then the marker that declares the shard complete."""
        document = {"format": PART_FORMAT, "shard": shard.id,
                    "sources": [s.ref for s in shard.sources],
                    "pages": [page_result_to_dict(r) for r in results.pages()],
                    "unlisted": results.unlisted,
                    "media": {vid: media_to_dict(m) for vid, m in results.media()}}
        text = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
        part = gzip.compress(text, compresslevel=6, mtime=0)
        marker = {**summary.marker(), "part_sha256": hashlib.sha256(part).hexdigest()}
        self.fs.makedirs(self.path, exist_ok=True)
        self._put(self._name(shard.id, PART), part)
        self._put(self._name(shard.id, MARKER), json.dumps(marker, sort_keys=True).encode())

    def _put(self, path: str, data: bytes) -> None:
        if not self.local:
            self.fs.pipe_file(path, data)  # one PUT: whole or absent
            return
        write_atomic(path, data)

    def completed(self) -> dict[str, ShardResult]:
        """Summaries of the shards whose marker exists, by shard id."""
        try:
            names = [n for n in self.fs.ls(self.path, detail=False) if n.endswith(MARKER)]
        except FileNotFoundError:
            return {}
        done: dict[str, ShardResult] = {}
        if not names:
            return done
        for blob in self.fs.cat(names, on_error="omit").values():
            try:
                summary = ShardResult.from_marker(json.loads(blob))
            except (ValueError, TypeError, AttributeError):
                continue  # an unreadable marker: the shard is redone
            done[summary.shard_id] = summary
        return done

    def read(self, shard: Shard | ShardRef) -> ShardPart | None:
        """The part of a complete shard, or None when it is missing, bad or of another format."""
        try:
            marker = json.loads(self.fs.cat_file(self._name(shard.id, MARKER)))
            part = self.fs.cat_file(self._name(shard.id, PART))
            if hashlib.sha256(part).hexdigest() != marker.get("part_sha256"):
                return None
            document = json.loads(gzip.decompress(part))
            if document.get("format") != PART_FORMAT:
                return None
            return ShardPart(
                pages=[page_result_from_dict(d) for d in document["pages"]],
                media={vid: media_from_dict(m) for vid, m in document["media"].items()},
                unlisted=int(document["unlisted"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):
            return None

    def forget(self, shard: Shard | ShardRef) -> None:
        """Remove a shard's marker (and part) so that the next run redoes it."""
        for suffix in (MARKER, PART):
            # already gone, or not ours to remove: the missing marker is what counts
            with contextlib.suppress(OSError):
                self.fs.rm_file(self._name(shard.id, suffix))


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
