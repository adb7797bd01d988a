"""State: pages, media, first/last seen and changes survive a reopen and a kill -9."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harvester.errors import ConfigError, StateError
from harvester.records import (
    Declared,
    ErrorInfo,
    MediaResult,
    MediaStatus,
    Page,
    PageResult,
    Probe,
    Syntax,
    Validation,
    Video,
)
from harvester.store.manifest import Manifest
from harvester.store.snapshot import take_snapshot
from harvester.store.state import GENERATOR, SCHEMA_VERSION, State, fingerprint
from harvester.store.view import StateView

ROOT = Path(__file__).resolve().parent.parent


def video(vid: str, page: str = "https://x/a.html", name: str = "clip") -> Video:
    return Video(id=vid, page=page, syntax=Syntax.JSON_LD, raw='{"name": "x"}',
                 data={"@type": "VideoObject", "name": name},
                 declared=Declared(name=name, thumbnail_urls=("https://x/t.jpg",),
                                   duration_s=90.0),
                 validation=Validation(valid=True), repairs=("trailing-comma",))


def page(ref: str = "https://x/a.html", body: bytes = b"<html>1</html>",
         status: int = 200, etag: str | None = '"v1"') -> Page:
    return Page(ref=ref, url=ref, body=body, status=status, etag=etag,
                last_modified="Wed, 21 Oct 2026 07:28:00 GMT")


def result_for(p: Page, *videos: Video) -> PageResult:
    return PageResult(ref=p.ref, videos=videos, status=p.status, etag=p.etag,
                      last_modified=p.last_modified,
                      content_sha256=hashlib.sha256(p.body).hexdigest())


def last_run(st: State) -> tuple[str, str, dict[str, object]] | None:
    """(started, finished, counts) of the last run the state file records, or None."""
    conn = sqlite3.connect(st.path)
    try:
        row = conn.execute("SELECT started, finished, counts_json FROM runs"
                           " ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State.open(tmp_path / "state.db") as st:
        yield st


def test_new_file_is_wal_with_schema_version(tmp_path: Path) -> None:
    State.open(tmp_path / "s.db").close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"pages", "media", "videos", "runs"} <= tables
    conn.close()


def test_reopen_keeps_data(tmp_path: Path) -> None:
    p = page()
    with State.open(tmp_path / "s.db") as st:
        st.save_page(p, result_for(p, video("a1")))
    with State.open(tmp_path / "s.db") as st:
        stored = st.page(p.ref)
    assert stored is not None and stored.etag == '"v1"'
    assert stored.videos() == (video("a1"),)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "s.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ConfigError, match="newer harvester"):
        State.open(tmp_path / "s.db")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.db").write_bytes(b"hello, this is not sqlite" * 100)
    with pytest.raises(ConfigError, match="not a harvester state database"):
        State.open(tmp_path / "s.db")


def test_page_round_trip_and_unknown(state: State) -> None:
    assert state.page("https://nowhere/") is None
    p = page()
    state.save_page(p, result_for(p, video("a1"), video("a2")))
    stored = state.page(p.ref)
    assert stored is not None
    assert stored.content_sha256 == hashlib.sha256(p.body).hexdigest()
    assert stored.outcome == "ok"
    assert [v.id for v in stored.videos()] == ["a1", "a2"]


def test_failed_page_keeps_previous_row(state: State) -> None:
    p = page()
    state.save_page(p, result_for(p, video("a1")))
    state.save_page(page(body=b""), PageResult(ref=p.ref, error=ErrorInfo("http_500", "x")))
    stored = state.page(p.ref)
    assert stored is not None and stored.etag == '"v1"'


def test_extraction_from_other_version_is_not_offered(state: State, tmp_path: Path) -> None:
    p = page()
    state.save_page(p, result_for(p, video("a1")))
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE pages SET generator = 'older'")
    conn.commit()
    conn.close()
    assert GENERATOR != "older" and state.page(p.ref) is None


def test_reuse_on_304_returns_stored_videos_and_new_validators(state: State) -> None:
    p = page()
    state.save_page(p, result_for(p, video("a1")))
    previous = state.page(p.ref)
    assert previous is not None
    reused = state.reuse(previous, page(body=b"", status=304, etag='"v2"'))
    assert reused is not None
    assert reused.videos == (video("a1"),) and reused.skipped == "unchanged"
    assert reused.content_sha256 == previous.content_sha256
    again = state.page(p.ref)
    assert again is not None and again.etag == '"v2"'


def test_reuse_on_same_bytes_and_not_on_changed(state: State) -> None:
    p = page()
    state.save_page(p, result_for(p, video("a1")))
    previous = state.page(p.ref)
    assert previous is not None
    assert state.reuse(previous, page(etag=None)) is not None
    assert state.reuse(previous, page(body=b"<html>2</html>")) is None


def media_result(url: str = "https://x/v.mp4", **kw: object) -> MediaResult:
    base = MediaResult(url=url, status=MediaStatus.DOWNLOADED, path="ab/abcdef.mp4", bytes=10,
                       sha256="0" * 64, attempts=2, content_type="video/mp4", etag='"m1"',
                       last_modified=None, probe=Probe(duration_s=1.5, width=320, height=240))
    return replace(base, **kw)  # type: ignore[arg-type]


def test_media_round_trip_is_cached(state: State) -> None:
    assert state.media("https://x/v.mp4") is None
    state.save_media(media_result())
    got = state.media("https://x/v.mp4")
    assert got is not None
    assert got.status is MediaStatus.CACHED and got.attempts == 0
    assert (got.sha256, got.path, got.bytes, got.etag) == ("0" * 64, "ab/abcdef.mp4", 10, '"m1"')
    assert got.probe == Probe(duration_s=1.5, width=320, height=240)


def test_media_failure_and_failed_probe_not_remembered(state: State) -> None:
    state.save_media(media_result())
    state.save_media(media_result(status=MediaStatus.FAILED, path=None, sha256=None))
    got = state.media("https://x/v.mp4")
    assert got is not None and got.sha256 == "0" * 64
    state.save_media(media_result(probe=Probe(available=False, error="boom")))
    got = state.media("https://x/v.mp4")
    assert got is not None and got.probe is None


def _rows(st: State) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Pages and media rows without their write times."""
    conn = sqlite3.connect(st.path)
    try:
        pages = conn.execute("SELECT ref, etag, last_modified, content_sha256, outcome,"
                             " generator, videos_json FROM pages ORDER BY ref").fetchall()
        media = conn.execute("SELECT url, etag, last_modified, sha256, path, bytes,"
                             " content_type, probe_json FROM media ORDER BY url").fetchall()
    finally:
        conn.close()
    return pages, media


