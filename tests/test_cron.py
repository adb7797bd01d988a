"""Scheduled runs end to end: cheap re-runs, changes, the lock, and kill -9 recovery.

Every test runs against a real loopback site (tests/support/site.py) that
answers conditional and range requests, and asserts on its request log.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from harvester.config import Config
from harvester.scale.runner import run_harvest
from tests.support.media import have_ffmpeg
from tests.support.server import LoopbackServer
from tests.support.site import Site

pytestmark = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg/ffprobe not installed")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with LoopbackServer() as server:
        yield Site(server, media_dir=tmp_path)


def config(tmp_path: Path, name: str, **kw: Any) -> Config:
    base: dict[str, Any] = {
        "download": True, "dir": str(tmp_path / "dl"), "state": str(tmp_path / "state.db"),
        "output": str(tmp_path / f"{name}.json"), "allow_private_hosts": True,
        "ignore_robots": True, "retries": 1, "backoff_base": 0.05, "verbosity": -1}
    return Config(**{**base, **kw})


def run(site: Site, tmp_path: Path, name: str, **kw: Any) -> dict[str, Any]:
    site.server.log.clear()
    run_harvest(site.page_urls(), config(tmp_path, name, **kw))
    doc: dict[str, Any] = json.loads((tmp_path / f"{name}.json").read_text("utf-8"))
    return doc


def without_run_times(doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(doc))
    del out["run"]["started"], out["run"]["finished"]
    for video in out["videos"]:
        del video["last_seen"]
    return out


def build(site: Site) -> None:
    for key in ("a1", "a2", "b1", "c1"):
        site.add_media(key)
    site.set_page("/news/a.html", ["a1", "a2"])
    site.set_page("/news/b.html", ["b1"])
    site.set_page("/news/c.html", ["c1"])


def id_of(doc: dict[str, Any], key: str) -> str:
    found = [v["id"] for v in doc["videos"] if v["declared"]["content_url"].endswith(f"/{key}.mp4")]
    assert len(found) == 1
    return str(found[0])


def test_unchanged_rerun_is_conditional_and_fetches_no_media(site: Site, tmp_path: Path) -> None:
    build(site)
    first = run(site, tmp_path, "m1")
    assert first["run"]["counts"]["media"]["downloaded"] == 8
    assert sorted(first["changes"]["new"]) == sorted(v["id"] for v in first["videos"])
    assert any(r.path.startswith("/media/") for r in site.server.log)

    second = run(site, tmp_path, "m2")
    log = site.server.log
    assert sorted(r.path for r in log) == ["/news/a.html", "/news/b.html", "/news/c.html"]
    assert all(r.headers.get("If-None-Match", "").startswith('"') for r in log)
    assert [p["status"] for p in second["pages"]] == ["unchanged"] * 3
    assert second["run"]["counts"]["media"]["cached"] == 8
    assert second["changes"] == {"new": [], "changed": [], "gone": []}
    for video in second["videos"]:
        assert video["first_seen"] == first["run"]["started"]
        assert video["last_seen"] == second["run"]["started"]

    third = run(site, tmp_path, "m3")
    assert without_run_times(third) == without_run_times(second)
    # against the first run only how media was obtained differs
    for v1, v2 in zip(first["videos"], second["videos"], strict=True):
        for kind in ("video", "thumbnail"):
            assert v1["media"][kind]["status"] == "downloaded"
            assert v2["media"][kind]["status"] == "cached"
            for m in (v1["media"][kind], v2["media"][kind]):
                del m["status"], m["attempts"]
        del v1["last_seen"], v2["last_seen"]
        assert v1 == v2


def test_changed_page_gives_exactly_its_new_videos(site: Site, tmp_path: Path) -> None:
    build(site)
    run(site, tmp_path, "m1")
    site.add_media("b2")
    site.set_page("/news/b.html", ["b1", "b2"])
    second = run(site, tmp_path, "m2")
    assert second["changes"] == {"new": [id_of(second, "b2")], "changed": [], "gone": []}
    media = sorted(r.path for r in site.server.log if r.path.startswith("/media/"))
    assert media == ["/media/b2.jpg", "/media/b2.mp4"]
    statuses = {p["page"].rsplit("/", 1)[1]: p["status"] for p in second["pages"]}
    assert statuses == {"a.html": "unchanged", "b.html": "ok", "c.html": "unchanged"}


def test_changed_and_gone_videos(site: Site, tmp_path: Path) -> None:
    build(site)
    first = run(site, tmp_path, "m1")
    site.set_page("/news/a.html", ["a1"], title=" (updated)")  # a1 renamed, a2 removed
    second = run(site, tmp_path, "m2")
    assert second["changes"] == {"new": [], "changed": [id_of(second, "a1")],
                                 "gone": [id_of(first, "a2")]}
    a1 = next(v for v in second["videos"] if v["id"] == id_of(second, "a1"))
    assert a1["first_seen"] == first["run"]["started"]


def _toml(tmp_path: Path, site: Site) -> Path:
    (tmp_path / "pages.txt").write_text("\n".join(site.page_urls()) + "\n", "utf-8")
    text = "\n".join([
        f'inputs = ["{tmp_path / "pages.txt"}"]', f'output = "{tmp_path / "manifest.json"}"',
        f'state = "{tmp_path / "state.db"}"', f'dir = "{tmp_path / "dl"}"',
        "download = true", "allow_private_hosts = true", "ignore_robots = true",
        f'log_file = "{tmp_path / "log.jsonl"}"',
        "retries = 1", "backoff_base = 0.05", "concurrency = 2", ""])
    path = tmp_path / "harvester.toml"
    path.write_text(text, "utf-8")
    return path


def _cli(cfg: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harvester", "harvest", "--config", str(cfg), *extra]


def _wait_for_part(directory: Path, proc: subprocess.Popen[bytes], minimum: int) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the first run ended before the stalled download"
        parts = [p for p in directory.rglob("*.part") if p.stat().st_size >= minimum]
        if parts:
            return parts[0]
        time.sleep(0.05)
    raise AssertionError("no .part appeared")


def test_lock_75_then_kill_9_mid_download_then_complete(site: Site, tmp_path: Path) -> None:
    stall = threading.Event()
    big = site.add_media("big", pad=2_000_000, stall=stall)
    site.add_media("small")
    site.set_page("/news/big.html", ["big", "small"])
    cfg = _toml(tmp_path, site)
    first = subprocess.Popen(_cli(cfg), cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    try:
        part = _wait_for_part(tmp_path / "dl", first, 500_000)
        second = subprocess.run(_cli(cfg), cwd=ROOT, capture_output=True, text=True,
                                timeout=60, check=False)
        assert second.returncode == 75
        assert second.stdout == ""
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"harvester: another run holds the lock: pid {first.pid} on ")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        first.communicate()
    assert not (tmp_path / "manifest.json").exists()
    kept = part.stat().st_size
    stall.set()
    site.server.log.clear()

    third = subprocess.run(_cli(cfg), cwd=ROOT, capture_output=True, text=True,
                           timeout=120, check=False)
    assert third.returncode == 0, third.stderr
    assert third.stdout == ""
    assert len(third.stderr.splitlines()) == 1
    assert third.stderr.startswith("harvester: 1 pages (0 failed)")
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["event"] for r in log] == ["run"]  # the killed run logged nothing
    assert log[0]["changes"] == {"new": 2, "changed": 0, "gone": 0}
    resumed = site.server.requests_to(big)
    assert [r.headers.get("Range") for r in resumed] == [f"bytes={kept}-"]
    assert resumed[0].headers.get("If-Range")
    _check_complete(tmp_path, site)


def _check_complete(tmp_path: Path, site: Site) -> None:
    """Every medium on disk with the served bytes, no leftovers, state agrees."""
    doc = json.loads((tmp_path / "manifest.json").read_text("utf-8"))
    dl = tmp_path / "dl"
    expected: set[Path] = set()
    for video in doc["videos"]:
        key = video["declared"]["content_url"].rsplit("/", 1)[1].removesuffix(".mp4")
        served = {"video": site.video_bytes(key), "thumbnail": site.image_bytes(key)}
        for kind in ("video", "thumbnail"):
            media = video["media"][kind]
            assert media["status"] in ("downloaded", "cached"), media
            body = (dl / media["path"]).read_bytes()
            if kind == "video" and key == "big":
                assert len(body) > 2_000_000
            else:
                assert body == served[kind]
            assert hashlib.sha256(body).hexdigest() == media["sha256"]
            expected.add(dl / media["path"])
    on_disk = {p for p in dl.rglob("*") if p.is_file()}
    assert on_disk == expected, on_disk ^ expected
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".part"))]
    assert leftovers == []
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(conn.execute("SELECT path, sha256 FROM media").fetchall())
    conn.close()
    assert stored == {v["media"][k]["path"]: v["media"][k]["sha256"]
                      for v in doc["videos"] for k in ("video", "thumbnail")}


def _damage_keeping_stamp(path: Path) -> None:
    """Flip one byte, then put the size and modification time back as they were."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


