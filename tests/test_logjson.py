"""--log-file: appended JSON lines, whole lines under concurrency, one run line per run."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from harvester.errors import ConfigError
from harvester.records import ErrorInfo, Media, MediaResult, MediaStatus, PageResult
from harvester.store.logjson import JsonLinesLog, log_run
from harvester.store.manifest import Manifest


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_write_appends_one_object_per_line(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "h.jsonl"
    with JsonLinesLog(path) as log:
        log.write("hello", n=1, text="é\nsecond")
    with JsonLinesLog(path) as log:
        log.write("again")
    got = lines(path)
    assert [r["event"] for r in got] == ["hello", "again"]
    assert got[0]["text"] == "é\nsecond"
    # The one timestamp form of every record: RFC 3339 UTC, whole seconds.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(got[0]["ts"]))


def test_threads_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    with JsonLinesLog(path) as log:
        def burst(i: int) -> None:
            for j in range(200):
                log.write("tick", thread=i, j=j, pad="x" * 500)
        threads = [threading.Thread(target=burst, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(lines(path)) == 1600


def test_write_after_close_is_refused(tmp_path: Path) -> None:
    log = JsonLinesLog(tmp_path / "h.jsonl")
    log.close()
    with pytest.raises(ValueError, match="closed"):
        log.write("late")


def test_unwritable_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot open log file"):
        JsonLinesLog(tmp_path / "file" / "h.jsonl")


def test_log_run_lists_run_then_problems(tmp_path: Path) -> None:
    m = Manifest(started="2026-01-01T00:00:00Z", finished="2026-01-01T00:01:00Z")
    m.pages = [PageResult(ref="https://x/a"),
               PageResult(ref="https://x/b", error=ErrorInfo("http_500", "server error"))]
    bad = MediaResult(url="https://x/v.mp4", status=MediaStatus.FAILED, attempts=4,
                      error=ErrorInfo("timeout", "too slow"))
    good = MediaResult(url="https://x/t.jpg", status=MediaStatus.CACHED)
    m.media = {"v1": Media(video=bad, thumbnail=good), "v2": Media(video=bad)}
    m.changes = {"new": ["v1", "v2"], "changed": [], "gone": ["v0"]}
    log_run(tmp_path / "h.jsonl", m)
    got = lines(tmp_path / "h.jsonl")
    assert [r["event"] for r in got] == ["run", "page_failed", "media_failed"]
    run = got[0]
    assert run["failed"] is True and run["changes"] == {"new": 2, "changed": 0, "gone": 1}
    assert run["counts"]["pages_failed"] == 1  # type: ignore[index]
    assert got[1]["code"] == "http_500" and got[1]["page"] == "https://x/b"
    assert got[2] == {**got[2], "url": "https://x/v.mp4", "code": "timeout", "attempts": 4}
