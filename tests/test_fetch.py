"""fetch() and read_file() against real loopback servers: redirects, retries, caps, limits."""

from __future__ import annotations

import contextlib
import gzip
import pickle
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from harvester.config import Config
from harvester.errors import BlockedURL, FetchError, RemoteError
from harvester.inputs.fetch import fetch, read_file
from harvester.net.body import Decoder
from harvester.net.client import Session, open_session
from harvester.net.limiter import HostLimiter
from harvester.net.policy import NetPolicy, parse_retry_after
from harvester.net.robots import RobotsCache
from harvester.records import Source, SourceKind
from tests.support.server import LoopbackServer

FAST = Config(retries=2, backoff_base=0.01, backoff_max=0.05, timeout=2.0, per_host=4,
              retry_after_cap=5.0)
PAGE = b"<html><body><h1>hello</h1></body></html>"


def reply(req: BaseHTTPRequestHandler, status: int, body: bytes = b"",
          headers: dict[str, str] | None = None) -> None:
    req.send_response(status)
    for name, value in (headers or {}).items():
        req.send_header(name, value)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


def url_source(url: str) -> Source:
    return Source(ref=url, kind=SourceKind.URL)


@pytest.fixture
def client() -> Iterator[Session]:
    with open_session(FAST) as session:
        yield session


def get(server: LoopbackServer, path: str, client: Session, cfg: Config = FAST,
        **kwargs: object) -> object:
    """fetch() through ``client``, or through a session of its own when ``cfg`` differs."""
    source = url_source(server.url(path))
    if cfg is FAST:
        return fetch(source, client, max_bytes=cfg.max_page_bytes, **kwargs)  # type: ignore[arg-type]
    with open_session(cfg) as session:
        return fetch(source, session, max_bytes=cfg.max_page_bytes, **kwargs)  # type: ignore[arg-type]


