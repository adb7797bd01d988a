"""The operator's network controls, against real servers on 127.0.0.1 (port 0).

A counting forward proxy (tests/support/proxy.py) stands in for a corporate
proxy; 127.0.0.2 stands in for an internal host that must receive nothing.
"""

from __future__ import annotations

import itertools
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from harvester.config import Config
from harvester.download import download
from harvester.errors import BlockedURL, DownloadError
from harvester.net.client import Session
from harvester.net.policy import NetPolicy
from harvester.pipeline.run import harvest
from tests.support.faultserver import FaultServer, Logged, Reply, mp4_body, redirect
from tests.support.proxy import CountingProxy

pytestmark = pytest.mark.timeout(90)

VIDEO = mp4_body(16 * 1024, seed=7)
QUIET = Config(retries=0, allow_hosts=("127.0.0.1",), probe=False)


def page_with_video(content_url: str) -> bytes:
    blob = {"@context": "https://schema.org", "@type": "VideoObject", "name": "clip",
            "contentUrl": content_url, "uploadDate": "2025-01-01"}
    return (f'<html><head><script type="application/ld+json">{json.dumps(blob)}'
            '</script></head><body>video</body></html>').encode()


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "harvester", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})
    return proc.returncode, proc.stderr


@pytest.fixture
def proxy() -> Iterator[CountingProxy]:
    with CountingProxy() as counting:
        yield counting


def site(srv: FaultServer, robots: bytes = b"User-agent: *\nAllow: /\n") -> str:
    """A page with one video on ``srv``; returns the page URL."""
    video = srv.script("/v.mp4", Reply(body=VIDEO))
    srv.script("/robots.txt", Reply(body=robots, content_type="text/plain"))
    return srv.script("/page.html", Reply(body=page_with_video(video), content_type="text/html"))


# ── proxies ────────────────────────────────────────────────────────────────


def test_proxy_carries_every_page_robots_and_media_request(
        srv: FaultServer, proxy: CountingProxy, tmp_path: Path) -> None:
    page = site(srv)
    out = tmp_path / "m.json"
    code, stderr = run_cli(["harvest", page, "--proxy", proxy.url, "--download",
                            "--dir", str(tmp_path / "dl"), "--allow-host", "127.0.0.1",
                            "--no-probe", "-o", str(out), "-q"])
    document = json.loads(out.read_text())
    assert code == 0, stderr
    assert document["videos"][0]["media"]["video"]["status"] == "downloaded"
    assert sorted(proxy.targets) == sorted(srv.url(p) for p in
                                           ("/robots.txt", "/page.html", "/v.mp4"))
    assert len(srv.log) == 3 and all(r.headers.get("via") == "1.1 counting-proxy"
                                     for r in srv.log)  # nothing went around the proxy


def test_a_proxied_media_url_on_an_internal_address_is_still_blocked(
        srv: FaultServer, proxy: CountingProxy, tmp_path: Path) -> None:
    with FaultServer(host="127.0.0.2") as internal:
        internal.script("/v.mp4", Reply(body=VIDEO))
        srv.script("/robots.txt", Reply(status=404))
        page = srv.script("/page.html", Reply(body=page_with_video(internal.url("/v.mp4")),
                                              content_type="text/html"))
        out = tmp_path / "m.json"
        code, stderr = run_cli(["harvest", page, "--proxy", proxy.url, "--download",
                                "--dir", str(tmp_path / "dl"), "--allow-host", "127.0.0.1",
                                "--no-probe", "--retries", "0", "-o", str(out), "-q"])
        assert internal.log == []
    media = json.loads(out.read_text())["videos"][0]["media"]["video"]
    assert media["status"] == "blocked" and media["error"]["code"] == "private_address"
    assert not any("127.0.0.2" in target for target in proxy.targets)
    assert code == 0, stderr  # blocked is a verdict, not a failure