@pytest.mark.parametrize("with_state", [True, False], ids=["state", "dir-index"])
def test_rerun_trusts_unchanged_files_unread_and_verify_reads_them(
        site: Site, tmp_path: Path, with_state: bool) -> None:
    build(site)
    extra: dict[str, Any] = {"probe": False} if with_state else {"probe": False, "state": None}
    first = run(site, tmp_path, "v1", **extra)
    assert first["run"]["counts"]["media"]["downloaded"] == 8
    video = first["videos"][0]["media"]["video"]
    path = tmp_path / "dl" / video["path"]
    _damage_keeping_stamp(path)
    # Same size, same time: trusted without a read, so the damage goes unseen.
    second = run(site, tmp_path, "v2", **extra)
    assert second["run"]["counts"]["media"]["cached"] == 8
    assert not [r for r in site.server.log if r.path.startswith("/media/")]
    assert hashlib.sha256(path.read_bytes()).hexdigest() != video["sha256"]
    # verify reads every file: the damaged one is fetched again, the others stay cached.
    third = run(site, tmp_path, "v3", verify=True, **extra)
    assert third["run"]["counts"]["media"] == {**third["run"]["counts"]["media"],
                                               "cached": 7, "downloaded": 1}
    assert [r.path for r in site.server.log if r.path.startswith("/media/")] == [
        urlsplit(video["url"]).path]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == video["sha256"]


def test_files_are_probed_while_other_downloads_go_on(
        site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harvester.pipeline import media as media_stage

    stall = threading.Event()
    site.add_media("slow", stall=stall)
    site.add_media("quick")
    site.set_page("/news/p.html", ["slow", "quick"])
    probed = threading.Event()
    real = media_stage._probe_file

    def watched(path: Path, result: Any, cfg: Config, available: bool) -> Any:
        measured = real(path, result, cfg, available)
        if result.url.endswith("/quick.mp4"):
            probed.set()
        return measured

    monkeypatch.setattr(media_stage, "_probe_file", watched)
    seen: list[bool] = []

    def release() -> None:  # the slow video finishes once quick's probe is done (or 20 s)
        seen.append(probed.wait(20))
        stall.set()

    helper = threading.Thread(target=release)
    helper.start()
    doc = run(site, tmp_path, "p")
    helper.join()
    assert seen == [True]  # measured while the slow download was still waiting
    for video in doc["videos"]:
        assert video["media"]["video"]["probe"]["width"] == 160