def fails(server: LoopbackServer, path: str, client: Session, cfg: Config = FAST,
          **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        get(server, path, client, cfg, **kwargs)
    return info.value


# ── success, headers, conditional GET ─────────────────────────────────────


def test_page_records_final_url_type_charset_and_validators(
        http_server: LoopbackServer, client: Session) -> None:
    http_server.route("/p", body=PAGE, content_type="text/html; charset=ISO-8859-1",
                      headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"})
    page = fetch(url_source(http_server.url("/p")), client, max_bytes=FAST.max_page_bytes)
    assert page.body == PAGE
    assert page.status == 200 and page.url == http_server.url("/p")
    assert page.content_type == "text/html; charset=ISO-8859-1"
    assert page.etag == '"v1"' and page.last_modified.startswith("Wed, 01 Jan 2025")  # type: ignore[union-attr]
    sent = http_server.requests_to("/p")[0].headers
    assert sent["User-Agent"] == FAST.user_agent
    assert "If-None-Match" not in sent


def test_conditional_get_gives_304_page(http_server: LoopbackServer,
                                        client: Session) -> None:
    def handler(req: BaseHTTPRequestHandler) -> None:
        if req.headers.get("If-None-Match") == '"v1"':
            reply(req, 304, headers={"ETag": '"v1"'})
        else:
            reply(req, 200, PAGE, {"ETag": '"v1"'})

    http_server.route("/c", handler=handler)
    page = fetch(url_source(http_server.url("/c")), client, max_bytes=FAST.max_page_bytes,
                 etag='"v1"',
                 last_modified="Wed, 01 Jan 2025 00:00:00 GMT")
    assert page.status == 304 and page.body == b"" and page.etag == '"v1"'
    assert page.last_modified == "Wed, 01 Jan 2025 00:00:00 GMT"
    sent = http_server.requests_to("/c")[0].headers
    assert sent["If-Modified-Since"] == "Wed, 01 Jan 2025 00:00:00 GMT"


def test_a_stored_validator_that_cannot_be_sent_is_left_out(
        http_server: LoopbackServer, client: Session) -> None:
    http_server.route("/v", body=PAGE)
    page = fetch(url_source(http_server.url("/v")), client, max_bytes=FAST.max_page_bytes,
                 etag='"\u00e9t\u00e9"', last_modified="x" * 5000)
    assert page.status == 200 and page.body == PAGE
    sent = http_server.requests_to("/v")[0].headers
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_gzip_and_raw_deflate_bodies_are_decoded(http_server: LoopbackServer,
                                                 client: Session) -> None:
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = raw.compress(PAGE) + raw.flush()
    http_server.route("/gz", body=gzip.compress(PAGE), headers={"Content-Encoding": "gzip"})
    http_server.route("/df", body=deflated, headers={"Content-Encoding": "deflate"})
    assert get(http_server, "/gz", client).body == PAGE  # type: ignore[attr-defined]
    assert get(http_server, "/df", client).body == PAGE  # type: ignore[attr-defined]
    assert http_server.requests_to("/gz")[0].headers["Accept-Encoding"] == "gzip, deflate"


# ── redirects ──────────────────────────────────────────────────────────────


def test_redirect_chain_is_followed_by_hand(http_server: LoopbackServer,
                                            client: Session) -> None:
    http_server.route("/r1", status=301, headers={"Location": "/r2"})
    http_server.route("/r2", status=307, headers={"Location": http_server.url("/final")})
    http_server.route("/final", body=PAGE)
    page = fetch(url_source(http_server.url("/r1")), client, max_bytes=FAST.max_page_bytes)
    assert page.url == http_server.url("/final") and page.ref == http_server.url("/r1")
    assert [r.path for r in http_server.log] == ["/r1", "/r2", "/final"]


def test_redirect_loop_fails_without_retry(http_server: LoopbackServer,
                                           client: Session) -> None:
    http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=302, headers={"Location": "/a"})
    err = fails(http_server, "/a", client)
    assert err.code == "too_many_redirects" and "loop" in err.message
    assert len(http_server.log) == 2


def test_too_many_redirects(http_server: LoopbackServer, client: Session) -> None:
    for i in range(6):
        http_server.route(f"/h{i}", status=302, headers={"Location": f"/h{i + 1}"})
    http_server.route("/h6", body=PAGE)
    cfg = replace(FAST, max_redirects=3)
    err = fails(http_server, "/h0", client, cfg)
    assert err.code == "too_many_redirects"
    assert len(http_server.log) == 4  # the first request plus three hops


def test_redirect_to_other_scheme_is_refused(http_server: LoopbackServer,
                                             client: Session) -> None:
    http_server.route("/evil", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(BlockedURL) as blocked:  # as for media: the guard refuses the hop
        get(http_server, "/evil", client)
    assert blocked.value.code == "blocked_scheme"
    with pytest.raises(FetchError) as info:
        fetch(url_source("ftp://127.0.0.1/x.html"), client, max_bytes=1000)
    assert info.value.code == "bad_scheme"


# ── retries ────────────────────────────────────────────────────────────────


def flaky(fail: int, status: int = 503, headers: dict[str, str] | None = None,
          body: bytes = PAGE) -> object:
    """A handler that answers ``status`` ``fail`` times, then 200."""
    count = {"n": 0}
    lock = threading.Lock()

    def handler(req: BaseHTTPRequestHandler) -> None:
        with lock:
            count["n"] += 1
            n = count["n"]
        if n <= fail:
            reply(req, status, b"busy", headers)
        else:
            reply(req, 200, body, {"Content-Type": "text/html"})

    return handler


@pytest.mark.parametrize("status", [503, 500, 429, 408])
def test_transient_statuses_are_retried(http_server: LoopbackServer, client: Session,
                                        status: int) -> None:
    http_server.route("/f", handler=flaky(2, status))
    assert get(http_server, "/f", client).body == PAGE  # type: ignore[attr-defined]
    assert len(http_server.requests_to("/f")) == 3


def test_retries_stop_after_budget(http_server: LoopbackServer, client: Session) -> None:
    http_server.route("/down", status=502, body=b"bad gateway")
    err = fails(http_server, "/down", client)
    assert err.code == "http_502" and "3 attempts" in err.message
    assert len(http_server.requests_to("/down")) == FAST.retries + 1


@pytest.mark.parametrize("status", [404, 403, 410, 401])
def test_other_4xx_are_not_retried(http_server: LoopbackServer, client: Session,
                                   status: int) -> None:
    http_server.route("/gone", status=status)
    assert fails(http_server, "/gone", client).code == f"http_{status}"
    assert len(http_server.requests_to("/gone")) == 1


def test_retry_after_seconds_is_honoured(http_server: LoopbackServer,
                                         client: Session) -> None:
    http_server.route("/ra", handler=flaky(1, 503, {"Retry-After": "1"}))
    start = time.monotonic()
    get(http_server, "/ra", client)
    assert time.monotonic() - start >= 1.0
    assert len(http_server.requests_to("/ra")) == 2


def test_retry_after_http_date_is_honoured(http_server: LoopbackServer,
                                           client: Session) -> None:
    # HTTP dates have whole seconds: two seconds ahead waits between one and two.
    when = formatdate(time.time() + 2, usegmt=True)
    http_server.route("/rd", handler=flaky(1, 429, {"Retry-After": when}))
    start = time.monotonic()
    get(http_server, "/rd", client)
    assert time.monotonic() - start >= 0.9
    assert len(http_server.requests_to("/rd")) == 2


def test_retry_after_above_cap_defers_without_sleeping(http_server: LoopbackServer,
                                                       client: Session) -> None:
    http_server.route("/later", status=429, headers={"Retry-After": "86400"})
    start = time.monotonic()
    err = fails(http_server, "/later", client)
    assert time.monotonic() - start < 1.0
    assert err.code == "http_429_deferred" and "later run" in err.message
    assert len(http_server.requests_to("/later")) == 1


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(formatdate(1000.0, usegmt=True), now=990.0) == 10.0
    assert parse_retry_after(formatdate(1000.0, usegmt=True), now=2000.0) == 0.0


def truncated_once() -> object:
    count = {"n": 0}

    def handler(req: BaseHTTPRequestHandler) -> None:
        count["n"] += 1
        if count["n"] == 1:
            req.send_response(200)
            req.send_header("Content-Length", str(len(PAGE)))
            req.end_headers()
            req.wfile.write(PAGE[:10])
            req.wfile.flush()
            req.close_connection = True
        else:
            reply(req, 200, PAGE)

    return handler


def test_truncated_body_is_retried(http_server: LoopbackServer, client: Session) -> None:
    http_server.route("/cut", handler=truncated_once())
    assert get(http_server, "/cut", client).body == PAGE  # type: ignore[attr-defined]
    assert len(http_server.requests_to("/cut")) == 2


def test_timeout_is_retried_then_reported(http_server: LoopbackServer) -> None:
    def slow(req: BaseHTTPRequestHandler) -> None:
        time.sleep(0.6)
        reply(req, 200, PAGE)

    http_server.route("/slow", handler=slow)
    cfg = replace(FAST, timeout=0.2, retries=1)
    with open_session(cfg) as session:
        err = fails(http_server, "/slow", session, cfg)
    assert err.code == "timeout" and "--timeout" in err.message
    assert len(http_server.requests_to("/slow")) == 2


def test_refused_connection_is_connect_error(client: Session) -> None:
    with LoopbackServer() as gone:
        url = gone.url("/p")
    cfg = replace(FAST, retries=1)
    with pytest.raises(FetchError) as info, open_session(cfg) as session:
        fetch(url_source(url), session, max_bytes=1000)
    assert info.value.code == "connect_error" and "2 attempts" in info.value.message


# ── size caps ──────────────────────────────────────────────────────────────


def test_gzip_bomb_aborts_at_decoded_cap(http_server: LoopbackServer,
                                         client: Session) -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024**2), compresslevel=9)  # 64 MiB in ~64 KB
    assert len(bomb) < 100_000

    def send(req: BaseHTTPRequestHandler) -> None:
        # The client hangs up at the cap, as it should: a broken pipe is expected.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            reply(req, 200, bomb, {"Content-Encoding": "gzip"})

    http_server.route("/bomb", handler=send)
    cfg = replace(FAST, max_page_bytes=1024**2)
    err = fails(http_server, "/bomb", client, cfg)
    assert err.code == "too_large" and "decompression" in err.message
    assert len(http_server.requests_to("/bomb")) == 1


