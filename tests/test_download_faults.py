"""Retries, redirects, timeouts, TLS, address blocking and concurrency of downloads.

Covered here: Retry-After in both forms, deferral with the host cooled down,
429 backoff with the per-host limit halved, 5xx within the budget, final 4xx,
refused connections and names that do not resolve, untrusted TLS, silent and
trickling servers, redirect loops and other schemes, internal addresses at
connect time (127.0.0.2 stands in for an internal host) and rebinding, and
more downloads than connections.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import trustme

from harvester.config import Config
from harvester.download import COOLING, download, result_from_error
from harvester.errors import BlockedURL, DownloadError
from harvester.net.client import Session, open_session
from harvester.net.limiter import HostLimiter
from harvester.net.policy import NetPolicy
from harvester.records import MediaStatus
from tests.support.faultserver import FaultServer, Reply, mp4_body, redirect
from tests.test_download import assert_nothing_kept, assert_stored, fetch, quick

pytestmark = pytest.mark.timeout(30)

BODY = mp4_body(64 * 1024, seed=7)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dl"


def expect_failure(url: str, dest: Path, cfg: Config, code: str) -> DownloadError:
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, cfg)
    assert info.value.code == code
    assert_nothing_kept(dest)
    return info.value


def test_r11_retry_after_seconds_is_honoured(srv: FaultServer, dest: Path) -> None:
    busy = Reply(status=503, content_type="text/plain", headers={"Retry-After": "1"})
    url = srv.script("/ra", busy, busy, Reply(body=BODY))
    result = fetch(url, dest, quick(retries=3))
    assert_stored(result, dest, BODY)
    times = [r.at for r in srv.log]
    assert result.attempts == 3
    assert times[1] - times[0] >= 1.0 and times[2] - times[1] >= 1.0


def test_r12_retry_after_http_date_is_honoured(srv: FaultServer, dest: Path) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    url = srv.script("/rd", Reply(status=503, content_type=None, headers={"Retry-After": when}),
                     Reply(body=BODY))
    assert_stored(fetch(url, dest), dest, BODY)
    gap = srv.log[1].at - srv.log[0].at
    assert 1.5 <= gap <= 4.5


def test_r13_retry_after_above_cap_defers_without_sleeping(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/late", Reply(status=429, content_type=None,
                                    headers={"Retry-After": "86400"}))
    started = time.monotonic()
    error = expect_failure(url, dest, quick(retries=3, retry_after_cap=300.0),
                           "http_429_deferred")
    assert time.monotonic() - started < 1.0 and len(srv.log) == 1
    result = result_from_error(url, error)
    assert result.status is MediaStatus.DEFERRED and result.attempts == 1


@pytest.mark.parametrize("status", [429, 503])
def test_r13_deferral_cools_the_host_for_the_rest_of_the_run(
        srv: FaultServer, dest: Path, status: int) -> None:
    first = srv.script("/first.mp4", Reply(status=status, content_type=None,
                                           headers={"Retry-After": "86400"}))
    second = srv.script("/second.mp4", Reply(body=BODY))
    cfg = quick(retries=3, retry_after_cap=300.0)
    limiter = HostLimiter(cfg.per_host)
    errors = []
    started = time.monotonic()
    with Session(NetPolicy.from_config(cfg), limiter=limiter) as client:
        for url in (first, second):
            with pytest.raises(DownloadError) as info:
                download(url, client, max_bytes=cfg.max_bytes, dest_dir=dest)
            errors.append(info.value)
    assert time.monotonic() - started < 1.0
    assert [e.code for e in errors] == [f"http_{status}_deferred", COOLING]
    assert [r.path for r in srv.log] == ["/first.mp4"]  # the second was never asked
    deferred = result_from_error(second, errors[1])
    assert deferred.status is MediaStatus.DEFERRED and deferred.attempts == 0
    cooling = limiter.cooling("127.0.0.1")
    assert cooling is not None and 86000 < cooling <= 86400
    assert_nothing_kept(dest)


def test_r13_a_retry_after_within_the_cap_does_not_cool_the_host(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/soon", Reply(status=503, content_type=None, headers={"Retry-After": "0"}),
                     Reply(body=BODY))
    limiter = HostLimiter(2)
    assert_stored(fetch(url, dest, quick(), limiter=limiter), dest, BODY)
    assert limiter.cooling("127.0.0.1") is None and limiter.limit("127.0.0.1") == 2


def test_r14_429_without_retry_after_backs_off_exponentially(
        srv: FaultServer, dest: Path) -> None:
    slow_down = Reply(status=429, content_type=None)
    url = srv.script("/429", slow_down, slow_down, slow_down, Reply(body=BODY))
    limiter = HostLimiter(4)
    result = fetch(url, dest, quick(retries=3, backoff_base=0.1, backoff_max=10.0),
                   limiter=limiter)
    assert_stored(result, dest, BODY)
    gaps = [b.at - a.at for a, b in zip(srv.log, srv.log[1:], strict=False)]
    assert result.attempts == 4 and len(gaps) == 3
    # Jittered within [ceiling/2, ceiling] for ceilings 0.1, 0.2, 0.4 s.
    assert gaps[0] >= 0.05 and gaps[2] >= 0.2 and gaps[2] > gaps[0]
    assert limiter.limit("127.0.0.1") == 1  # 4 -> 2 -> 1 -> 1
    assert limiter.cooling("127.0.0.1") is None


def test_r14_reduced_limit_holds_for_later_downloads(srv: FaultServer, dest: Path) -> None:
    urls = [srv.script(f"/t{i}.mp4", Reply(body=mp4_body(8000, seed=i), trickle=(2000, 0.05)))
            for i in range(6)]
    cfg = quick(concurrency=4, per_host=4, timeout=5.0)
    limiter = HostLimiter(cfg.per_host)
    limiter.reduce("127.0.0.1")
    with Session(NetPolicy.from_config(cfg), limiter=limiter) as client, \
            ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda u: download(u, client, max_bytes=cfg.max_bytes,
                                                   dest_dir=dest),
                                urls))
    assert all(r.status is MediaStatus.DOWNLOADED for r in results)
    assert srv.peak == 2 and len(srv.log) == 6


def test_r15_server_errors_then_success_counts_attempts(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/5xx", *(Reply(status=s, content_type=None) for s in (500, 502, 504)),
                     Reply(body=BODY))
    result = fetch(url, dest, quick(retries=3))
    assert_stored(result, dest, BODY)
    assert result.attempts == 4


def test_retry_budget_is_bounded(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/down", Reply(status=503, content_type=None))
    error = expect_failure(url, dest, quick(retries=2), "http_503")
    assert error.attempts == 3 and len(srv.log) == 3
    assert result_from_error(url, error).status is MediaStatus.FAILED


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_r16_permanent_statuses_are_not_retried(
        srv: FaultServer, dest: Path, status: int) -> None:
    url = srv.script("/gone", Reply(status=status, content_type="text/html", body=b"no"))
    error = expect_failure(url, dest, quick(retries=3), f"http_{status}")
    assert error.attempts == 1 and len(srv.log) == 1


def test_r17_connection_refused_is_retried_then_fails(dest: Path) -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/v.mp4"
        error = expect_failure(url, dest, quick(retries=2), "connect_error")
    assert error.attempts == 3


def test_r17_unresolvable_host_is_retried_then_fails(dest: Path) -> None:
    calls: list[str] = []

    def nxdomain(host: str, port: int) -> list[str]:
        calls.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    cfg = quick(retries=1)
    client = Session(NetPolicy.from_config(cfg), resolver=nxdomain)
    with client, pytest.raises(DownloadError) as info:
        download("http://media.invalid/v.mp4", client, max_bytes=cfg.max_bytes, dest_dir=dest)
    # A name that does not resolve is final: asking again would not make it exist.
    assert info.value.code == "dns_error" and info.value.attempts == 1
    assert calls == ["media.invalid"]


def test_r18_untrusted_certificate_is_tls_verify_without_retry(dest: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with FaultServer(ssl_context=context) as tls:
        url = tls.script("/v.mp4", Reply(body=BODY))
        error = expect_failure(url, dest, quick(retries=3), "tls_verify")
        assert error.attempts == 1 and tls.log == []


def test_trusted_certificate_downloads(dest: Path) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    cfg = quick()
    with FaultServer(ssl_context=context) as tls:
        url = tls.script("/v.mp4", Reply(body=BODY))
        with Session(NetPolicy.from_config(cfg), verify=client_context) as client:
            assert_stored(download(url, client, max_bytes=cfg.max_bytes, dest_dir=dest), dest, BODY)


def test_r19_no_headers_times_out_and_retries(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/idle", Reply(hang=10))
    error = expect_failure(url, dest, quick(retries=1, timeout=0.3), "timeout")
    assert error.attempts == 2 and len(srv.log) == 2


def test_r20_trickle_trips_the_speed_watchdog(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/drip", Reply(body=BODY, trickle=(16, 0.05)))
    started = time.monotonic()
    error = expect_failure(url, dest, quick(retries=1, min_speed=2000, min_speed_window=0.5),
                           "too_slow")
    assert error.attempts == 2 and time.monotonic() - started < 5


def test_r20_trickle_hits_the_overall_deadline(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/drip2", Reply(body=BODY, trickle=(16, 0.05)))
    error = expect_failure(url, dest, quick(retries=0, deadline=0.6), "timeout")
    assert error.attempts == 1


def test_r21_redirect_loop_is_not_retried(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/a", redirect("/a"))
    error = expect_failure(url, dest, quick(retries=3), "too_many_redirects")
    assert error.attempts == 1 and len(srv.log) == 1


def test_r21_redirect_chain_longer_than_the_limit(srv: FaultServer, dest: Path) -> None:
    for hop in range(6):
        srv.script(f"/r{hop}", redirect(f"/r{hop + 1}"))
    expect_failure(srv.url("/r0"), dest, quick(max_redirects=3), "too_many_redirects")
    assert [r.path for r in srv.log] == ["/r0", "/r1", "/r2", "/r3"]


def test_redirects_within_the_limit_are_followed(srv: FaultServer, dest: Path) -> None:
    srv.script("/x", redirect("/y", 301))
    srv.script("/y", redirect(srv.url("/z"), 307))
    srv.script("/z", Reply(body=BODY))
    assert_stored(fetch(srv.url("/x"), dest), dest, BODY)


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/x.mp4",
                                    "gopher://127.0.0.1:70/_x", "data:video/mp4;base64,AAAA"])
def test_r22_redirect_to_other_schemes_is_refused(
        srv: FaultServer, dest: Path, target: str) -> None:
    url = srv.script("/hop", redirect(target))
    with pytest.raises(BlockedURL) as info:
        fetch(url, dest)
    # httpx itself refuses to parse a data: Location, so that hop never reaches our check.
    assert info.value.code in ("blocked_scheme", "bad_redirect") and len(srv.log) == 1
    assert result_from_error(url, info.value).status is MediaStatus.BLOCKED
    assert_nothing_kept(dest)


def test_r22_other_schemes_are_refused_up_front(dest: Path) -> None:
    with pytest.raises(BlockedURL):
        fetch("file:///etc/passwd", dest)


@pytest.fixture
def internal() -> Iterator[FaultServer]:
    """A server on 127.0.0.2, standing in for an internal host."""
    with FaultServer(host="127.0.0.2") as server:
        server.script("/v.mp4", Reply(body=BODY))
        yield server


def test_r23_internal_literal_is_blocked(internal: FaultServer, dest: Path) -> None:
    with pytest.raises(BlockedURL) as info:
        fetch(internal.url("/v.mp4"), dest, quick(allow_private_hosts=False))
    assert info.value.code == "private_address" and internal.log == []


def test_r23_numeric_spelling_of_loopback_is_blocked(srv: FaultServer, dest: Path) -> None:
    # 2130706433 is 127.0.0.1 spelled as one number; the same check runs on every hop.
    cfg = quick(allow_private_hosts=False)
    with open_session(cfg) as client, pytest.raises(BlockedURL):
        download(f"http://2130706433:{srv.port}/v.mp4", client, max_bytes=cfg.max_bytes,
                 dest_dir=dest)
    assert srv.log == []


def name_to(address: str, cfg: Config) -> Session:
    """A session whose resolver sends every name to ``address`` (no DNS traffic)."""
    return Session(NetPolicy.from_config(cfg), resolver=lambda host, port: [address])


def test_r24_name_resolving_internal_is_blocked_at_connect(
        internal: FaultServer, dest: Path) -> None:
    url = f"http://media.example:{internal.port}/v.mp4"
    cfg = quick(allow_private_hosts=False)
    with name_to("127.0.0.2", cfg) as client, \
            pytest.raises(BlockedURL) as info:
        download(url, client, max_bytes=cfg.max_bytes, dest_dir=dest)
    assert "127.0.0.2" in info.value.message and internal.log == []
    assert info.value.url == url


def test_allow_private_connects_to_the_checked_address(
        internal: FaultServer, dest: Path) -> None:
    seen: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        seen.append(host)
        return ["127.0.0.2"]

    url = f"http://media.example:{internal.port}/v.mp4"
    with Session(NetPolicy.from_config(quick()), resolver=resolver) as client:
        assert_stored(download(url, client, max_bytes=quick().max_bytes, dest_dir=dest), dest, BODY)
    assert seen == ["media.example"]
    assert internal.log[0].headers["host"] == f"media.example:{internal.port}"


def test_r41_more_downloads_than_connections_queue(srv: FaultServer, dest: Path) -> None:
    urls = [srv.script(f"/q{i}.mp4", Reply(body=mp4_body(8000, seed=i), trickle=(2000, 0.05)))
            for i in range(12)]
    cfg = quick(concurrency=2, per_host=2, timeout=5.0)
    with open_session(cfg) as client, ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda u: download(u, client, max_bytes=cfg.max_bytes,
                                                   dest_dir=dest),
                                urls))
    assert all(r.status is MediaStatus.DOWNLOADED for r in results)
    assert srv.peak <= 2 and len(srv.log) == 12


def test_progress_is_reported_from_worker_threads(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/pg.mp4", Reply(body=BODY, etag='"p"', cut_after=10_000),
                     Reply(body=BODY, etag='"p"', honour_range=False))
    total: list[int] = []
    lock = threading.Lock()

    def on_bytes(n: int) -> None:
        with lock:
            total.append(n)

    assert_stored(fetch(url, dest, progress=on_bytes), dest, BODY)
    assert sum(total) == len(BODY) and min(total) < 0  # the restart took bytes back
