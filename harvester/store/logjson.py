"""The ``--log-file`` writer: one JSON object per line, appended, never rewritten.

A scheduled job runs for years; its log must survive rotation, concurrent
readers (``tail -f``, ``jq``) and a crash mid-write.  Each record is encoded
in full first and then appended with a single ``write`` to a file opened with
``O_APPEND``, so a reader sees whole lines only, and a run killed mid-log
leaves at worst its own last line missing.  The file is opened per run, so
``logrotate`` needs no ``copytruncate``.

Every line has ``ts`` (:func:`~harvester.records.utc_now`: RFC 3339 UTC, whole
seconds), ``event`` and event fields.  While a run works it writes a
``page_failed`` line per failed page and a ``media_failed`` line per failed,
blocked or deferred download as each happens, and every warning the library
logs; its ``run`` line (times, counts, change counts) comes last, so
``jq 'select(.event != "run")'`` lists what needs a person's attention.

The lines reach the file through the standard :mod:`logging` machinery:
:class:`JsonLinesHandler` is a handler for the ``harvester`` logger, and a
record's ``fields`` extra (a dict) becomes the line's fields.

URLs and messages are written with passwords and secret query parameters
masked (:func:`harvester.net.redact.redact`): a log is read by more people
than the credentials were meant for.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from harvester.config import SECRET_PARAMS
from harvester.errors import ConfigError
from harvester.net.redact import redact
from harvester.records import utc_now

if TYPE_CHECKING:
    from harvester.store.manifest import Manifest

_MEDIA_PROBLEMS = ("failed", "deferred", "blocked", "not_media")


class JsonLinesLog:
    """An append-only JSON-lines file; safe to share between threads.

    >>> with JsonLinesLog("harvester.log.jsonl") as log:   # doctest: +SKIP
    ...     log.write("run", pages=3)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot open log file {self.path}: {exc.strerror}") from None

    def write(self, event: str, **fields: Any) -> None:
        """Append one line: ``{"ts": ..., "event": event, **fields}``."""
        record = {"ts": utc_now(), "event": event, **fields}
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
                + "\n").encode("utf-8")
        with self._lock:
            if self._fd is None:
                raise ValueError(f"log file {self.path} is closed")
            os.write(self._fd, line)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> JsonLinesLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class JsonLinesHandler(logging.Handler):
    """A logging handler that appends each record to a :class:`JsonLinesLog`.

    The event is the record's message; ``extra={"fields": {...}}`` adds fields;
    warnings and errors also carry their ``level``.  URLs and messages are
    written with ``secrets`` (query parameter names) and passwords masked.
    """

    def __init__(self, log: JsonLinesLog, secrets: Iterable[str] = SECRET_PARAMS) -> None:
        super().__init__(logging.INFO)
        self.log = log
        self.secrets = tuple(secrets)

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        extra: dict[str, Any] = {
            k: redact(v, self.secrets) if k in _MASKED and isinstance(v, str) else v
            for k, v in (fields.items() if isinstance(fields, Mapping) else ())}
        if record.levelno >= logging.WARNING:
            extra.setdefault("level", record.levelname.lower())
        try:
            self.log.write(redact(record.getMessage(), self.secrets), **extra)
        except (OSError, ValueError):
            self.handleError(record)


def media_problem(url: str, result: Any) -> dict[str, Any] | None:
    """The ``media_failed`` fields of a download outcome, or None when it is fine."""
    if result.status.value not in _MEDIA_PROBLEMS:
        return None
    return _media_fields(url, result.status.value, result.error, result.attempts)


def run_records(manifest: Manifest, secrets: Iterable[str] = SECRET_PARAMS,
                ) -> Iterator[tuple[str, dict[str, Any]]]:
    """The (event, fields) pairs that describe one finished run, secrets masked."""
    for event, fields in _records(manifest):
        yield event, {k: redact(v, secrets) if k in _MASKED and isinstance(v, str) else v
                      for k, v in fields.items()}


_MASKED = frozenset({"page", "url", "message"})


def _records(manifest: Manifest) -> Iterator[tuple[str, dict[str, Any]]]:
    run: dict[str, Any] = {"started": manifest.started, "finished": manifest.finished,
                           "failed": manifest.failed, "counts": manifest.counts()}
    if manifest.changes is not None:
        run["changes"] = {k: len(v) for k, v in manifest.changes.items()}
    yield "run", run
    for page in manifest.results.pages():
        if page.error is not None:
            yield "page_failed", {"page": page.ref, "code": page.error.code,
                                  "message": page.error.message}
    reported: set[str] = set()
    for _, media in manifest.results.media():
        for result in (media.video, media.thumbnail):
            if result is None or result.url in reported:
                continue
            if result.status.value in _MEDIA_PROBLEMS:
                reported.add(result.url)
                yield "media_failed", _media_fields(result.url, result.status.value,
                                                    result.error, result.attempts)


def _media_fields(url: str, status: str, error: Any, attempts: int) -> dict[str, Any]:
    fields: Mapping[str, Any] = {"url": url, "status": status, "attempts": attempts}
    if error is not None:
        fields = {**fields, "code": error.code, "message": error.message}
    return dict(fields)


def log_run(path: str | Path, manifest: Manifest,
            secrets: Iterable[str] = SECRET_PARAMS) -> None:
    """Append the lines of one finished run to the log at ``path``."""
    with JsonLinesLog(path) as log:
        for event, fields in run_records(manifest, secrets):
            log.write(event, **fields)
