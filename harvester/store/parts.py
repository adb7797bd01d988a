"""A manifest in parts: a small summary document, and the pages and videos in files per part.

A run over millions of pages makes a manifest too large for one JSON
document to be of use.  :func:`write_parts` writes, beside the summary
(``manifest.json`` → ``manifest.parts/``), for each part of the run (a
shard, or a chunk of ``shard_size`` pages of a serial run)::

    videos-00000.jsonl.gz   one manifest video entry per line (media, sightings included)
    pages-00000.jsonl.gz    one manifest page entry per line (the listed pages)
    videos-00000.parquet    with --parquet: the videos as a table (objects as JSON text)

DuckDB, Spark, pandas or pyarrow read them directly (for example
``SELECT id, data FROM read_json('manifest.parts/videos-*.jsonl.gz')``).  The
summary carries the run's facts, totals and changes, and lists the parts with
their counts and SHA-256 checksums; :func:`merged_pieces` joins them back into
the one document a plain run writes (``harvester merge``), in constant memory.

Each file is written atomically; the summary is written last, so a summary
always names complete parts.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from harvester.errors import ConfigError, HarvesterError
from harvester.files import write_atomic
from harvester.store.manifest import Manifest, document_pieces, json_pieces

__all__ = ["PARQUET_COLUMNS", "merged_pieces", "parts_dir", "read_summary", "write_parts"]

#: Video entry fields stored as Parquet columns of their own type; the rest are JSON text.
PARQUET_COLUMNS = {"id": "string", "page": "string", "syntax": "string", "pointer": "string",
                   "offset": "int64", "partial": "bool", "duplicate_of": "string",
                   "raw": "string", "first_seen": "string", "last_seen": "string"}
#: Video entry fields that hold objects or lists: JSON text in Parquet.
PARQUET_JSON = ("repairs", "data", "declared", "validation", "media", "sitemap_vs_page")


def parts_dir(output: str | Path) -> Path:
    """Where the parts of the summary at ``output`` go: ``x.json`` → ``x.parts``."""
    path = Path(output)
    return path.with_suffix(".parts") if path.suffix == ".json" else Path(f"{path}.parts")


def write_parts(manifest: Manifest, output: str | Path, *, parquet: bool = False) -> None:
    """Write every part of ``manifest``, then the summary at ``output``."""
    directory = parts_dir(output)
    directory.mkdir(parents=True, exist_ok=True)
    listed = [_write_part(manifest, directory, part, parquet=parquet)
              for part in manifest.results.parts()]
    summary = {**manifest.header(), "parts": listed}
    if manifest.changes is not None:
        summary["changes"] = manifest.changes
    write_atomic(output, json_pieces(summary))


def _write_part(manifest: Manifest, directory: Path, part: int,
                *, parquet: bool) -> dict[str, Any]:
    """One part's files; its entry in the summary (paths relative to the summary)."""
    name = f"{part:05d}"
    entry: dict[str, Any] = {"part": part, "pages": 0, "videos": 0, "files": {}}
    # A Parquet table is built whole, so the part's videos are read once, for both files.
    videos: Iterable[dict[str, Any]] = manifest.video_entries(part)
    if parquet:
        videos = list(videos)
    for kind, rows in (("pages", manifest.results.page_entries(part)), ("videos", videos)):
        path = directory / f"{kind}-{name}.jsonl.gz"
        sha256, entry[kind] = _write_jsonl_gz(path, rows)
        entry["files"][kind] = _file_entry(directory, path, sha256)
    if parquet:
        path = directory / f"videos-{name}.parquet"
        _write_parquet(path, list(videos))
        entry["files"]["parquet"] = _file_entry(directory, path, _sha256_of(path))
    return entry


def _file_entry(directory: Path, path: Path, sha256: str) -> dict[str, str]:
    return {"path": f"{directory.name}/{path.name}", "sha256": sha256}


def _write_jsonl_gz(path: Path, rows: Iterable[Mapping[str, Any]]) -> tuple[str, int]:
    """Write ``rows`` as gzipped JSON lines (deterministic bytes); (SHA-256, rows written)."""
    digest = hashlib.sha256()
    count = 0

    def chunks() -> Iterator[bytes]:
        nonlocal count
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip member, mtime 0
        for row in rows:
            count += 1
            out = packer.compress(json.dumps(row, ensure_ascii=False).encode() + b"\n")
            digest.update(out)
            yield out
        out = packer.flush()
        digest.update(out)
        yield out

    write_atomic(path, chunks())
    return digest.hexdigest(), count


def _write_parquet(path: Path, videos: list[dict[str, Any]]) -> None:
    """The part's videos as a Parquet table: one row per video, a fixed set of columns."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError("--parquet needs pyarrow: pip install 'harvester[parquet]'") from None
    columns: dict[str, Any] = {
        name: pa.array([v.get(name) for v in videos], type=pa.type_for_alias(kind))
        for name, kind in PARQUET_COLUMNS.items()}
    for name in PARQUET_JSON:
        columns[name] = pa.array([None if v.get(name) is None else
                                  json.dumps(v[name], ensure_ascii=False) for v in videos],
                                 type=pa.string())
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.table(columns), tmp)
    tmp.replace(path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_summary(path: str | Path) -> dict[str, Any]:
    """The summary document at ``path``; HarvesterError when it is not one."""
    try:
        document = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("parts"), list):
        raise ConfigError(f"{path} is not a manifest in parts (it has no 'parts' list)")
    return document


def merged_pieces(summary_path: str | Path) -> Iterator[str]:
    """The single manifest document the parts of ``summary_path`` make, in pieces.

    Each part file is checked against its SHA-256 before any of it is used:
    a part that changed or went missing is an error, not a silent gap.
    """
    summary = read_summary(summary_path)
    base = Path(summary_path).parent
    for entry in summary["parts"]:
        for kind in ("pages", "videos"):
            _check_file(base, entry["files"][kind])
    header = {k: v for k, v in summary.items() if k not in ("parts", "changes")}
    pages = _lines(base, summary["parts"], "pages")
    videos = _lines(base, summary["parts"], "videos")
    return document_pieces(header, pages, videos, summary.get("changes"))


def _check_file(base: Path, entry: Mapping[str, str]) -> None:
    path = base / entry["path"]
    try:
        actual = _sha256_of(path)
    except OSError as exc:
        raise HarvesterError(f"part {path} cannot be read: {exc.strerror or exc}",
                             code="part_missing") from None
    if actual != entry["sha256"]:
        raise HarvesterError(f"part {path} does not match its checksum in the summary",
                             code="part_mismatch")


def _lines(base: Path, parts: list[dict[str, Any]], kind: str) -> Iterator[dict[str, Any]]:
    for entry in parts:
        with gzip.open(base / entry["files"][kind]["path"], "rt", encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)