def _seed(st: State) -> None:
    a = page()
    st.save_page(a, result_for(a, video("a1")))
    st.save_media(media_result(url="https://x/t.jpg", content_type="image/jpeg"))
    st.save_media(media_result(url="https://x/other.mp4"))


def _writes(view: StateView) -> None:
    """The writes one run makes: a 304, a new page, a failed page, two downloads."""
    previous = view.page("https://x/a.html")
    assert previous is not None
    assert view.reuse(previous, page(body=b"", status=304, etag='"v2"')) is not None
    b = page("https://x/b.html", b"<html>b</html>")
    view.save_page(b, result_for(b, video("b1", page=b.ref)))
    c = page("https://x/c.html")
    view.save_page(c, PageResult(ref=c.ref, error=ErrorInfo("http_500", "down")))
    view.save_media(media_result(url="https://x/new.mp4"))
    view.save_media(media_result(url="https://x/bad.mp4", status=MediaStatus.FAILED))


def test_snapshot_answers_reads_and_its_replayed_writes_equal_direct_ones(
    tmp_path: Path,
) -> None:
    with State.open(tmp_path / "direct.db") as direct, \
            State.open(tmp_path / "replayed.db") as replayed:
        _seed(direct)
        _seed(replayed)
        snapshot = take_snapshot(replayed, ["https://x/a.html", "https://x/b.html"])
        snapshot = pickle.loads(pickle.dumps(snapshot))  # as a worker receives it
        assert snapshot.page("https://x/b.html") is None
        assert snapshot.media("https://x/t.jpg") == replayed.media("https://x/t.jpg")
        assert snapshot.media("https://x/other.mp4") is None  # no stored page names it
        _writes(direct)
        _writes(snapshot)
        before = _rows(replayed)
        writes = pickle.loads(pickle.dumps(snapshot.writes()))
        assert _rows(replayed) == before  # nothing reached the state yet
        replayed.apply(writes)
        assert _rows(replayed) == _rows(direct)


def test_observe_new_changed_gone_and_seen(state: State) -> None:
    first = state.observe_videos("T1", [("a", "p1", "f1"), ("b", "p1", "f1"), ("c", "p2", "f1")])
    assert first.changes.new == ("a", "b", "c") and first.changes.gone == ()
    assert first.seen["a"] == ("T1", "T1")
    second = state.observe_videos("T2", [("a", "p1", "f1"), ("b", "p1", "f2"), ("d", "p2", "f")])
    assert second.changes.new == ("d",)
    assert second.changes.changed == ("b",)
    assert second.changes.gone == ("c",)
    assert second.seen["a"] == ("T1", "T2") and second.seen["d"] == ("T2", "T2")
    third = state.observe_videos("T3", [("a", "p1", "f1"), ("b", "p1", "f2"), ("d", "p2", "f")])
    assert third.changes.as_dict() == {"new": [], "changed": [], "gone": []}


def test_videos_of_failed_pages_are_not_gone(state: State) -> None:
    state.observe_videos("T1", [("a", "p1", "f"), ("c", "p2", "f")])
    obs = state.observe_videos("T2", [("a", "p1", "f")], pages_failed=["p2"])
    assert obs.changes.gone == ()
    back = state.observe_videos("T3", [("a", "p1", "f"), ("c", "p2", "f")])
    assert back.changes.new == () and back.seen["c"] == ("T1", "T3")


