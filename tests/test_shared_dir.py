"""Runs that share one download directory never lie about it.

Two ``harvester harvest --download`` processes fetch the same 16 URLs into one
``--dir`` at once, round after round, one of them sometimes killed mid-run:
every file a manifest calls downloaded or cached has that sha256 on disk.  A
file damaged on disk between runs is detected and replaced.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faultserver import FaultServer, Reply, mp4_body

pytestmark = pytest.mark.timeout(240)

URLS = 16
ROUNDS = int(os.environ.get("HARVESTER_SHARED_DIR_ROUNDS", "20"))
BODIES = [mp4_body(48 * 1024 + i * 512, seed=100 + i) for i in range(URLS)]


def _page(srv: FaultServer) -> str:
    blobs = "".join(
        f'<script type="application/ld+json">{{"@type": "VideoObject", "name": "v{i}", '
        f'"contentUrl": "{srv.url(f"/m{i}.mp4")}"}}</script>' for i in range(URLS))
    return f"<html><body>{blobs}</body></html>"


@pytest.fixture
def site() -> Iterator[FaultServer]:
    with FaultServer() as srv:
        for i, body in enumerate(BODIES):
            srv.script(f"/m{i}.mp4", Reply(body=body, etag=f'"e{i}"', trickle=(16384, 0.003)))
        srv.script("/page.html", Reply(body=_page(srv).encode(), content_type="text/html"))
        yield srv


def _start(srv: FaultServer, dest: Path, name: str, state: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "harvester", "harvest", srv.url("/page.html"), "--download",
            "--dir", str(dest), "--no-probe", "--allow-private-hosts", "--retries", "1",
            "-o", str(dest.parent / f"{name}.json"), "-q"]
    if state:
        args += ["--state", str(dest.parent / f"{name}.sqlite")]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _claims(manifest: Path) -> list[tuple[str, str]]:
    """(path, sha256) of every media file the manifest says is on disk."""
    if not manifest.exists():
        return []
    found = []
    for video in json.loads(manifest.read_text())["videos"]:
        media = (video.get("media") or {}).get("video")
        if media and media["status"] in ("downloaded", "cached"):
            found.append((media["path"], media["sha256"]))
    return found


def _check(dest: Path, manifests: list[Path]) -> int:
    claims = [c for m in manifests for c in _claims(m)]
    for path, sha in claims:
        assert hashlib.sha256((dest / path).read_bytes()).hexdigest() == sha, path
    return len(claims)


def test_two_runs_into_one_dir_with_kills_never_lie(site: FaultServer, tmp_path: Path) -> None:
    rng = random.Random(7)
    dest = tmp_path / "dl"
    checked = 0
    for round_ in range(ROUNDS):
        manifests = [tmp_path / f"a{round_}.json", tmp_path / f"b{round_}.json"]
        runs = [_start(site, dest, f"a{round_}", state=round_ % 2 == 0),
                _start(site, dest, f"b{round_}", state=True)]
        if round_ % 3 != 2:
            time.sleep(rng.uniform(0.3, 0.9))
            rng.choice(runs).send_signal(signal.SIGKILL)
        for run in runs:
            run.communicate(timeout=120)
        checked += _check(dest, manifests)
        if round_ % 2 == 1:
            _damage_one(dest, rng)
    assert checked >= URLS * ROUNDS // 2  # most rounds finish at least one run


def _damage_one(dest: Path, rng: random.Random) -> None:
    stored = sorted(p for p in dest.glob("*/*.mp4"))
    if stored:
        victim = rng.choice(stored)
        data = bytearray(victim.read_bytes())
        data[-1] ^= 0xFF
        victim.write_bytes(bytes(data))


def test_a_file_damaged_between_runs_is_detected_and_replaced(
        site: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    for name in ("first", "second"):
        run = _start(site, dest, name, state=True)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        if name == "first":
            paths = [path for path, _ in _claims(tmp_path / "first.json")]
            assert len(paths) == URLS
            for path in paths[:4]:  # same size, other bytes: only a hash can tell
                data = bytearray((dest / path).read_bytes())
                data[100] ^= 0xFF
                (dest / path).write_bytes(bytes(data))
    assert _check(dest, [tmp_path / "second.json"]) == URLS
    # A fresh run without state finds the (now good) files and keeps them.
    run = _start(site, dest, "third", state=False)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert _check(dest, [tmp_path / "third.json"]) == URLS
