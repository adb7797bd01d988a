"""The units of a sharded run: how input is cut into shards, and what a shard reports.

A :class:`Shard` is one WARC file, or a chunk of ``config.shard_size`` other
pages (files or URLs) in input order.  Its id is a hash of what it reads
(refs, and size and mtime of local files), of the options that shape its part
(page size cap, downloads, probing) and of the harvester version, so it names
the same work on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from harvester import __version__
from harvester.config import Config
from harvester.records import Source, SourceKind
from harvester.store.view import StateWrites


@dataclass(frozen=True, slots=True)
class Shard:
    """One unit of work: a WARC file or a chunk of pages."""

    id: str
    kind: str  # "warc" | "pages"
    sources: tuple[Source, ...]

    @property
    def label(self) -> str:
        first = self.sources[0].ref if self.sources else "-"
        return first if len(self.sources) == 1 else f"{first} (+{len(self.sources) - 1} more)"

    def ref(self) -> ShardRef:
        return ShardRef(self.id, self.label)


@dataclass(frozen=True, slots=True)
class ShardRef:
    """What the coordinator keeps of a shard once it is handed out: its id and label."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class ShardResult:
    """What one shard produced (the part itself is in the shard store).

    ``writes`` are the state writes the shard recorded, for the coordinator to
    replay; they travel back with the result and are not part of the marker.
    """

    shard_id: str
    pages: int
    videos: int
    failed_pages: int
    seconds: float = field(default=0.0, compare=False)
    writes: StateWrites | None = field(default=None, compare=False, repr=False)

    def marker(self) -> dict[str, Any]:
        """The summary a completion marker holds."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "writes"}

    @classmethod
    def from_marker(cls, summary: Mapping[str, Any]) -> ShardResult:
        """Inverse of :meth:`marker`; keys it does not know are left out."""
        known = {f.name for f in fields(cls)} - {"writes"}
        return cls(**{k: v for k, v in summary.items() if k in known})


def _fingerprint(source: Source) -> list[object]:
    """What identifies a source's content: its ref, plus size and mtime for local files."""
    if source.kind is SourceKind.URL or "://" in source.ref:
        return [source.ref]
    try:
        st = os.stat(source.ref)
    except OSError:
        return [source.ref, None]
    return [source.ref, st.st_size, st.st_mtime_ns]


def make_shard(kind: str, sources: Iterable[Source], config: Config) -> Shard:
    """A shard whose id is stable for the same sources, files, options and version."""
    items = tuple(sources)
    # A part holds media only when the run downloads: the id says which kind it is.
    key = json.dumps([__version__, kind, config.max_page_bytes, config.download, config.probe,
                      config.list_all_pages, [_fingerprint(s) for s in items]])
    digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return Shard(id=f"{kind}-{digest}", kind=kind, sources=items)


def plan_shards(sources: Iterable[Source], config: Config) -> Iterator[Shard]:
    """One shard per WARC file; other pages in chunks of ``shard_size``, input order kept.

    Shards are planned as they are asked for, so a list of millions of pages
    is read as the run goes, never held whole.
    """
    chunk: list[Source] = []
    for source in sources:
        if source.kind is SourceKind.WARC:
            if chunk:
                yield make_shard("pages", chunk, config)
                chunk = []
            yield make_shard("warc", [source], config)
            continue
        chunk.append(source)
        if len(chunk) >= config.shard_size:
            yield make_shard("pages", chunk, config)
            chunk = []
    if chunk:
        yield make_shard("pages", chunk, config)
