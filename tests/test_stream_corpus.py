"""The corpus pages whose contentUrl is an HLS playlist are marked ``stream: hls``.

The real hosts are never asked: each page is served from a loopback server
with the scheme and host of every absolute URL in it pointed at that server
(path and query kept as the page has them), names resolve to nothing, and a
real playlist answers at each playlist path under a type that says nothing
(``application/octet-stream``): the body alone decides.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harvester import harvest
from harvester.config import Config
from harvester.extract import extract
from harvester.net.client import Session
from harvester.net.policy import NetPolicy
from tests.support.faultserver import FaultServer, Reply
from tests.support.streams import Streams

pytestmark = [pytest.mark.shared, pytest.mark.timeout(60)]

ORIGIN = re.compile(rb"https?://[A-Za-z0-9.-]+(:[0-9]+)?")
ESCAPED_ORIGIN = re.compile(rb"https?:\\/\\/[A-Za-z0-9.-]+(:[0-9]+)?")

#: Records in the corpus whose contentUrl path ends in .m3u8 (none ends in .mpd).
HLS_RECORDS = 9
HLS_PAGES = 7


def corpus_streams(pages: Path) -> dict[str, list[str]]:
    """Page name → the contentUrls of its videos that name an HLS playlist."""
    found: dict[str, list[str]] = {}
    for page in sorted(pages.iterdir()):
        for video in extract(page.read_bytes(), None, ref=page.name):
            url = video.declared.content_url or ""
            if urlsplit(url).path.lower().endswith((".m3u8", ".mpd")):
                found.setdefault(page.name, []).append(url)
    return found


def no_names(host: str, port: int) -> list[str]:
    """Only the loopback server is reachable: any name lookup fails at once."""
    if host == "127.0.0.1":
        return [host]
    raise socket.gaierror(socket.EAI_NONAME, f"{host}: not looked up in tests")


@pytest.fixture
def srv() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def test_corpus_hls_records_are_marked_as_streams(
        shared_dir: Path, srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    pages = shared_dir / "corpus" / "pages"
    found = corpus_streams(pages)
    assert sum(len(urls) for urls in found.values()) == HLS_RECORDS
    assert len(found) == HLS_PAGES
    playlist = Reply(body=streams.read("fmp4/index.m3u8"),
                     content_type="application/octet-stream")
    targets = []
    for name, urls in found.items():
        body = ORIGIN.sub(srv.url("").encode(), (pages / name).read_bytes())
        body = ESCAPED_ORIGIN.sub(srv.url("").replace("/", "\\/").encode(), body)
        for url in urls:
            srv.script(urlsplit(url).path, playlist)
        targets.append(srv.script(f"/corpus/{name}", Reply(body=body, content_type="text/html")))
    cfg = Config(allow_hosts=("127.0.0.1",), ignore_robots=True, measure=True,
                 dir=str(tmp_path / "dl"), retries=0)
    with Session(NetPolicy.from_config(cfg), resolver=no_names) as session:
        document = harvest(targets, cfg, session=session).to_dict()
    assert {p["status"] for p in document["pages"]} == {"ok"}
    videos = document["videos"]
    assert all(urlsplit(v["declared"]["content_url"] or srv.url()).hostname == "127.0.0.1"
               for v in videos)
    streams_seen = [v["media"]["video"] for v in videos
                    if v.get("media") and (v["media"].get("video") or {}).get("stream")]
    assert len(streams_seen) == HLS_RECORDS
    assert {m["stream"] for m in streams_seen} == {"hls"}
    assert {m["status"] for m in streams_seen} == {"measured"}
    assert all(m["probe"]["duration_s"] == 6.0 for m in streams_seen)
