"""What a run writes besides downloads: manifest, JSON-lines stream, report, log.

:func:`check_outputs` looks at every path before any network work, so a typo
costs nothing but one line and exit 2.  :class:`RunOutputs` then writes as the
run goes: the JSON-lines manifest (``--jsonl``) and the ``--log-file`` get
their lines as pages and downloads finish; the JSON manifest (written
atomically), the report and the log's ``run`` line come at the end.  Files are
created with the process umask applied.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from harvester.config import Config
from harvester.errors import ConfigError, HarvesterError
from harvester.files import write_atomic
from harvester.pipeline.events import Event, Progress
from harvester.store.jsonl import JsonlManifest
from harvester.store.logjson import JsonLinesHandler, JsonLinesLog, media_problem, run_records
from harvester.store.manifest import Manifest

__all__ = ["RunOutputs", "check_outputs", "in_parts"]

log = logging.getLogger("harvester.run")


def in_parts(config: Config, pages: int) -> bool:
    """Whether a run's JSON manifest is written in parts: when asked, or when the run
    read more than ``parts_over_pages`` pages (never to stdout or as JSON lines)."""
    if config.jsonl or not config.output or config.output == "-":
        return False
    return config.parts or config.parquet or pages > config.parts_over_pages


def check_outputs(config: Config) -> None:
    """Raise :class:`ConfigError` unless every output path of ``config`` can be written.

    The parents of ``-o``, ``--report`` and ``--log-file`` must exist; the
    state file's and the download directory may be created (the latter only
    when downloading, and it is created here).
    """
    for flag, path in (("-o", config.output), ("--report", config.report),
                       ("--log-file", config.log_file)):
        if path and path != "-":
            _check_file(flag, Path(path), create_parents=False)
    if config.state:
        _check_file("--state", Path(config.state), create_parents=True)
    if config.download:
        _check_dir("--dir", Path(config.dir))
    if config.parquet:
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise ConfigError("--parquet needs pyarrow: pip install 'harvester[parquet]'"
                              ) from None


def _check_file(flag: str, path: Path, *, create_parents: bool) -> None:
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a directory; give a file name")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{flag} {path}: the file cannot be written (permissions)")
        return
    parent = path.parent
    if not parent.exists():
        if not create_parents:
            raise ConfigError(f"{flag} {path}: the directory {parent} does not exist; "
                              "create it first")
        parent = _nearest_existing(parent)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: cannot create files in {parent} (permissions)")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_dir(flag: str, path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot create the directory "
                          f"({exc.strerror or exc})") from None
    if not path.is_dir() or not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {path}: cannot write into the directory (permissions)")


class RunOutputs:
    """The outputs of one run, from its first event to its last line."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._stream: IO[str] | None = None
        self.jsonl: JsonlManifest | None = None
        self._log: JsonLinesLog | None = None
        self._handler: JsonLinesHandler | None = None
        self._logged: set[str] = set()
        self._level = logging.NOTSET

    def __enter__(self) -> RunOutputs:
        config = self.config
        if config.jsonl and config.output:
            self._stream = sys.stdout if config.output == "-" else _open_text(config.output)
            self.jsonl = JsonlManifest(self._stream)
        if config.log_file:
            self._log = JsonLinesLog(config.log_file)
            self._handler = JsonLinesHandler(self._log, config.redact_params)
            logger = logging.getLogger("harvester")
            logger.addHandler(self._handler)
            self._level = logger.level
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._handler is not None:
            logger = logging.getLogger("harvester")
            logger.removeHandler(self._handler)
            logger.setLevel(self._level)
        if self._log is not None:
            self._log.close()
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()

    def tee(self, progress: Progress | None) -> Progress:
        """A progress callback that feeds the streamed outputs, then ``progress``."""
        def on_event(event: Event) -> None:
            self._stream_event(event)
            if progress is not None:
                progress(event)
        return on_event

    def _stream_event(self, event: Event) -> None:
        if event.kind == "run" and event.manifest is not None and self.jsonl is not None:
            self.jsonl.begin(event.manifest)
        elif event.kind == "page" and event.result is not None:
            error = event.result.error
            if error is not None and self._log is not None:
                self._note("page_failed", event.ref, page=event.ref, code=error.code,
                           message=error.message)
        elif event.kind == "media-done" and event.media is not None and self._log is not None:
            fields = media_problem(event.ref, event.media)
            if fields is not None:
                self._note("media_failed", event.ref, **fields)

    def _note(self, event: str, key: str, **fields: Any) -> None:
        self._logged.add(key)
        log.info(event, extra={"fields": fields})

    def finish(self, manifest: Manifest) -> None:
        """Everything written at the end; a full disk is one clear error, exit 1."""
        try:
            self._finish(manifest)
        except OSError as exc:
            what = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or exc)
            raise HarvesterError(f"cannot write the run's outputs: {what} "
                                 f"({getattr(exc, 'filename', None) or 'output'})") from None

    def _finish(self, manifest: Manifest) -> None:
        config = self.config
        if self.jsonl is not None:
            self.jsonl.finish(manifest)
        elif config.output == "-":
            sys.stdout.writelines(manifest.pieces())
        elif config.output and in_parts(config, manifest.counts()["pages"]):
            from harvester.store.parts import write_parts

            write_parts(manifest, config.output, parquet=config.parquet)
        elif config.output:
            write_atomic(config.output, manifest.pieces(), mode=0o666)
        if config.report:
            from harvester.store.report import write_report

            write_report(manifest.to_dict(), Path(config.report), download_dir=Path(config.dir))
        if self._log is not None:
            self._log_rest(manifest)

    def _log_rest(self, manifest: Manifest) -> None:
        """The failures no event told of (a sharded run's), then the ``run`` line."""
        records = list(run_records(manifest))
        for event, fields in records[1:]:
            key = fields.get("page") or fields.get("url") or ""
            if key not in self._logged:
                self._note(event, key, **fields)
        event, fields = records[0]
        log.info(event, extra={"fields": fields})


def _open_text(path: str) -> IO[str]:
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
