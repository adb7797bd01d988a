"""Build, serialise and atomically write the manifest.

Records become JSON through :mod:`harvester.store.serial`, the serialiser the
state and the shard parts use too, so a stored extraction and a manifest agree
byte for byte.  ``write_manifest`` writes to a temporary file in the
target directory, fsyncs and renames it into place, so a crash never leaves
a half-written manifest.  The manifest's JSON Schema ships in
``harvester/schemas/manifest.schema.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester import __version__
from harvester.files import write_atomic
from harvester.records import Media, MediaStatus, PageResult, Video
from harvester.store.serial import media_to_dict, page_to_dict, video_to_dict

MANIFEST_VERSION = 1


@dataclass
class Manifest:
    """The result of one run: run facts, pages, videos, and (with state) changes."""

    started: str
    finished: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    pages: list[PageResult] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)
    changes: dict[str, list[str]] | None = None
    interrupted: bool = False

    @property
    def videos(self) -> list[Video]:
        return [v for p in self.pages for v in p.videos]

    @property
    def failed(self) -> bool:
        """True when some page or download failed after its retries (exit code 1)."""
        bad = {MediaStatus.FAILED, MediaStatus.DEFERRED}
        return any(p.error is not None for p in self.pages) or any(
            r is not None and r.status in bad
            for m in self.media.values() for r in (m.video, m.thumbnail)
        )

    def counts(self) -> dict[str, Any]:
        videos = self.videos
        media_counts = {s.value: 0 for s in MediaStatus}
        for m in self.media.values():
            for r in (m.video, m.thumbnail):
                if r is not None:
                    media_counts[r.status.value] += 1
        return {
            "pages": len(self.pages),
            "pages_failed": sum(p.error is not None for p in self.pages),
            "videos": len(videos),
            "distinct_videos": sum(v.duplicate_of is None for v in videos),
            "invalid": sum(not v.validation.valid for v in videos),
            "partial": sum(v.partial for v in videos),
            "repaired": sum(bool(v.repairs) for v in videos),
            "media": media_counts,
        }

    def video_entry(self, video: Video) -> dict[str, Any]:
        entry = video_to_dict(video)
        if video.id in self.media:
            entry["media"] = media_to_dict(self.media[video.id])
        if video.id in self.seen:
            entry["first_seen"], entry["last_seen"] = self.seen[video.id]
        return entry

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "generator": f"harvester {__version__}",
            "run": {"started": self.started, "finished": self.finished,
                    "options": self.options, "counts": self.counts(),
                    **({"interrupted": True} if self.interrupted else {})},
            "pages": [page_to_dict(p) for p in self.pages],
            "videos": [self.video_entry(v) for v in self.videos],
        }
        if self.changes is not None:
            out["changes"] = self.changes
        return out


def to_json(obj: Any) -> str:
    """The one JSON form harvester writes: UTF-8 text, stable key order, 2-space indent."""
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


_ENCODER = json.JSONEncoder(ensure_ascii=False, indent=2, sort_keys=False)
_string: Callable[[str], str] = getattr(json.encoder, "c_encode_basestring", None) \
    or json.encoder.py_encode_basestring
_BATCH = 512  # array items joined into one piece


def json_pieces(obj: Any) -> Iterator[str]:
    """:func:`to_json`'s text in pieces, for writing without holding it whole.

    The json module indents in pure Python, a piece at a time: on a WARC run the
    manifest's page entries cost as much as reading the pages.  The shapes a manifest
    holds (objects with string keys, arrays, strings, integers, finite floats, booleans,
    null) are written here instead, each top-level array in batches of items;
    anything else goes to the json module.  Same text, byte for byte.
    """
    if type(obj) is not dict or not obj or any(type(k) is not str for k in obj):
        yield from _indented(obj, "")
        yield "\n"
        return
    separator = "{\n  "
    for key, value in obj.items():
        yield f"{separator}{_string(key)}: "
        separator = ",\n  "
        yield from _array_pieces(value, "  ") if type(value) is list and value \
            else _value_pieces(value, "  ")
    yield "\n}\n"


def _array_pieces(items: list[Any], indent: str) -> Iterator[str]:
    inner = indent + "  "
    batch = ["["]
    separator = "\n" + inner
    for item in items:
        text = _plain(item, inner)
        if text is None:
            batch.append(separator)
            yield "".join(batch)
            batch = []
            yield from _indented(item, inner)
        else:
            batch.append(separator + text)
        separator = ",\n" + inner
        if len(batch) >= _BATCH:
            yield "".join(batch)
            batch = []
    batch.append("\n" + indent + "]")
    yield "".join(batch)


def _value_pieces(value: Any, indent: str) -> Iterator[str]:
    text = _plain(value, indent)
    if text is None:
        yield from _indented(value, indent)
    else:
        yield text


def _indented(value: Any, indent: str) -> Iterator[str]:
    """The json module's text for ``value`` nested at ``indent`` (JSON strings hold no
    raw newline, so every newline in the text is indentation)."""
    for piece in _ENCODER.iterencode(value):
        yield piece.replace("\n", "\n" + indent) if indent else piece


def _plain(value: Any, indent: str) -> str | None:
    """``value`` as the json module would indent it at ``indent``, or None when it holds
    anything but the plain JSON types."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        return float.__repr__(value) if math.isfinite(value) else None
    if kind is dict:
        return _plain_object(value, indent)
    if kind is list:
        return _plain_array(value, indent)
    return None


def _plain_object(value: dict[Any, Any], indent: str) -> str | None:
    if not value:
        return "{}"
    inner = indent + "  "
    parts = []
    for key, item in value.items():
        text = _plain(item, inner)
        if text is None or type(key) is not str:
            return None
        parts.append(f"{_string(key)}: {text}")
    return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"


def _plain_array(value: list[Any], indent: str) -> str | None:
    if not value:
        return "[]"
    inner = indent + "  "
    parts = []
    for item in value:
        text = _plain(item, inner)
        if text is None:
            return None
        parts.append(text)
    return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]"


def write_manifest(path: str | Path, manifest: Manifest) -> None:
    """Write the manifest JSON atomically."""
    write_atomic(path, json_pieces(manifest.to_dict()))


def manifest_schema() -> dict[str, Any]:
    """The manifest's JSON Schema (package data)."""
    from importlib.resources import files

    text = files("harvester").joinpath("schemas/manifest.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def manifest_problems(document: Mapping[str, Any]) -> list[str]:
    """Every way ``document`` departs from the manifest schema (empty when it fits)."""
    return _problems(manifest_schema(), document)


#: The schema definition each kind of JSON-lines manifest line fits (its "type" aside).
LINE_DEFS = {"run": "runLine", "page": "page", "video": "video", "media": "mediaLine",
             "end": "endLine"}


def manifest_line_problems(line: Mapping[str, Any]) -> list[str]:
    """Every way one JSON-lines manifest line departs from the schema."""
    kind = line.get("type")
    if kind not in LINE_DEFS:
        return [f"/type: {kind!r} is not one of {sorted(LINE_DEFS)}"]
    schema = {**manifest_schema(), "$ref": f"#/$defs/{LINE_DEFS[str(kind)]}"}
    for key in ("type", "required", "additionalProperties", "properties"):
        schema.pop(key, None)
    return _problems(schema, {k: v for k, v in line.items() if k != "type"})


def _problems(schema: Mapping[str, Any], instance: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/' + '/'.join(str(p) for p in err.absolute_path)}: {err.message[:200]}"
        for err in validator.iter_errors(instance)
    ]
