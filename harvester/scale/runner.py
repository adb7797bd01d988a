"""A complete run as the command line makes it: lock, state, harvest, outputs.

``run_harvest`` checks the output paths, takes the state lock (one run per
state file), runs :func:`harvester.pipeline.run.harvest` (or its sharded form)
and writes the outputs through :class:`harvester.scale.outputs.RunOutputs`.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from harvester.config import Config
from harvester.pipeline.events import Progress
from harvester.pipeline.run import harvest
from harvester.scale.outputs import RunOutputs, check_outputs
from harvester.store.manifest import Manifest

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
    stdin: TextIO | None = None, cancel: threading.Event | None = None,
) -> Manifest:
    """Run a harvest and write its outputs; returns the manifest.

    Every output path is checked before any network work (:func:`check_outputs`);
    the JSON-lines manifest and the log are written as the run goes.  Setting
    ``cancel`` stops the run: what was done is written, marked ``interrupted``.
    """
    check_outputs(config)
    with open_state(config) as state, RunOutputs(config) as outputs:
        events = outputs.tee(progress)
        if config.executor in ("local", "dask"):
            from harvester.scale.shards import harvest_sharded

            config = with_shard_dir(config)
            manifest = harvest_sharded(pages, config, state=state, progress=events,
                                       stdin=stdin, cancel=cancel)
        else:
            manifest = harvest(pages, config, state=state, progress=events, stdin=stdin,
                               cancel=cancel)
        # Inside the lock, and before the state records the run (on leaving the
        # block): a run killed before its manifest is out is reported again.
        outputs.finish(manifest)
    return manifest


def with_shard_dir(config: Config) -> Config:
    """``config`` naming its shard directory: as given, else ``<manifest>.shards``."""
    if config.shard_dir or not config.output or config.output == "-":
        return config
    return replace(config, shard_dir=config.output + ".shards")