def test_gone_video_that_returns_is_new_again(state: State) -> None:
    state.observe_videos("T1", [("a", "p1", "f")])
    state.observe_videos("T2", [])
    obs = state.observe_videos("T3", [("a", "p1", "f")])
    assert obs.changes.new == ("a",) and obs.seen["a"] == ("T3", "T3")


def test_fingerprint_follows_data_not_provenance() -> None:
    assert fingerprint(video("a")) == fingerprint(replace(video("a"), offset=99, raw="other"))
    assert fingerprint(video("a")) != fingerprint(video("a", name="renamed"))


def test_finish_run_records_run_and_returns_seen_and_changes(state: State) -> None:
    m = Manifest(started="2026-01-01T00:00:00Z")
    m.pages = [PageResult(ref="https://x/a.html", videos=(video("a1"),)),
               PageResult(ref="https://x/b.html", error=ErrorInfo("http_500", "down"))]
    seen, changes = state.finish_run(m)
    assert changes == {"new": ["a1"], "changed": [], "gone": []}
    assert seen == {"a1": ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")}
    assert last_run(state) is None  # recorded only once the manifest is out
    state.commit_run()
    last = last_run(state)
    assert last is not None and last[0] == "2026-01-01T00:00:00Z"
    assert last[2]["pages_failed"] == 1


WRITER = """
import sys
from harvester.store.state import State
st = State.open(sys.argv[1])
i = 0
while True:
    st.observe_videos(f"T{i}", [(f"v{j}", "p", f"f{i}") for j in range(50)])
    st.record_run(f"T{i}", f"T{i}", {"i": i})
    i += 1
    if i == 3:
        print("writing", flush=True)
"""


def test_kill_9_mid_writes_leaves_consistent_db(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    State.open(db).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdout.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # observe_videos is one transaction: all 50 videos carry the same last_seen
    assert conn.execute("SELECT COUNT(DISTINCT last_seen) FROM videos").fetchone()[0] == 1
    conn.close()
    with State.open(db) as st:
        assert last_run(st) is not None


def test_run_killed_before_commit_is_reported_again(tmp_path: Path) -> None:
    m = Manifest(started="T1")
    m.pages = [PageResult(ref="https://x/a.html", videos=(video("a1"),))]
    st = State.open(tmp_path / "s.db")
    assert st.finish_run(m)[1]["new"] == ["a1"]
    st.close()  # as if killed: no commit
    with State.open(tmp_path / "s.db") as again:
        m2 = Manifest.build(started="T2", pages=m.pages)
        assert again.finish_run(m2)[1]["new"] == ["a1"]
    with State.open(tmp_path / "s.db") as third:  # the clean exit above committed T2
        m3 = Manifest.build(started="T3", pages=m.pages)
        seen, changes = third.finish_run(m3)
        assert changes["new"] == [] and seen["a1"] == ("T2", "T3")


def test_error_inside_with_block_does_not_commit(tmp_path: Path) -> None:
    m = Manifest(started="T1")
    m.pages = [PageResult(ref="https://x/a.html", videos=(video("a1"),))]
    with pytest.raises(RuntimeError), State.open(tmp_path / "s.db") as st:
        st.finish_run(m)
        raise RuntimeError("manifest could not be written")
    with State.open(tmp_path / "s.db") as st:
        assert last_run(st) is None


def test_a_write_the_database_cannot_take_is_one_clear_error(state: State) -> None:
    p = page()
    state.save_page(p, result_for(p, video("0123456789abcdef")))
    state._conn.execute("PRAGMA query_only = ON")  # every write now fails inside SQLite
    try:
        with pytest.raises(StateError) as info:
            state.save_page(p, result_for(p))
        assert str(state.path) in info.value.message and info.value.exit_code == 1
    finally:
        state._conn.execute("PRAGMA query_only = OFF")
    kept = state.page(p.ref)
    assert kept is not None and len(kept.videos()) == 1  # the old row, untouched


def test_media_row_keeps_the_verified_size_and_mtime(state: State) -> None:
    state.save_media(media_result(mtime_ns=1_764_000_000_123_456_789))
    got = state.media("https://x/v.mp4")
    assert got is not None and (got.bytes, got.mtime_ns) == (10, 1_764_000_000_123_456_789)


def test_schema_1_file_is_upgraded_and_its_media_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE media (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
                 " sha256 TEXT, path TEXT, bytes INTEGER, content_type TEXT, probe_json TEXT,"
                 " updated_at TEXT NOT NULL)")
    for table in ("pages (ref TEXT)", "videos (id TEXT)", "runs (id INTEGER)"):
        conn.execute(f"CREATE TABLE {table}")
    conn.execute("INSERT INTO media VALUES ('https://x/v.mp4', NULL, NULL, 'ab', 'ab/ab.mp4',"
                 " 10, 'video/mp4', NULL, '2026-11-01T00:00:00Z')")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    with State.open(path) as st:
        old = st.media("https://x/v.mp4")
        assert old is not None and old.sha256 == "ab" and old.mtime_ns is None  # read again
        st.save_media(media_result(mtime_ns=5))
        fresh = st.media("https://x/v.mp4")
        assert fresh is not None and fresh.mtime_ns == 5
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
