"""The manifest as JSON lines, written while the run goes and read back whole.

A JSON-lines manifest is a stream a person (or ``jq``) can follow while the
run works.  Lines, each an object with a ``type``:

``run``    first: ``manifest_version``, ``generator``, ``started``, ``options``
``page``   as each page is done (in input order): the manifest's page entry
``video``  right after its page: the video record (media and sightings follow)
``media``  once the media stage has measured a video: ``id`` and its ``media``
``end``    last: ``finished``, ``counts``, ``interrupted``, and with a state
           ``changes`` and ``seen`` (``id`` → ``[first_seen, last_seen]``)

A stream without its ``end`` line is from a run that did not finish.
:func:`read_jsonl_manifest` joins the lines into the same document the JSON
manifest holds, so every reader of manifests (the report, the schema check)
accepts both.  Each line fits ``#/$defs/line`` of the manifest schema.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import IO, Any

from harvester import __version__
from harvester.records import PageResult
from harvester.store.manifest import MANIFEST_VERSION, Manifest
from harvester.store.serial import media_to_dict, page_to_dict, video_to_dict

__all__ = ["JsonlManifest", "jsonl_lines", "read_jsonl_manifest"]


def _dump(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


class JsonlManifest:
    """Writes one run's JSON lines to ``stream`` as its results arrive (thread-safe).

    Each line is flushed when written, so a reader sees whole lines as soon
    as they exist.  Once :meth:`begin` has seen the manifest, each page the
    run keeps is written as it is kept (a serial run's as each is done, a
    sharded run's as its part is merged); media and the end line are written
    by :meth:`finish`.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, records: Iterable[Mapping[str, Any]]) -> None:
        text = "".join(_dump(r) for r in records)
        with self._lock:
            self._stream.write(text)
            self._stream.flush()

    def begin(self, manifest: Manifest) -> None:
        """The ``run`` line; from now on every page the run keeps is written as it is kept."""
        self._write([{"type": "run", "manifest_version": MANIFEST_VERSION,
                      "generator": f"harvester {__version__}", "started": manifest.started,
                      "options": manifest.options}])
        manifest.results.listeners.append(self.page)

    def page(self, result: PageResult) -> None:
        """The ``page`` line of a finished page, then a ``video`` line per video."""
        self._write([{"type": "page", **page_to_dict(result)},
                     *({"type": "video", **video_to_dict(v)} for v in result.videos)])

    def finish(self, manifest: Manifest) -> None:
        """Every ``media`` line, then the ``end`` line."""
        for vid, media in manifest.results.media():
            self._write([{"type": "media", "id": vid, "media": media_to_dict(media)}])
        end: dict[str, Any] = {"type": "end", "finished": manifest.finished,
                               "counts": manifest.counts(),
                               "interrupted": manifest.interrupted}
        if manifest.changes is not None:
            end["changes"] = manifest.changes
            end["seen"] = {vid: list(pair) for vid, pair in manifest.seen.items()}
        self._write([end])


def jsonl_lines(text: str) -> list[dict[str, Any]]:
    """The objects of a JSON-lines text; raises ValueError naming a bad line."""
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(record, dict) or "type" not in record:
            raise ValueError(f"line {number} is not a manifest line (no 'type')")
        lines.append(record)
    return lines


def read_jsonl_manifest(text: str) -> dict[str, Any]:
    """The manifest document a JSON-lines manifest describes."""
    run: dict[str, Any] = {}
    document: dict[str, Any] = {"pages": [], "videos": []}
    media: dict[str, Any] = {}
    end: dict[str, Any] = {"finished": None, "counts": {}}
    for record in jsonl_lines(text):
        kind = record.pop("type")
        if kind == "run":
            document["manifest_version"] = record.pop("manifest_version", MANIFEST_VERSION)
            document["generator"] = record.pop("generator", None)
            run = record
        elif kind == "page":
            document["pages"].append(record)
        elif kind == "video":
            document["videos"].append(record)
        elif kind == "media":
            media[record["id"]] = record["media"]
        elif kind == "end":
            end = record
    return _joined(document, run, media, end)


def _joined(document: dict[str, Any], run: dict[str, Any], media: Mapping[str, Any],
            end: dict[str, Any]) -> dict[str, Any]:
    seen = end.pop("seen", {})
    for video in document["videos"]:
        if video["id"] in media:
            video["media"] = media[video["id"]]
        if video["id"] in seen:
            video["first_seen"], video["last_seen"] = seen[video["id"]]
    changes = end.pop("changes", None)
    document["run"] = {**run, **end}
    if changes is not None:
        document["changes"] = changes
    return document
