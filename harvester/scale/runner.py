"""A complete run as the command line makes it: lock, state, harvest, outputs.

``run_harvest`` takes the state lock (one run per state file), runs
:func:`harvester.pipeline.run.harvest`, and writes the manifest (atomically, or
as JSON lines), the optional HTML report and the optional JSON-lines log.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harvester.config import Config
from harvester.files import write_atomic
from harvester.pipeline.events import Progress
from harvester.pipeline.run import harvest
from harvester.store.manifest import Manifest, json_pieces, to_json, write_jsonl_line

if TYPE_CHECKING:
    from harvester.store.state import State


@contextlib.contextmanager
def open_state(config: Config) -> Iterator[State | None]:
    """The run's state, locked for this run, or ``None`` without ``--state``."""
    if not config.state:
        yield None
        return
    from harvester.store.lock import RunLock
    from harvester.store.state import State

    with RunLock.for_state(config.state), State.open(Path(config.state)) as state:
        yield state


def run_harvest(
    pages: list[str], config: Config, *, progress: Progress | None = None,
    stdin: TextIO | None = None,
) -> Manifest:
    """Run a harvest and write its outputs; returns the manifest."""
    with open_state(config) as state:
        if config.executor in ("local", "dask"):
            from harvester.scale.shards import harvest_sharded

            config = with_shard_dir(config)
            manifest = harvest_sharded(pages, config, state=state, progress=progress,
                                       stdin=stdin)
        else:
            manifest = harvest(pages, config, state=state, progress=progress, stdin=stdin)
        # Inside the lock, and before the state records the run (on leaving the
        # block): a run killed before its manifest is out is reported again.
        write_outputs(manifest, config)
    return manifest


def with_shard_dir(config: Config) -> Config:
    """``config`` naming its shard directory: as given, else ``<manifest>.shards``."""
    if config.shard_dir or not config.output or config.output == "-":
        return config
    return replace(config, shard_dir=config.output + ".shards")


def write_outputs(manifest: Manifest, config: Config) -> None:
    """The manifest (JSON or JSON lines), the report and the log, as configured."""
    document = manifest.to_dict()
    if config.output:
        if config.jsonl:
            _write_jsonl(document, config.output)
        elif config.output == "-":
            sys.stdout.write(to_json(document))
        else:
            write_atomic(config.output, json_pieces(document))
    if config.report:
        from harvester.store.report import write_report

        write_report(document, Path(config.report), download_dir=Path(config.dir))
    if config.log_file:
        from harvester.store.logjson import log_run

        log_run(config.log_file, manifest)


def _write_jsonl(document: dict[str, object], output: str) -> None:
    """One line for the run, then one per page and one per video."""
    records = [{"type": "run", **document["run"]}]  # type: ignore[dict-item]
    records += [{"type": "page", **p} for p in document["pages"]]  # type: ignore[attr-defined]
    records += [{"type": "video", **v} for v in document["videos"]]  # type: ignore[attr-defined]
    if output == "-":
        for record in records:
            write_jsonl_line(sys.stdout, record)
        return
    import io

    buffer = io.StringIO()
    for record in records:
        write_jsonl_line(buffer, record)
    write_atomic(output, buffer.getvalue())