def test_decoder_never_holds_more_than_the_cap() -> None:
    decoder = Decoder("gzip", 1000, "http://x/")
    got: list[bytes] = []
    with pytest.raises(RemoteError) as info:
        got.extend(bytes(piece) for piece in decoder.feed(gzip.compress(b"a" * 10**7)))
    assert info.value.code == "too_large" and sum(map(len, got)) <= 1000


def test_broken_gzip_is_bad_encoding_and_trailing_junk_is_ignored(
        http_server: LoopbackServer, client: Session) -> None:
    http_server.route("/broken", body=b"\x1f\x8b\x08\x00" + b"junk" * 50,
                      headers={"Content-Encoding": "gzip"})
    http_server.route("/tail", body=gzip.compress(PAGE) + gzip.compress(b"!") + b"junk\n",
                      headers={"Content-Encoding": "gzip"})
    assert fails(http_server, "/broken", client).code == "bad_encoding"
    assert len(http_server.requests_to("/broken")) == 1
    assert get(http_server, "/tail", client).body == PAGE + b"!"  # type: ignore[attr-defined]


def test_declared_length_above_cap_is_refused(http_server: LoopbackServer,
                                              client: Session) -> None:
    http_server.route("/big", body=b"x" * 5000)
    cfg = replace(FAST, max_page_bytes=1000)
    assert fails(http_server, "/big", client, cfg).code == "too_large"


