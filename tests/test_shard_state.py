"""Sharded runs with a state file re-run as cheaply as serial ones.

Pages are URLs on a loopback site that answers ``If-None-Match`` and
``If-Modified-Since`` with 304 (tests/support/site.py).  Each run goes through
``run_harvest`` with ``--executor local``: shards run in worker processes with
a snapshot of the state, and what they write is replayed into the SQLite file
by the coordinating process, so the next run's requests are conditional.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.config import Config
from harvester.scale.runner import run_harvest
from tests.support.media import have_ffmpeg
from tests.support.server import LoopbackServer
from tests.support.site import Site

pytestmark = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg/ffprobe not installed")

PAGES = ["/news/a.html", "/news/b.html", "/news/c.html"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with LoopbackServer() as server:
        site = Site(server, media_dir=tmp_path)
        for key in ("a1", "a2", "b1", "c1"):
            site.add_media(key)
        site.set_page(PAGES[0], ["a1", "a2"])
        site.set_page(PAGES[1], ["b1"])
        site.set_page(PAGES[2], ["c1"])
        yield site


def run(site: Site, tmp_path: Path, name: str, *, executor: str, download: bool,
        state: str = "state.db") -> dict[str, Any]:
    """One run as the command line makes it; its manifest.  Logs start afresh."""
    site.server.log.clear()
    site.answers.clear()
    output = tmp_path / f"{name}.json"  # and its shards beside it: a fresh batch each run
    config = Config(
        executor=executor, workers=2, shard_size=2, state=str(tmp_path / state),
        output=str(output), download=download, dir=str(tmp_path / "dl"),
        allow_private_hosts=True, ignore_robots=True, retries=1, backoff_base=0.05,
        verbosity=-1)
    run_harvest(site.page_urls(), config)
    document: dict[str, Any] = json.loads(output.read_text("utf-8"))
    return document


def videos(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The videos without what differs from run to run: sightings and how media came."""
    out: list[dict[str, Any]] = json.loads(json.dumps(document["videos"]))
    for video in out:
        video.pop("first_seen"), video.pop("last_seen")
        for kind in ("video", "thumbnail"):
            if "media" in video:
                del video["media"][kind]["status"], video["media"][kind]["attempts"]
    return out


@pytest.mark.parametrize("download", [False, True], ids=["pages", "download"])
def test_sharded_rerun_is_conditional_and_matches_serial(
    site: Site, tmp_path: Path, download: bool,
) -> None:
    first = run(site, tmp_path, "first", executor="local", download=download)
    assert not any("If-None-Match" in r.headers for r in site.server.log)
    assert [p["status"] for p in first["pages"]] == ["ok"] * 3

    second = run(site, tmp_path, "second", executor="local", download=download)
    # Only the three pages are asked for, each conditionally, and each answer is a 304.
    assert sorted(r.path for r in site.server.log) == PAGES
    for request in site.server.log:
        assert request.headers.get("If-None-Match", "").startswith('"')
        assert request.headers.get("If-Modified-Since")
    assert sorted(site.answers) == [(path, 304) for path in PAGES]
    assert [p["status"] for p in second["pages"]] == ["unchanged"] * 3
    assert second["changes"] == {"new": [], "changed": [], "gone": []}

    serial = run(site, tmp_path, "serial", executor="serial", download=download,
                 state="serial.db")
    assert videos(second) == videos(first) == videos(serial)
    assert [v["id"] for v in first["videos"]] == [v["id"] for v in serial["videos"]]
    if download:
        assert first["run"]["counts"]["media"]["downloaded"] == 8
        assert second["run"]["counts"]["media"]["cached"] == 8
        assert not list((tmp_path / "dl" / ".locks").iterdir())
    else:
        assert all("media" not in v for v in second["videos"])
