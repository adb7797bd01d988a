"""The network layer seen from a whole run: what fails is named, what is internal stays out.

Real servers on 127.0.0.1; 127.0.0.2 stands in for an internal host that must
receive nothing.  No name is ever looked up in DNS: a resolver that refuses
every name stands in for a name that does not exist.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.config import Config
from harvester.download import download
from harvester.errors import FetchError, RemoteError
from harvester.net.client import Session, open_session
from harvester.net.policy import NetPolicy
from harvester.net.robots import RobotsCache
from harvester.pipeline.run import harvest
from tests.support.faultserver import FaultServer, Reply, mp4_body, redirect

pytestmark = pytest.mark.timeout(90)

VIDEO = mp4_body(32 * 1024, seed=5)


def page_with_video(content_url: str) -> bytes:
    blob = {"@context": "https://schema.org", "@type": "VideoObject", "name": "clip",
            "contentUrl": content_url, "uploadDate": "2025-01-01"}
    return (f'<html><head><script type="application/ld+json">{json.dumps(blob)}'
            '</script></head><body>video</body></html>').encode()


def run_cli(args: list[str]) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stderr


@pytest.fixture
def internal() -> Iterator[FaultServer]:
    with FaultServer(host="127.0.0.2") as server:
        for path in ("/page.html", "/robots.txt", "/v.mp4"):
            server.script(path, Reply(body=VIDEO, content_type="text/plain"))
        yield server


def test_a_name_that_does_not_resolve_fails_at_once_as_dns_error() -> None:
    lookups: list[str] = []

    def nxdomain(host: str, port: int) -> list[str]:
        lookups.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    started = time.monotonic()
    with Session(NetPolicy.from_config(Config()), resolver=nxdomain) as session:
        manifest = harvest(["http://no-such-host.invalid/a.html"], Config(), session=session)
    error = manifest.pages[0].error
    assert error is not None and error.code == "dns_error"
    assert "robots" not in error.message
    assert time.monotonic() - started < 2.0
    assert lookups == ["no-such-host.invalid"]  # robots.txt asked once, the page never


def test_a_closed_port_is_connect_error_not_robots(tmp_path: Path) -> None:
    with FaultServer() as gone:
        url = gone.url("/a.html")
    out = tmp_path / "m.json"
    code, stderr = run_cli(["harvest", url, "-o", str(out), "--retries", "1", "-q"])
    page = json.loads(out.read_text())["pages"][0]
    assert code == 1, stderr
    assert page["error"]["code"] == "connect_error"
    assert "robots" not in page["error"]["message"]


def test_allow_host_keeps_every_other_internal_host_out(
        srv: FaultServer, internal: FaultServer, tmp_path: Path) -> None:
    video = srv.script("/v.mp4", redirect(internal.url("/v.mp4")))
    srv.script("/page.html", Reply(body=page_with_video(video), content_type="text/html"))
    srv.script("/robots.txt", redirect(internal.url("/robots.txt")))
    srv.script("/jump.html", redirect(internal.url("/page.html")))
    out = tmp_path / "m.json"
    code, stderr = run_cli(["harvest", srv.url("/page.html"), srv.url("/jump.html"),
                            "--download", "--dir", str(tmp_path / "dl"), "-o", str(out),
                            "--allow-host", "127.0.0.1", "--retries", "0", "-q"])
    document = json.loads(out.read_text())
    pages = {p["page"]: p for p in document["pages"]}
    assert code == 1, stderr
    assert internal.log == []  # pages, robots.txt and media alike: not one request
    assert pages[srv.url("/jump.html")]["error"]["code"] == "private_address"
    assert pages[srv.url("/page.html")]["error"] is None
    media = document["videos"][0]["media"]["video"]
    assert media["status"] == "blocked" and media["error"]["code"] == "private_address"
    assert "--allow-host" in media["error"]["message"]


def test_headers_sent_one_byte_at_a_time_end_by_the_deadline(
        srv: FaultServer, tmp_path: Path) -> None:
    cfg = Config(retries=0, deadline=1.5, allow_private_hosts=True)
    page = srv.script("/page.html", Reply(body=b"<html></html>", dribble=0.5))
    srv.script("/robots.txt", Reply(body=b"User-agent: *\n", dribble=0.5))
    media = srv.script("/v.mp4", Reply(body=VIDEO, dribble=0.5))
    started = time.monotonic()
    with open_session(cfg) as session:
        with pytest.raises(FetchError) as robots_error:
            RobotsCache(session).check(page)
        robots_took = time.monotonic() - started
        manifest = harvest([page], Config(retries=0, deadline=1.5, ignore_robots=True,
                                          download=False), session=session)
        page_took = time.monotonic() - started - robots_took
    with open_session(cfg) as session:
        media_started = time.monotonic()
        with pytest.raises(RemoteError) as media_error:
            download(media, session, dest_dir=tmp_path / "dl", max_bytes=10**9)
        media_took = time.monotonic() - media_started
    assert robots_error.value.code == "timeout"
    error = manifest.pages[0].error
    assert error is not None and error.code == "timeout"
    assert media_error.value.code == "timeout"
    for took in (robots_took, page_took, media_took):
        assert took < cfg.deadline + 2.0


def test_ignore_robots_asks_for_no_robots_txt(srv: FaultServer) -> None:
    srv.script("/a.html", Reply(body=b"<html></html>", content_type="text/html"))
    manifest = harvest([srv.url("/a.html")], Config(ignore_robots=True, list_all_pages=True))
    assert manifest.pages[0].error is None
    assert srv.requests_to("/robots.txt") == []