# ── per-host limit and robots ─────────────────────────────────────────────


@pytest.mark.parametrize("explicit", [True, False])
def test_per_host_cap_is_observed_by_the_server(http_server: LoopbackServer,
                                                client: Session, explicit: bool) -> None:
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def counted(req: BaseHTTPRequestHandler) -> None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        reply(req, 200, PAGE)

    http_server.route("/n", handler=counted)
    # Either a limiter handed to the session, or the session's own for cfg.per_host.
    limiter, cfg = (HostLimiter(2), FAST) if explicit else (None, replace(FAST, per_host=3))
    with Session(NetPolicy.from_config(cfg), limiter=limiter) as session, \
            ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda i: fetch(url_source(http_server.url(f"/n?{i}")), session,
                                              max_bytes=1000), range(8)))
    assert len(pages) == 8 and state["max"] == (2 if explicit else 3)


def test_host_limiter_pickles_as_a_fresh_limiter() -> None:
    limiter = HostLimiter(1)
    with limiter.slot("Example.org."):
        copy = pickle.loads(pickle.dumps(limiter))
        assert limiter.active("example.org") == 1
        assert copy.per_host == 1 and copy.active("example.org") == 0
        with copy.slot("example.org"):  # its own locks: not blocked by the original
            assert copy.active("example.org") == 1


def test_robots_disallowed_page_is_never_requested(http_server: LoopbackServer,
                                                   client: Session) -> None:
    http_server.route("/robots.txt", body=b"User-agent: *\nDisallow: /private/\n",
                      content_type="text/plain")
    http_server.route("/private/p", body=PAGE)
    http_server.route("/jump", status=302, headers={"Location": "/private/p"})
    robots = RobotsCache(client)
    assert fails(http_server, "/private/p", client, robots=robots).code == "robots_disallowed"
    assert fails(http_server, "/jump", client, robots=robots).code == "robots_disallowed"
    assert http_server.requests_to("/private/p") == []
    assert len(http_server.requests_to("/robots.txt")) == 1


# ── local files ────────────────────────────────────────────────────────────


def test_read_file_guesses_type(tmp_path: Path) -> None:
    (tmp_path / "a.jsonld").write_bytes(b'{"@type": "VideoObject"}')
    page = read_file(Source(str(tmp_path / "a.jsonld"), SourceKind.FILE), FAST.max_page_bytes)
    assert page.body == b'{"@type": "VideoObject"}' and page.url is None
    assert page.content_type == "application/ld+json" and page.ref == str(tmp_path / "a.jsonld")


@pytest.mark.parametrize(("name", "code"), [("missing.html", "not_found"), (".", "unreadable"),
                                            ("big.html", "too_large")])
def test_read_file_errors(tmp_path: Path, name: str, code: str) -> None:
    (tmp_path / "big.html").write_bytes(b"x" * 2000)
    cfg = Config(max_page_bytes=1000)
    with pytest.raises(FetchError) as info:
        read_file(Source(str(tmp_path / name), SourceKind.FILE), cfg.max_page_bytes)
    assert info.value.code == code


def test_missing_file_that_looks_like_a_host_gets_a_hint() -> None:
    with pytest.raises(FetchError) as info:
        read_file(Source("example.org/news.html", SourceKind.FILE), FAST.max_page_bytes)
    assert "https://example.org/news.html" in info.value.message

