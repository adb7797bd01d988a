"""Downloads against a real fault server: success, resume, limits, names, sniffing.

Covered here: whole and chunked bodies, resume (cut bodies, ignored or
misplaced ranges, changed validators, 416), lying lengths, compression,
byte caps, HTML and empty bodies, magic bytes, unsafe names and symlinks, and
a kill mid-download; retries, redirects, timeouts, TLS and address blocking
are in test_download_faults.py and test_netguard.py.  The test names keep
short fault ids (r03, r27 ...).  Every success checks the stored file's
sha256 against the source; every failure checks the stable code, that no
final file exists, and that no ``.part`` is left unless it can be resumed.

Every test runs twice: with bodies read through httpx (h11), and with the
direct socket read that large identity bodies take (its threshold lowered
to one byte), so both paths meet every fault.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvester.config import Config
from harvester.download import DirSync, download, result_from_error
from harvester.download.names import PartFiles, stored_name
from harvester.errors import DownloadError, NotMedia, TooLarge
from harvester.net import body as stream
from harvester.net.client import Session, open_session
from harvester.net.limiter import HostLimiter
from harvester.net.policy import NetPolicy
from harvester.records import MediaResult, MediaStatus
from tests.support.faultserver import FaultServer, Reply, mp4_body

pytestmark = pytest.mark.timeout(30)

BODY = mp4_body(256 * 1024, seed=1)
SHA = hashlib.sha256(BODY).hexdigest()
ETAG = '"v1"'


@pytest.fixture(autouse=True, params=["h11", "socket"])
def body_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "socket":
        monkeypatch.setattr(stream, "DIRECT_MIN", 1)
    return str(request.param)


def test_large_body_is_read_from_the_socket(srv: FaultServer, dest: Path,
                                            body_path: str) -> None:
    body = mp4_body(stream.DIRECT_MIN + 3 * stream.DIRECT_READ + 12345, seed=9)
    url = srv.script("/big.mp4", Reply(body=body, etag=ETAG, extra=b"X" * 5000))
    small = srv.script("/small.mp4", Reply(body=BODY))
    seen: list[int] = []
    cfg = quick()
    with open_session(cfg) as client:
        assert_stored(download(url, client, max_bytes=cfg.max_bytes, dest_dir=dest,
                               progress=seen.append), dest, body)
        assert_stored(download(small, client, max_bytes=cfg.max_bytes, dest_dir=dest), dest)
    assert sum(seen) == len(body) and len(srv.log) == 2


def test_large_body_cut_short_resumes(srv: FaultServer, dest: Path) -> None:
    body = mp4_body(stream.DIRECT_MIN + 2 * stream.DIRECT_READ, seed=10)
    cut = stream.DIRECT_MIN + 1000
    url = srv.script("/bc.mp4", Reply(body=body, etag=ETAG, cut_after=cut),
                     Reply(body=body, etag=ETAG))
    result = fetch(url, dest)
    assert_stored(result, dest, body)
    assert srv.requests_to("/bc.mp4")[1].headers["range"] == f"bytes={cut}-"


def quick(**overrides: Any) -> Config:
    base: dict[str, Any] = {"allow_private_hosts": True, "retries": 2, "backoff_base": 0.01,
                            "backoff_max": 0.05, "timeout": 2.0, "min_speed": 0}
    return Config(**{**base, **overrides})


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dl"


def fetch(url: str, dest: Path, cfg: Config | None = None, *,
          limiter: HostLimiter | None = None, **kwargs: Any) -> MediaResult:
    cfg = cfg or quick()
    with Session(NetPolicy.from_config(cfg), limiter=limiter) as session:
        return download(url, session, max_bytes=cfg.max_bytes, dest_dir=dest, **kwargs)


def assert_stored(result: MediaResult, dest: Path, body: bytes = BODY) -> None:
    sha = hashlib.sha256(body).hexdigest()
    assert result.status is MediaStatus.DOWNLOADED
    assert result.sha256 == sha and result.bytes == len(body)
    assert hashlib.sha256((dest / str(result.path)).read_bytes()).hexdigest() == sha
    assert not list(dest.glob("*.part*")), "no .part or sidecar after success"


def assert_nothing_kept(dest: Path) -> None:
    leftovers = [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []
    assert leftovers == []


def test_r01_full_body_one_request(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/v.mp4", Reply(body=BODY, etag=ETAG))
    seen: list[int] = []
    result = fetch(url, dest, progress=seen.append)
    assert_stored(result, dest)
    assert result.path == stored_name(SHA, "mp4")
    assert result.attempts == 1 and result.etag == ETAG and result.content_type == "video/mp4"
    assert len(srv.log) == 1 and srv.log[0].headers["accept-encoding"] == "identity"
    assert sum(seen) == len(BODY)


def test_r02_chunked_without_length(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/c.mp4", Reply(body=BODY, length=None, chunked=True))
    assert_stored(fetch(url, dest), dest)


def test_r03_cut_short_resumes_with_range_and_if_range(srv: FaultServer, dest: Path) -> None:
    body = mp4_body(2 * 1024 * 1024, seed=3)
    cut = len(body) * 4 // 10
    url = srv.script("/r.mp4", Reply(body=body, etag=ETAG, cut_after=cut),
                     Reply(body=body, etag=ETAG))
    result = fetch(url, dest)
    assert_stored(result, dest, body)
    second = srv.requests_to("/r.mp4")[1].headers
    assert second["range"] == f"bytes={cut}-" and second["if-range"] == ETAG
    assert result.attempts == 2


def test_r04_range_ignored_restarts_from_zero(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/n.mp4", Reply(body=BODY, etag=ETAG, cut_after=1000),
                     Reply(body=BODY, etag=ETAG, honour_range=False))
    assert_stored(fetch(url, dest), dest)
    assert srv.requests_to("/n.mp4")[1].headers["range"] == "bytes=1000-"


def test_r05_changed_resource_restarts_and_records_new_etag(
        srv: FaultServer, dest: Path) -> None:
    new = mp4_body(len(BODY), seed=99)
    url = srv.script("/e.mp4", Reply(body=BODY, etag='"old"', cut_after=5000),
                     Reply(body=new, etag='"new"'))
    result = fetch(url, dest)
    assert_stored(result, dest, new)
    assert result.etag == '"new"'
    assert srv.requests_to("/e.mp4")[1].headers["if-range"] == '"old"'


def test_r06_misplaced_content_range_discards_and_restarts(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/s.mp4", Reply(body=BODY, etag=ETAG, cut_after=3000),
                     Reply(body=BODY, etag=ETAG, range_shift=10), Reply(body=BODY, etag=ETAG))
    assert_stored(fetch(url, dest), dest)
    log = srv.requests_to("/s.mp4")
    assert log[1].headers["range"] == "bytes=3000-" and "range" not in log[2].headers


def test_r07_short_206_keeps_bytes_and_resumes_again(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/p.mp4", Reply(body=BODY, etag=ETAG, cut_after=10000),
                     Reply(body=BODY, etag=ETAG, partial_limit=20000), Reply(body=BODY, etag=ETAG))
    assert_stored(fetch(url, dest), dest)
    ranges = [r.headers.get("range") for r in srv.requests_to("/p.mp4")]
    assert ranges == [None, "bytes=10000-", "bytes=30000-"]


def plant_part(dest: Path, url: str, data: bytes, etag: str | None = ETAG) -> PartFiles:
    """What a killed run leaves behind: a .part and its sidecar."""
    dest.mkdir(parents=True, exist_ok=True)
    files = PartFiles.for_url(dest, url)
    files.part.write_bytes(data)
    files.write_sidecar(etag=etag, last_modified=None, content_type="video/mp4")
    return files


def test_r08a_complete_part_and_416_finalizes(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/f.mp4", Reply(body=BODY, etag=ETAG))
    plant_part(dest, url, BODY)
    result = fetch(url, dest)
    assert_stored(result, dest)
    assert [r.headers.get("range") for r in srv.log] == [f"bytes={len(BODY)}-"]


def test_r08b_part_larger_than_remote_restarts(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/g.mp4", Reply(body=BODY, etag=ETAG))
    plant_part(dest, url, BODY + b"junk" * 100)
    assert_stored(fetch(url, dest), dest)
    assert [r.headers.get("range") for r in srv.log] == [f"bytes={len(BODY) + 400}-", None]


def test_r35_crash_leftovers_resume_from_stored_validators(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/k.mp4", Reply(body=BODY, etag=ETAG))
    plant_part(dest, url, BODY[:100_000])
    assert not list(dest.rglob("*.mp4")), "no final file existed before completion"
    result = fetch(url, dest)
    assert_stored(result, dest)
    assert srv.log[0].headers["range"] == "bytes=100000-"
    assert srv.log[0].headers["if-range"] == ETAG and result.attempts == 1


def test_torn_sidecar_reads_as_absent_and_the_part_is_not_resumed(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/torn.mp4", Reply(body=BODY, etag=ETAG))
    files = plant_part(dest, url, BODY[:100_000])
    whole = files.sidecar.read_bytes()
    for cut in (0, 1, len(whole) // 2, len(whole) - 1):  # what a crash mid-write may leave
        files.sidecar.write_bytes(whole[:cut])
        assert files.read_sidecar() == {}
    assert_stored(fetch(url, dest), dest)
    assert "range" not in srv.log[0].headers


def test_part_without_validator_is_not_resumed(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/nv.mp4", Reply(body=BODY))
    plant_part(dest, url, b"garbage prefix", etag=None)
    assert_stored(fetch(url, dest), dest)
    assert "range" not in srv.log[0].headers


def test_r09_short_body_without_validator_fails_clean(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/t.mp4", Reply(body=BODY, cut_after=50_000))
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, quick(retries=1))
    assert info.value.code == "truncated" and info.value.attempts == 2
    assert all("range" not in r.headers for r in srv.log)
    assert_nothing_kept(dest)


def test_r09_short_body_with_validator_keeps_part_for_later(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/tv.mp4", Reply(body=BODY, etag=ETAG, cut_after=50_000),
                     Reply(status=503, content_type="text/plain"))
    with pytest.raises(DownloadError):
        fetch(url, dest, quick(retries=1))
    assert PartFiles.for_url(dest, url).part.stat().st_size == 50_000
    assert not list(dest.rglob("*.mp4"))


def test_r10_body_longer_than_length_is_cut_at_length(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/l.mp4", Reply(body=BODY, extra=b"X" * 5000))
    other = srv.script("/o.mp4", Reply(body=BODY[::-1][:1000] + BODY[:5000]))
    cfg = quick()
    with open_session(cfg) as client:
        assert_stored(download(url, client, max_bytes=cfg.max_bytes, dest_dir=dest), dest)
        with pytest.raises(NotMedia):  # the next request on the client is unaffected
            download(other, client, max_bytes=cfg.max_bytes, dest_dir=dest)
    assert len(srv.requests_to("/o.mp4")) == 1


def test_r25_gzip_media_is_decoded_and_not_resumable(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/z.mp4", Reply(body=BODY, etag=ETAG, gzip=True))
    assert_stored(fetch(url, dest), dest)


def test_r25_gzip_cut_short_leaves_no_part(srv: FaultServer, dest: Path) -> None:
    packed = len(gzip.compress(BODY, mtime=0))
    url = srv.script("/zc.mp4", Reply(body=BODY, etag=ETAG, gzip=True, cut_after=packed // 2))
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, quick(retries=1))
    assert info.value.code == "truncated"
    assert all("range" not in r.headers for r in srv.log)
    assert_nothing_kept(dest)


def test_r26_gzip_bomb_stops_at_the_byte_cap(srv: FaultServer, dest: Path) -> None:
    bomb = mp4_body(64) + bytes(50 * 1024 * 1024)
    url = srv.script("/bomb.mp4", Reply(body=bomb, gzip=True))
    with pytest.raises(TooLarge):
        fetch(url, dest, quick(max_bytes=1024 * 1024))
    assert_nothing_kept(dest)


@pytest.mark.parametrize("raw", [
    pytest.param(b"\x1f\x8b\x08\x00not really gzip at all", id="broken-gzip"),
    pytest.param(gzip.compress(BODY, mtime=0)[:-100], id="cut-gzip"),
])
def test_r27_bad_gzip_is_a_clean_error(srv: FaultServer, dest: Path, raw: bytes) -> None:
    url = srv.script("/bad.mp4", Reply(body=raw, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(DownloadError) as info:
        fetch(url, dest)
    assert info.value.code == "bad_encoding" and len(srv.log) == 1
    assert_nothing_kept(dest)


def test_r27_bytes_after_the_gzip_stream_are_ignored(srv: FaultServer, dest: Path) -> None:
    # As for pages (and as browsers do): the decoded stream is whole, the junk is not media.
    raw = gzip.compress(BODY, mtime=0) + b"trailing garbage"
    url = srv.script("/tail.mp4", Reply(body=raw, headers={"Content-Encoding": "gzip"}))
    assert_stored(fetch(url, dest), dest, BODY)


def test_r27_malformed_chunked_body(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/ch.mp4", Reply(body=b"zz\r\nnot a chunk\r\n", length=None,
                                      headers={"Transfer-Encoding": "chunked"}))
    with pytest.raises(DownloadError) as info:
        fetch(url, dest, quick(retries=0))
    assert info.value.code in ("truncated", "connection_error")
    assert_nothing_kept(dest)


def test_unknown_content_encoding_is_refused(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/br.mp4", Reply(body=BODY, headers={"Content-Encoding": "br"}))
    with pytest.raises(DownloadError) as info:
        fetch(url, dest)
    assert info.value.code == "unsupported_encoding" and len(srv.log) == 1
    assert_nothing_kept(dest)


def test_r28_announced_length_above_cap_is_skipped(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/big.mp4", Reply(body=BODY))
    with pytest.raises(TooLarge) as info:
        fetch(url, dest, quick(max_bytes=100_000))
    assert result_from_error(url, info.value).status is MediaStatus.SKIPPED
    assert info.value.code == "too_large"
    assert_nothing_kept(dest)


def test_r29_unannounced_body_past_cap_is_aborted(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/grow.mp4", Reply(body=BODY, length=None, chunked=True))
    with pytest.raises(TooLarge):
        fetch(url, dest, quick(max_bytes=100_000))
    assert_nothing_kept(dest)


@pytest.mark.parametrize(("reply", "code"), [
    pytest.param(Reply(body=b"<html>login</html>" * 50, content_type="text/html"),
                 "not_media", id="r30-html"),
    pytest.param(Reply(body=b'{"error": "nope"}', content_type="application/json"),
                 "not_media", id="r30-json"),
    pytest.param(Reply(body=b"<!doctype html><p>soft 404" * 40), "not_media", id="r31-no-ftyp"),
    pytest.param(Reply(body=b""), "empty", id="r32-empty"),
])
def test_r30_r31_r32_non_media_is_rejected(
        srv: FaultServer, dest: Path, reply: Reply, code: str) -> None:
    url = srv.script("/nm.mp4", reply)
    with pytest.raises(NotMedia) as info:
        fetch(url, dest)
    assert info.value.code == code and len(srv.log) == 1
    assert result_from_error(url, info.value).status is MediaStatus.NOT_MEDIA
    assert_nothing_kept(dest)


def test_image_is_not_a_video_and_video_is_not_a_thumbnail(srv: FaultServer, dest: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(600)
    image_url = srv.script("/i.png", Reply(body=png, content_type="image/png"))
    video_url = srv.script("/v.mp4", Reply(body=BODY))
    with pytest.raises(NotMedia):
        fetch(image_url, dest)
    with pytest.raises(NotMedia):
        fetch(video_url, dest, kind="thumbnail")
    thumb = fetch(image_url, dest, kind="thumbnail")
    assert str(thumb.path).endswith(".png") and thumb.content_type == "image/png"


@pytest.mark.parametrize("disposition", [
    'attachment; filename="../../x"', 'attachment; filename="/etc/passwd"',
    'attachment; filename="C:\\\\x.mp4"', "attachment; filename*=UTF-8''..%2F..%2Fevil",
    'attachment; filename="a\x01b.mp4"',
])
def test_r33_content_disposition_is_ignored(
        srv: FaultServer, tmp_path: Path, disposition: str) -> None:
    dest = tmp_path / "dl"
    url = srv.script("/cd", Reply(body=BODY, headers={"Content-Disposition": disposition}))
    result = fetch(url, dest)
    assert_stored(result, dest)
    assert result.path == stored_name(SHA, "mp4")
    # Beside the file, only the (empty) directory of per-URL lock files.
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["dl", SHA[:2], f"{SHA}.mp4", ".locks"])
    assert not any((dest / ".locks").iterdir())


def test_r34_symlink_at_part_is_refused(srv: FaultServer, dest: Path, tmp_path: Path) -> None:
    url = srv.script("/sym.mp4", Reply(body=BODY))
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    dest.mkdir()
    PartFiles.for_url(dest, url).part.symlink_to(victim)
    with pytest.raises(DownloadError) as info:
        fetch(url, dest)
    assert info.value.code == "unsafe_path"
    assert victim.read_bytes() == b"precious"


def test_r34_symlink_at_target_is_refused(srv: FaultServer, dest: Path, tmp_path: Path) -> None:
    url = srv.script("/sym2.mp4", Reply(body=BODY))
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = dest / stored_name(SHA, "mp4")
    target.parent.mkdir(parents=True)
    target.symlink_to(victim)
    with pytest.raises(DownloadError) as info:
        fetch(url, dest)
    assert info.value.code == "unsafe_path"
    assert victim.read_bytes() == b"precious" and target.is_symlink()


def test_same_content_via_two_urls_is_stored_once(srv: FaultServer, dest: Path) -> None:
    first = fetch(srv.script("/a.mp4", Reply(body=BODY)), dest)
    second = fetch(srv.script("/b.mp4", Reply(body=BODY)), dest)
    assert first.path == second.path
    assert [p.name for p in dest.rglob("*") if p.is_file()] == [f"{SHA}.mp4"]


def test_previous_result_is_cached_after_hashing(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/c.mp4", Reply(body=BODY))
    first = fetch(url, dest)
    again = fetch(url, dest, previous=first)
    assert again.status is MediaStatus.CACHED and again.sha256 == SHA and len(srv.log) == 1
    (dest / str(first.path)).write_bytes(b"tampered")
    redone = fetch(url, dest, previous=first)
    assert redone.status is MediaStatus.DOWNLOADED and len(srv.log) == 2
    forged = replace(first, path="../../etc/passwd")
    assert fetch(url, dest, previous=forged).status is MediaStatus.DOWNLOADED


def _damage_keeping_stamp(path: Path) -> None:
    """Flip one byte, then put the size and modification time back as they were."""
    info = path.stat()
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_unchanged_size_and_mtime_are_trusted_unread_and_verify_reads(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/t.mp4", Reply(body=BODY))
    first = fetch(url, dest)
    path = dest / str(first.path)
    assert first.mtime_ns == path.stat().st_mtime_ns and first.bytes == len(BODY)
    _damage_keeping_stamp(path)
    # Trusted without a read: the damage goes unseen (which is what proves no read).
    trusted = fetch(url, dest, previous=first)
    assert trusted.status is MediaStatus.CACHED and len(srv.log) == 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() != SHA
    # --verify reads it, finds the damage and downloads the file again.
    verified = fetch(url, dest, previous=first, verify=True)
    assert verified.status is MediaStatus.DOWNLOADED and len(srv.log) == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA
    assert verified.mtime_ns == path.stat().st_mtime_ns


def test_a_new_mtime_is_read_again_and_recorded(srv: FaultServer, dest: Path) -> None:
    url = srv.script("/u.mp4", Reply(body=BODY))
    first = fetch(url, dest)
    path = dest / str(first.path)
    assert first.mtime_ns is not None
    later = first.mtime_ns + 10**9
    os.utime(path, ns=(later, later))  # touched: same bytes, so cached after a read
    again = fetch(url, dest, previous=first)
    assert again.status is MediaStatus.CACHED and again.mtime_ns == later
    assert len(srv.log) == 1
    _damage_keeping_stamp(path)
    path.touch()  # damaged and written: a new time, so read and downloaded again
    assert fetch(url, dest, previous=again).status is MediaStatus.DOWNLOADED
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA


def test_with_dirsync_the_name_waits_for_one_flush(srv: FaultServer, dest: Path) -> None:
    dirsync = DirSync()
    results = [fetch(srv.script(f"/d{i}.mp4", Reply(body=mp4_body(4096, seed=i))), dest,
                     dirsync=dirsync) for i in range(6)]
    subdirs = {dest / str(r.path).split("/")[0] for r in results}
    assert dirsync.waiting() == subdirs and dirsync.fsyncs == 0
    dirsync.flush()
    assert dirsync.waiting() == frozenset() and dirsync.fsyncs == len(subdirs)
    dirsync.flush()  # nothing new: no fsync
    assert dirsync.fsyncs == len(subdirs)


def test_dirsync_flush_returns_only_once_its_directories_are_synced(tmp_path: Path) -> None:
    dirsync = DirSync()
    dirs = [tmp_path / f"d{i}" for i in range(40)]
    for directory in dirs:
        directory.mkdir()
    problems: list[str] = []

    def worker(mine: list[Path]) -> None:
        for directory in mine:
            dirsync.add(directory)
            dirsync.flush()
            if directory in dirsync.waiting():
                problems.append(f"{directory} not durable after flush")

    threads = [threading.Thread(target=worker, args=(dirs[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == [] and dirsync.waiting() == frozenset()
    assert dirsync.fsyncs <= len(dirs)


def test_every_known_format_is_sniffed(srv: FaultServer, dest: Path) -> None:
    samples = {"webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "ogg": b"OggS\x00\x02",
               "flv": b"FLV\x01\x05", "mp3": b"ID3\x04\x00", "ts": b"\x47" + bytes(187) + b"\x47",
               "jpg": b"\xff\xd8\xff\xe0", "gif": b"GIF89a", "webp": b"RIFF\x00\x00\x00\x00WEBP",
               "avif": b"\x00\x00\x00\x1cftypavif"}
    for ext, head in samples.items():
        body = head + bytes(1000)
        kind = "thumbnail" if ext in ("jpg", "gif", "webp", "avif") else "video"
        result = fetch(srv.script(f"/s.{ext}", Reply(body=body, content_type=None)), dest,
                       kind=kind)
        assert str(result.path).endswith(f".{ext}"), ext


def test_media_requests_ask_for_identity_without_env_or_auto_redirects(
        srv: FaultServer, dest: Path) -> None:
    url = srv.script("/id.mp4", Reply(body=BODY))
    with open_session(quick()) as session:
        client = session.client
        assert client.follow_redirects is False and client.trust_env is False
        assert isinstance(client.timeout, httpx.Timeout) and client.timeout.pool is None
        download(url, session, max_bytes=10**9, dest_dir=dest)
    assert srv.log[0].headers["accept-encoding"] == "identity"