def test_through_a_proxy_a_name_is_checked_by_what_it_resolves_to(
        srv: FaultServer, tmp_path: Path) -> None:
    """The proxy dials the target, so the guard resolves the name before sending."""
    srv.script("/v.mp4", Reply(body=VIDEO))
    names = {"cdn.test": ["93.184.216.34"], "intranet.test": ["127.0.0.2"]}
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return names.get(host, ["127.0.0.1"])

    with CountingProxy(hosts={"cdn.test": "127.0.0.1", "intranet.test": "127.0.0.1"}) as proxy:
        policy = NetPolicy.from_config(replace(QUIET, proxy=proxy.url))
        with Session(policy, resolver=resolver) as session:
            with pytest.raises(BlockedURL) as blocked:
                download(f"http://intranet.test:{srv.port}/v.mp4", session,
                         dest_dir=tmp_path, max_bytes=10**6)
            done = download(f"http://cdn.test:{srv.port}/v.mp4", session, dest_dir=tmp_path,
                            max_bytes=10**6)
        assert proxy.targets == [f"http://cdn.test:{srv.port}/v.mp4"]
    assert "127.0.0.2" in blocked.value.message and blocked.value.code == "private_address"
    assert done.bytes == len(VIDEO)
    # Both targets were looked up here; then the proxy itself, which is dialled unchecked.
    assert lookups == ["intranet.test", "cdn.test", "127.0.0.1"]


