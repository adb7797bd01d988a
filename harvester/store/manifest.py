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
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester import __version__
from harvester.files import write_atomic
from harvester.records import Media, MediaStatus, PageResult, Video
from harvester.store.results import RunResults
from harvester.store.serial import video_to_dict

MANIFEST_VERSION = 1


@dataclass
class Manifest:
    """The result of one run: run facts, pages, videos, and (with state) changes.

    Pages and media live in ``results`` (on disk, in arrival order); the
    ``pages``, ``videos`` and ``media`` properties read them back whole, for
    callers of the library that want lists.  Writing the manifest never does:
    :meth:`pieces` streams it.
    """

    started: str
    finished: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    results: RunResults = field(default_factory=RunResults)
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)
    changes: dict[str, list[str]] | None = None
    interrupted: bool = False

    @classmethod
    def build(cls, *, pages: Iterable[PageResult] = (),
              media: Mapping[str, Media] | None = None, **facts: Any) -> Manifest:
        """A manifest of the given pages (every one listed) and media."""
        manifest = cls(**facts)
        manifest.pages = list(pages)
        manifest.media = dict(media or {})
        return manifest

    @property
    def pages(self) -> list[PageResult]:
        """The listed pages (every page with ``list_all``), in order."""
        return list(self.results.pages())

    @pages.setter
    def pages(self, pages: Iterable[PageResult]) -> None:
        """Replace the pages (and media) with ``pages``, every one listed."""
        self.results.close()
        self.results = RunResults(list_all=True)
        for page in pages:
            self.results.add(page)

    @property
    def videos(self) -> list[Video]:
        return [v for p in self.results.pages() for v in p.videos]

    @property
    def media(self) -> dict[str, Media]:
        return dict(self.results.media())

    @media.setter
    def media(self, media: Mapping[str, Media]) -> None:
        self.results.add_media(media)

    @property
    def failed(self) -> bool:
        """True when some page or download failed after its retries (exit code 1)."""
        counts = self.counts()
        media = counts["media"]
        return bool(counts["pages_failed"] or media[MediaStatus.FAILED.value]
                    or media[MediaStatus.DEFERRED.value])

    def counts(self) -> dict[str, Any]:
        return self.results.counts()

    def video_entry(self, video: Video) -> dict[str, Any]:
        """The manifest entry of one video: its record, media and sightings."""
        return self.completed_entry(video_to_dict(video))

    def completed_entry(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A video's record (its manifest form) with the run's media and sightings added."""
        media = self.results.media_dict_of(entry["id"])
        if media is not None:
            entry["media"] = media
        if entry["id"] in self.seen:
            entry["first_seen"], entry["last_seen"] = self.seen[entry["id"]]
        return entry

    def video_entries(self, part: int | None = None) -> Iterator[dict[str, Any]]:
        """The manifest entries of the videos (of one part), one at a time, in order."""
        return map(self.completed_entry, self.results.video_dicts(part))

    def header(self) -> dict[str, Any]:
        """Everything but the pages and videos: version, generator and the run's facts."""
        return {
            "manifest_version": MANIFEST_VERSION,
            "generator": f"harvester {__version__}",
            "run": {"started": self.started, "finished": self.finished,
                    "options": self.options, "counts": self.counts(),
                    **({"interrupted": True} if self.interrupted else {})},
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole document in memory (for small runs and the report)."""
        out = self.header()
        out["pages"] = list(self.results.page_entries())
        out["videos"] = list(self.video_entries())
        if self.changes is not None:
            out["changes"] = self.changes
        return out

    def pieces(self) -> Iterator[str]:
        """:meth:`to_dict`'s JSON text (as :func:`to_json` writes it), in pieces.

        Pages and videos are read back one at a time, so the text of a run of
        any size is written in constant memory.
        """
        return document_pieces(self.header(), self.results.page_entries(),
                               self.video_entries(), self.changes)


def document_pieces(header: Mapping[str, Any], pages: Iterable[Any], videos: Iterable[Any],
                    changes: Any = None) -> Iterator[str]:
    """The text of a manifest document, as :func:`to_json` writes it, from its parts.

    ``header`` holds the keys before ``pages``; ``pages`` and ``videos`` are
    consumed one item at a time; ``changes``, when not None, comes last.
    """
    text = "".join(json_pieces(dict(header)))
    yield text.rstrip()[:-1].rstrip() + ",\n"  # the header's fields, without its "}"
    yield from _json_array("pages", pages)
    yield ",\n"
    yield from _json_array("videos", videos)
    if changes is not None:
        yield ',\n  "changes": ' + _nested(changes, "  ")
    yield "\n}\n"


def _json_array(key: str, items: Iterable[Any]) -> Iterator[str]:
    """``"key": [...]`` at the top level of the manifest, one item at a time."""
    yield f"  {json.dumps(key)}: ["
    first = True
    for item in items:
        yield ("\n    " if first else ",\n    ") + _nested(item, "    ")
        first = False
    yield "]" if first else "\n  ]"


def _nested(obj: Any, indent: str) -> str:
    """``obj`` as :func:`to_json` writes it when nested at ``indent``."""
    text = _plain(obj, indent)
    return "".join(_indented(obj, indent)) if text is None else text


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
    """Write the manifest JSON atomically, in constant memory."""
    write_atomic(path, manifest.pieces())


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
    for key in ("type", "required", "additionalProperties", "properties", "oneOf"):
        schema.pop(key, None)
    return _problems(schema, {k: v for k, v in line.items() if k != "type"})


def _problems(schema: Mapping[str, Any], instance: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{'/' + '/'.join(str(p) for p in err.absolute_path)}: {err.message[:200]}"
        for err in validator.iter_errors(instance)
    ]
