"""One fault matrix for pages and media: the same server routes, the same decisions.

Each fault is served on a route of one fault server and fetched twice: as a
page (``fetch``) and as a media file (``download``).  Both must reach the same
outcome (the same error code, or success), after the same number of requests
(the same retry decision).  Everything connects to 127.0.0.1 only; 127.0.0.2
stands in for an internal host and must never be asked anything.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from harvester.config import Config
from harvester.download import download
from harvester.errors import RemoteError
from harvester.inputs.fetch import fetch
from harvester.net.client import open_session
from harvester.records import MediaStatus, Source, SourceKind
from tests.support.faultserver import FaultServer, Reply, mp4_body, redirect

pytestmark = pytest.mark.timeout(60)

BODY = mp4_body(64 * 1024, seed=3)
CAP = 1024 * 1024
CFG = Config(retries=2, backoff_base=0.01, backoff_max=0.02, timeout=5.0, deadline=3.0,
             max_bytes=CAP, max_page_bytes=CAP, min_speed=0, per_host=4,
             allow_hosts=("127.0.0.1",), retry_after_cap=5.0)
BOMB = gzip.compress(BODY[:64] + b"\0" * (32 * CAP), compresslevel=9)


@pytest.fixture
def internal() -> Iterator[FaultServer]:
    """A server on 127.0.0.2, standing in for an internal host."""
    with FaultServer(host="127.0.0.2") as server:
        server.script("/v.mp4", Reply(body=BODY))
        yield server


def as_page(url: str, cfg: Config = CFG) -> str:
    """``ok`` or the error code of fetching ``url`` as a page."""
    try:
        with open_session(cfg) as session:
            page = fetch(Source(url, SourceKind.URL), session, max_bytes=cfg.max_page_bytes)
    except RemoteError as exc:
        return exc.code
    assert page.body == BODY
    return "ok"


def as_media(url: str, dest: Path, cfg: Config = CFG) -> str:
    """``ok`` or the error code of downloading ``url`` as a video."""
    try:
        with open_session(cfg) as session:
            result = download(url, session, dest_dir=dest, max_bytes=cfg.max_bytes)
    except RemoteError as exc:
        return exc.code
    assert result.status is MediaStatus.DOWNLOADED and result.bytes == len(BODY)
    return "ok"


# (route, replies, expected code, requests made with retries=2)
FAULTS = {
    "drop-mid-body": ([Reply(body=BODY, cut_after=1000)], "truncated", 3),
    "500": ([Reply(status=500, content_type="text/plain", body=b"oops")], "http_500", 3),
    "503-retry-after": ([Reply(status=503, content_type="text/plain",
                               headers={"Retry-After": "1"})], "http_503", 3),
    "429": ([Reply(status=429, content_type="text/plain")], "http_429", 3),
    "404": ([Reply(status=404, content_type="text/plain")], "http_404", 1),
    "gzip-bomb": ([Reply(body=BOMB, headers={"Content-Encoding": "gzip"})], "too_large", 1),
    "gzip-trailing-garbage": ([Reply(body=gzip.compress(BODY) + b"garbage",
                                     headers={"Content-Encoding": "gzip"})], "ok", 1),
    "redirect-loop": ([redirect("/f/redirect-loop")], "too_many_redirects", 1),
    "slow-headers": ([Reply(body=BODY, dribble=0.5)], "timeout", 2),
    "slow-body": ([Reply(body=BODY, trickle=(100, 0.5))], "timeout", 2),
}
# Slow servers get one retry and a short deadline, to keep the suite quick.
SLOW = replace(CFG, retries=1, deadline=1.5)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_pages_and_media_meet_each_fault_the_same_way(
        fault: str, srv: FaultServer, tmp_path: Path) -> None:
    replies, code, requests = FAULTS[fault]
    slow = fault.startswith("slow")
    cfg = SLOW if slow else CFG
    url = srv.script(f"/f/{fault}", *replies)
    started = time.monotonic()
    page = as_page(url, cfg)
    page_requests = len(srv.requests_to(f"/f/{fault}"))
    media = as_media(url, tmp_path / "dl", cfg)
    media_requests = len(srv.requests_to(f"/f/{fault}")) - page_requests
    assert (page, page_requests) == (media, media_requests) == (code, requests)
    if slow:  # two attempts each for the page and the media, each ended by its deadline
        assert time.monotonic() - started < 2 * 2 * (cfg.deadline + 1.0)


def test_a_redirect_to_another_internal_address_is_blocked(
        srv: FaultServer, internal: FaultServer, tmp_path: Path) -> None:
    url = srv.script("/to-internal", redirect(internal.url("/v.mp4")))
    assert as_page(url) == as_media(url, tmp_path / "dl") == "private_address"
    assert internal.log == []
    assert len(srv.requests_to("/to-internal")) == 2  # one each, no retry


def test_the_allowed_host_itself_is_reached(srv: FaultServer, tmp_path: Path) -> None:
    url = srv.script("/ok", Reply(body=BODY))
    assert as_page(url) == as_media(url, tmp_path / "dl") == "ok"


def test_without_allow_host_media_on_loopback_is_blocked(srv: FaultServer,
                                                         tmp_path: Path) -> None:
    url = srv.script("/ok", Reply(body=BODY))
    cfg = Config(retries=0)
    assert as_page(url, cfg) == "ok"  # the host a user names is fetched as given
    assert as_media(url, tmp_path / "dl", cfg) == "private_address"
    assert len(srv.requests_to("/ok")) == 1
