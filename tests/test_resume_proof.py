"""A resumed download appends a 206 only when it proves the same resource and range;
every other answer restarts from byte 0 and the file ends byte-exact.  Odd headers
(non-ASCII digits, huge values, negatives, repeats) are refused, never trusted."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from harvester.download.names import PartFiles
from harvester.errors import DownloadError
from harvester.net.policy import parse_count, parse_retry_after
from harvester.records import MediaStatus
from tests.support.faultserver import FaultServer, Reply, mp4_body
from tests.test_download import assert_stored, fetch

pytestmark = pytest.mark.timeout(30)

OLD = mp4_body(200 * 1024, seed=21)
NEW = mp4_body(200 * 1024, seed=22)
LONGER = mp4_body(300 * 1024, seed=23)
CUT = 70_000
DAY1 = "Mon, 01 Jan 2024 00:00:00 GMT"
DAY2 = "Tue, 02 Jan 2024 00:00:00 GMT"


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dl"


def _restarted(srv: FaultServer, path: str) -> None:
    """The second request resumed, and a later one asked for the whole body again."""
    ranges = [r.headers.get("range") for r in srv.requests_to(path)]
    assert ranges[1] == f"bytes={CUT}-"
    assert None in ranges[2:], ranges


@pytest.mark.parametrize("name, first, second, body", [
    ("etag", Reply(body=OLD, etag='"a"', cut_after=CUT),
     Reply(body=NEW, etag='"b"', ignore_if_range=True), NEW),
    ("last-modified", Reply(body=OLD, last_modified=DAY1, cut_after=CUT),
     Reply(body=NEW, last_modified=DAY2, ignore_if_range=True), NEW),
    ("start", Reply(body=OLD, etag='"a"', cut_after=CUT),
     Reply(body=OLD, etag='"a"', range_shift=-100), OLD),
    ("total", Reply(body=OLD, etag='"a"', cut_after=CUT),
     Reply(body=LONGER, etag='"a"'), LONGER),
    ("200", Reply(body=OLD, etag='"a"', cut_after=CUT),
     Reply(body=NEW, etag='"a"', honour_range=False), NEW),
])
def test_an_unproven_206_restarts_from_zero_and_ends_byte_exact(
        srv: FaultServer, dest: Path, name: str, first: Reply, second: Reply,
        body: bytes) -> None:
    path = f"/{name}.mp4"
    last = Reply(body=body, etag=second.etag, last_modified=second.last_modified)
    url = srv.script(path, first, second, last)
    result = fetch(url, dest)
    assert_stored(result, dest, body)
    if name == "200":
        assert len(srv.requests_to(path)) == 2  # the 200's body is the whole file
    else:
        _restarted(srv, path)


def test_a_206_that_repeats_its_validators_is_appended(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/same.mp4", Reply(body=OLD, etag='"a"', last_modified=DAY1, cut_after=CUT),
                     Reply(body=OLD, etag='"a"', last_modified=DAY1))
    assert_stored(fetch(url, dest), dest, OLD)
    assert len(srv.requests_to("/same.mp4")) == 2


@pytest.mark.parametrize("value", ["٣٠٠", "9" * 400, "-5", "1e3", "0x10", "12 34", ""])
def test_odd_content_lengths_are_not_believed(value: str) -> None:
    assert parse_count(value) is None


@pytest.mark.parametrize(("value", "seconds"), [
    ("٣", None), ("9" * 5000, 365 * 86400.0), ("-5", None), ("120", 120.0),
    ("1" + "0" * 30, 365 * 86400.0),
])
def test_odd_retry_afters_are_bounded(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


@pytest.mark.parametrize("headers", [
    [("Content-Length", "9" * 400)],
    [("Content-Length", "٣٠٠")],
    [("Content-Length", "-5")],
    [("Content-Length", str(len(OLD))), ("Content-Length", "10")],
    [("ETag", '"\u00e9t\u00e9"'), ("Last-Modified", "x" * 5000)],
    [("Content-Type", "video/mp4; charset=\u0663"), ("Content-Range", "bytes 0-1/" + "9" * 99)],
], ids=["huge-length", "arabic-digits", "negative", "repeated", "non-ascii-validators",
        "odd-type-and-range"])
def test_a_download_with_odd_headers_is_right_or_a_named_failure(
        srv: FaultServer, dest: Path, headers: list[tuple[str, str]]) -> None:
    url = srv.script("/odd.mp4", Reply(body=OLD, length=None, raw_headers=headers))
    try:
        result = fetch(url, dest)
    except DownloadError as exc:  # the HTTP parser refuses broken framing: a named error
        assert exc.code and not list(dest.rglob("*.mp4"))
        return
    assert result.status is MediaStatus.DOWNLOADED, result.error
    assert hashlib.sha256((dest / str(result.path)).read_bytes()).hexdigest() == (
        hashlib.sha256(OLD).hexdigest())


def test_a_non_ascii_validator_is_never_sent_back(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/na.mp4", Reply(body=OLD, cut_after=CUT, raw_headers=[("ETag", '"\u00e9"')]),
                     Reply(body=OLD))
    result = fetch(url, dest)
    assert_stored(result, dest, OLD)
    assert all("if-range" not in r.headers for r in srv.requests_to("/na.mp4"))
    assert not PartFiles.for_url(dest, url).part.exists()