def test_https_goes_through_a_tunnel_with_the_target_checked_first(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with FaultServer(ssl_context=server_context) as tls, CountingProxy() as proxy:
        url = tls.script("/v.mp4", Reply(body=VIDEO))
        policy = NetPolicy.from_config(replace(QUIET, proxy=proxy.url))
        with Session(policy, verify=client_context) as session:
            done = download(url, session, dest_dir=tmp_path, max_bytes=10**6)
        refusing = NetPolicy.from_config(replace(QUIET, proxy=proxy.url, allow_hosts=()))
        with Session(refusing, verify=client_context) as session, pytest.raises(BlockedURL):
            download(url, session, dest_dir=tmp_path, max_bytes=10**6)
        assert [f.method for f in proxy.forwarded] == ["CONNECT"]  # the refused one never left
        assert proxy.targets == [f"127.0.0.1:{tls.port}"] and len(tls.log) == 1
    assert done.bytes == len(VIDEO)


def test_trust_env_reads_http_proxy_and_without_it_the_variable_is_ignored(
        srv: FaultServer, proxy: CountingProxy, tmp_path: Path) -> None:
    page = site(srv)
    env = {"HTTP_PROXY": proxy.url}
    args = ["harvest", page, "-o", str(tmp_path / "m.json"), "-q"]
    code, stderr = run_cli(args, env)
    assert code == 0, stderr
    assert proxy.targets == [] and len(srv.log) == 2  # robots.txt and the page, direct
    code, stderr = run_cli([*args, "--trust-env"], env)
    assert code == 0, stderr
    assert sorted(proxy.targets) == [srv.url("/page.html"), srv.url("/robots.txt")]


def test_no_proxy_sends_a_named_host_direct(srv: FaultServer, proxy: CountingProxy,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    page = site(srv)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.0/8")
    manifest = harvest([page], replace(QUIET, trust_env=True))
    assert manifest.pages[0].error is None
    assert proxy.targets == []


# ── who we say we are ──────────────────────────────────────────────────────


def test_user_agent_and_headers_reach_pages_and_media_but_not_robots_credentials(
        srv: FaultServer, tmp_path: Path) -> None:
    page = site(srv)
    code, stderr = run_cli(["harvest", page, "--download", "--dir", str(tmp_path / "dl"),
                            "--allow-host", "127.0.0.1", "--no-probe", "-q",
                            "-o", str(tmp_path / "m.json"),
                            "--user-agent", "mybot/2.0 (+https://bot.example)",
                            "--header", "Authorization: Bearer s3cret",
                            "--header", "X-Team: video"])
    assert code == 0, stderr
    for path in ("/page.html", "/v.mp4"):
        sent = srv.requests_to(path)[0].headers
        assert sent["user-agent"] == "mybot/2.0 (+https://bot.example)"
        assert sent["authorization"] == "Bearer s3cret" and sent["x-team"] == "video"
    robots = srv.requests_to("/robots.txt")[0].headers
    assert robots["user-agent"].startswith("mybot/2.0") and robots["x-team"] == "video"
    assert "authorization" not in robots


def test_credentials_do_not_follow_a_redirect_to_another_host(srv: FaultServer) -> None:
    with FaultServer(host="127.0.0.2") as other:
        other.script("/page.html", Reply(body=b"<html></html>", content_type="text/html"))
        start = srv.script("/page.html", redirect(other.url("/page.html")))
        cfg = replace(QUIET, allow_private_hosts=True, ignore_robots=True, list_all_pages=True,
                      headers=("Cookie: session=1", "X-Team: video"))
        manifest = harvest([start], cfg)
        assert manifest.pages[0].error is None
        assert srv.requests_to("/page.html")[0].headers["cookie"] == "session=1"
        moved = other.requests_to("/page.html")[0].headers
    assert "cookie" not in moved and moved["x-team"] == "video"


@pytest.mark.parametrize(("agent", "allowed"), [
    ("mybot/1.0 (+https://bot.example)", False),
    ("otherbot/1.0", True),
])
def test_robots_rules_are_matched_against_the_configured_token(
        srv: FaultServer, agent: str, allowed: bool) -> None:
    page = site(srv, robots=b"User-agent: mybot\nDisallow: /\n\nUser-agent: *\nAllow: /\n")
    manifest = harvest([page], replace(QUIET, user_agent=agent))
    error = manifest.pages[0].error
    assert (error is None) is allowed
    if not allowed:
        assert error is not None and error.code == "robots_disallowed"
        assert "for mybot" in error.message
        assert srv.requests_to("/page.html") == []


# ── pacing ─────────────────────────────────────────────────────────────────


def starts(log: list[Logged]) -> list[float]:
    return sorted(r.at for r in log)


def gaps(log: list[Logged]) -> list[float]:
    times = starts(log)
    return [b - a for a, b in itertools.pairwise(times)]


def pages_on(server: FaultServer, count: int) -> list[str]:
    server.script("/robots.txt", Reply(status=404))
    return [server.script(f"/p{i}.html", Reply(body=b"<html></html>", content_type="text/html"))
            for i in range(count)]


def test_wait_spaces_requests_to_one_host_while_two_hosts_go_in_parallel(
        srv: FaultServer) -> None:
    with FaultServer(host="127.0.0.2") as other:
        pages = [u for pair in zip(pages_on(srv, 3), pages_on(other, 3), strict=True)
                 for u in pair]
        cfg = replace(QUIET, wait=0.3, concurrency=4, allow_private_hosts=True)
        manifest = harvest(pages, cfg)
        assert all(p.error is None for p in manifest.pages)
        assert len(srv.log) == len(other.log) == 4  # robots.txt and three pages each
        # At least 0.5 x 0.3 s between starts, less what a new connection shifts arrivals.
        assert min(gaps(srv.log) + gaps(other.log)) >= 0.12
        # The other host did not wait for the first one's turn.
        assert abs(starts(srv.log)[0] - starts(other.log)[0]) < 0.12


def test_rate_caps_requests_per_second_to_one_host(srv: FaultServer) -> None:
    manifest = harvest(pages_on(srv, 4), replace(QUIET, rate=5.0, concurrency=4))
    assert all(p.error is None for p in manifest.pages)
    assert len(srv.log) == 5
    # Four intervals of 1/5 s, less what the server's clock adds or takes from each arrival
    # (under load one arrival can be logged late, making the next gap look short).
    assert starts(srv.log)[-1] - starts(srv.log)[0] >= 0.75
    assert min(gaps(srv.log)) >= 0.12


# ── bandwidth ──────────────────────────────────────────────────────────────


def test_limit_rate_slows_a_transfer_without_making_it_too_slow(
        srv: FaultServer, tmp_path: Path) -> None:
    body = mp4_body(250_000, seed=3)
    url = srv.script("/big.mp4", Reply(body=body))
    # A minimum speed above the cap: our own sleeping must not count against the server.
    cfg = replace(QUIET, limit_rate=100_000, min_speed=200_000, min_speed_window=0.5)
    started = time.monotonic()
    with Session(NetPolicy.from_config(cfg)) as session:
        done = download(url, session, dest_dir=tmp_path, max_bytes=10**7)
    took = time.monotonic() - started
    assert done.bytes == len(body)
    assert 2.3 <= took < 10


def test_limit_rate_still_ends_by_the_deadline(srv: FaultServer, tmp_path: Path) -> None:
    url = srv.script("/big.mp4", Reply(body=mp4_body(250_000, seed=4)))
    cfg = replace(QUIET, limit_rate=100_000, deadline=1.0)
    started = time.monotonic()
    with Session(NetPolicy.from_config(cfg)) as session, \
            pytest.raises(DownloadError) as failed:
        download(url, session, dest_dir=tmp_path, max_bytes=10**7)
    assert failed.value.code == "timeout"
    assert time.monotonic() - started < 2.0
