"""robots.txt per RFC 9309 against a real loopback server (R43)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from harvester.config import Config
from harvester.errors import FetchError
from harvester.net.client import Session, open_session
from harvester.net.robots import MAX_ROBOTS_BYTES, PRODUCT_TOKEN, RobotsCache, parse_robots
from tests.support.server import LoopbackServer

# The test server is on loopback, which only the host a user names may reach.
CFG = Config(timeout=2.0, per_host=4, retries=1, backoff_base=0.01, backoff_max=0.05,
             allow_private_hosts=True)


@pytest.fixture
def client() -> Iterator[Session]:
    with open_session(CFG) as session:
        yield session


def robots_route(server: LoopbackServer, body: bytes = b"", status: int = 200,
                 **kwargs: object) -> None:
    server.route("/robots.txt", body=body, status=status, content_type="text/plain",
                 **kwargs)


def test_disallow_rule_applies(http_server: LoopbackServer, client: Session) -> None:
    robots_route(http_server, b"User-agent: *\nDisallow: /private/\n")
    robots = RobotsCache(client)
    assert not robots.allowed(http_server.url("/private/a.html"))
    assert robots.allowed(http_server.url("/public/a.html"))
    assert len(http_server.requests_to("/robots.txt")) == 1


def test_5xx_disallows_everything(http_server: LoopbackServer, client: Session) -> None:
    robots_route(http_server, b"oops", status=503)
    robots = RobotsCache(client)
    with pytest.raises(FetchError) as info:
        robots.check(http_server.url("/a.html"))
    assert info.value.code == "robots_disallowed" and "503" in info.value.message
    assert not robots.allowed(http_server.url("/b.html"))


def test_4xx_allows_everything(http_server: LoopbackServer, client: Session) -> None:
    # No /robots.txt route: the test server answers 404.
    assert RobotsCache(client).allowed(http_server.url("/anything"))


def test_429_is_treated_as_unreachable(http_server: LoopbackServer,
                                       client: Session) -> None:
    robots_route(http_server, status=429)
    assert not RobotsCache(client).allowed(http_server.url("/a"))


def test_unreachable_host_is_reported_as_what_it_is(client: Session) -> None:
    with LoopbackServer() as gone:
        url = gone.url("/a.html")
    robots = RobotsCache(client)
    with pytest.raises(FetchError) as info:
        robots.check(url)
    assert info.value.code == "connect_error" and "robots" not in info.value.code
    assert not robots.allowed(url)


def test_only_first_500_kib_are_parsed(http_server: LoopbackServer,
                                       client: Session) -> None:
    head = b"User-agent: *\nDisallow: /early/\n"
    filler = b"# " + b"x" * 98 + b"\n"
    body = head + filler * ((600 * 1024) // len(filler)) + b"Disallow: /late/\n"
    assert len(body) > 600 * 1024 > MAX_ROBOTS_BYTES

    def send(req: BaseHTTPRequestHandler) -> None:
        req.send_response(200)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        # The reader stops at the limit and hangs up, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            req.wfile.write(body)

    http_server.route("/robots.txt", handler=send)
    robots = RobotsCache(client)
    assert not robots.allowed(http_server.url("/early/a"))
    assert robots.allowed(http_server.url("/late/a"))  # beyond the limit: not read


def test_redirected_robots_is_followed(http_server: LoopbackServer,
                                       client: Session) -> None:
    http_server.route("/robots.txt", status=301, headers={"Location": "/real-robots.txt"})
    http_server.route("/real-robots.txt", body=b"User-agent: *\nDisallow: /x\n")
    assert not RobotsCache(client).allowed(http_server.url("/x/1"))


def test_fetched_once_per_origin_under_concurrency(http_server: LoopbackServer,
                                                   client: Session) -> None:
    def slow(req: BaseHTTPRequestHandler) -> None:
        time.sleep(0.2)
        body = b"User-agent: *\nDisallow: /no\n"
        req.send_response(200)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    http_server.route("/robots.txt", handler=slow)
    robots = RobotsCache(client)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(robots.allowed, [http_server.url(f"/no/{i}") for i in range(6)]))
    assert answers == [False] * 6
    assert len(http_server.requests_to("/robots.txt")) == 1


@pytest.mark.parametrize(("path", "allowed"), [
    ("/private/x", False),
    ("/private/ok/x", True),        # longer Allow beats shorter Disallow
    ("/files/a.pdf", False),        # '*' and '$' wildcards
    ("/files/a.pdf?x=1", True),
    ("/same", True),                # Allow wins a tie
    ("/public", True),
])
def test_rfc9309_precedence_and_wildcards(path: str, allowed: bool) -> None:
    parser = parse_robots("User-agent: *\nDisallow: /private\nAllow: /private/ok\n"
                          "Disallow: /*.pdf$\nDisallow: /same\nAllow: /same\n")
    assert parser.can_fetch("http://h" + path, PRODUCT_TOKEN) is allowed


def test_our_group_overrides_the_star_group() -> None:
    parser = parse_robots("User-agent: *\nDisallow: /\n\nUser-agent: harvester\n"
                          "Disallow: /mine\n")
    assert parser.can_fetch("http://h/page", PRODUCT_TOKEN)
    assert not parser.can_fetch("http://h/mine/1", PRODUCT_TOKEN)


def test_groups_for_the_same_agent_are_merged() -> None:
    # RFC 9309 2.2.1: several groups naming one agent are one group.
    parser = parse_robots("User-agent: harvester\nDisallow: /a\n\nUser-agent: other\n"
                          "Disallow: /\n\nUser-agent: harvester\nDisallow: /b\n")
    assert not parser.can_fetch("http://h/a/1", PRODUCT_TOKEN)
    assert not parser.can_fetch("http://h/b/1", PRODUCT_TOKEN)
    assert parser.can_fetch("http://h/c/1", PRODUCT_TOKEN)


def test_many_wildcards_decide_quickly() -> None:
    # A matcher that backtracks takes minutes here; the decision must stay instant.
    rule = "/" + "*a" * 20 + "b"
    parser = parse_robots(f"User-agent: *\nDisallow: {rule}\n")
    path = "http://h/" + "a" * 20000
    started = time.perf_counter()
    for _ in range(10):
        assert parser.can_fetch(path, PRODUCT_TOKEN)
    assert (time.perf_counter() - started) / 10 < 0.1
