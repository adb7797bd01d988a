"""Streams under faults: each part goes through the network layer, and every stream
ends with a status and a reason, never a hang or a half-made MP4."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.config import Config
from harvester.net.client import open_session
from harvester.pipeline.media import Fetcher
from harvester.records import MediaResult, MediaStatus
from harvester.stream import hls as hls_module
from tests.support.faultserver import FaultServer, Reply
from tests.support.media import have_ffmpeg
from tests.support.streams import Streams, media_playlist

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")]

SEGMENTS = [f"seg{i}.ts" for i in range(3)]
TS = "video/mp2t"
M3U8 = "application/vnd.apple.mpegurl"


@pytest.fixture
def internal() -> Iterator[FaultServer]:
    """127.0.0.2 stands in for an internal host; it must never be asked anything."""
    with FaultServer(host="127.0.0.2") as server:
        server.script("/seg1.ts", Reply(body=b"\x47" * 188 * 4, content_type=TS))
        yield server


def segments(streams: Streams) -> list[bytes]:
    return [streams.read(f"hls/v0/{name}") for name in SEGMENTS]


def serve(srv: FaultServer, streams: Streams, faults: dict[int, list[Reply]] | None = None,
          names: list[str] | None = None, *, header: str = "", end: bool = True) -> str:
    """A playlist of the three 640x360 segments; ``faults[i]`` replies first for segment i."""
    bodies = segments(streams)
    for i, body in enumerate(bodies):
        replies = [*(faults or {}).get(i, []), Reply(body=body, content_type=TS)]
        srv.script(f"/s/{SEGMENTS[i]}", *replies)
    playlist = media_playlist(names or SEGMENTS, header=header, end=end)
    return srv.script("/s/index.m3u8", Reply(body=playlist, content_type=M3U8))


def fetch(url: str, tmp_path: Path, **options: Any) -> MediaResult:
    """One contentUrl through the media stage, as a run fetches it."""
    base: dict[str, Any] = {"allow_hosts": ("127.0.0.1",), "retries": 2, "download": True,
                            "backoff_base": 0.01, "backoff_max": 0.05, "timeout": 5.0,
                            "min_speed": 0}
    cfg = Config(**{**base, **options})
    with open_session(cfg) as session:
        return Fetcher(cfg, session, tmp_path / "dl").fetch(url, "video")


def final_files(tmp_path: Path) -> list[Path]:
    """Files kept as downloads (the per-stream work directory is not one)."""
    root = tmp_path / "dl"
    return [p for p in root.rglob("*") if p.is_file() and ".streams" not in p.parts]


def test_503_with_retry_after_on_a_segment_is_waited_for(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    busy = Reply(status=503, content_type="text/plain", headers={"Retry-After": "1"})
    url = serve(srv, streams, {1: [busy]})
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.DOWNLOADED, result.error
    asked = srv.requests_to("/s/seg1.ts")
    assert len(asked) == 2 and asked[1].at - asked[0].at >= 1.0
    assert result.attempts == 1 + 1 + 2 + 1  # playlist, seg0, seg1 twice, seg2


def test_a_segment_dropped_half_way_is_fetched_again(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    body = segments(streams)[2]
    url = serve(srv, streams, {2: [Reply(body=body, content_type=TS,
                                               cut_after=len(body) // 2)]})
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.DOWNLOADED, result.error
    assert len(srv.requests_to("/s/seg2.ts")) == 2
    assert result.bytes and result.path and (tmp_path / "dl" / result.path).is_file()


def test_a_missing_segment_fails_the_stream_and_names_it(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    gone = Reply(status=404, content_type="text/plain", body=b"gone")
    url = serve(srv, streams, {1: [gone]})
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.FAILED and result.error is not None
    assert result.error.code == "http_404"
    assert "segment 2 of 3" in result.error.message and "/s/seg1.ts" in result.error.message
    assert final_files(tmp_path) == []  # no MP4 made of two thirds of a stream
    assert result.stream is not None and result.stream.value == "hls"


def test_a_rerun_fetches_only_the_segments_it_lacks(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    gone = Reply(status=404, content_type="text/plain", body=b"gone")
    url = serve(srv, streams, {1: [gone]})
    assert fetch(url, tmp_path, retries=0).status is MediaStatus.FAILED
    done_before = {s: len(srv.requests_to(f"/s/{s}")) for s in SEGMENTS}
    result = fetch(url, tmp_path, retries=0)
    assert result.status is MediaStatus.DOWNLOADED, result.error
    again = {s: len(srv.requests_to(f"/s/{s}")) - done_before[s] for s in SEGMENTS}
    assert again == {"seg0.ts": 0, "seg1.ts": 1, "seg2.ts": 0}
    assert not any((tmp_path / "dl" / ".streams").iterdir())


def test_a_segment_on_an_internal_host_is_blocked_before_any_request(
        srv: FaultServer, internal: FaultServer, streams: Streams,
        tmp_path: Path) -> None:
    url = serve(srv, streams, names=["seg0.ts", internal.url("/seg1.ts"), "seg2.ts"])
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.BLOCKED and result.error is not None
    assert result.error.code == "private_address"
    assert "segment 2 of 3" in result.error.message
    assert internal.log == []
    assert [r.path for r in srv.log] == ["/s/index.m3u8"]  # no segment fetched at all


def test_a_file_segment_is_refused(srv: FaultServer, streams: Streams,
                                   tmp_path: Path) -> None:
    url = serve(srv, streams, names=["seg0.ts", "file:///etc/passwd"])
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.BLOCKED and result.error is not None
    assert result.error.code == "blocked_scheme"
    assert final_files(tmp_path) == []


def test_a_file_key_is_refused(srv: FaultServer, streams: Streams,
                               tmp_path: Path) -> None:
    key = '#EXT-X-KEY:METHOD=AES-128,URI="file:///etc/hostname"'
    result = fetch(serve(srv, streams, header=key), tmp_path)
    assert result.status is MediaStatus.BLOCKED and result.error is not None
    assert result.error.code == "blocked_scheme" and "key of segment 1" in result.error.message


def test_fairplay_drm_is_protected(srv: FaultServer, streams: Streams,
                                   tmp_path: Path) -> None:
    drm = ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key-id",'
           'KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"')
    result = fetch(serve(srv, streams, header=drm), tmp_path)
    assert result.status is MediaStatus.PROTECTED and result.error is not None
    assert result.error.code == "drm"
    assert result.probe is not None and result.probe.duration_s == 6.0
    assert [r.path for r in srv.log] == ["/s/index.m3u8"]


def test_dash_content_protection_is_protected(srv: FaultServer, streams: Streams,
                                              tmp_path: Path) -> None:
    mpd = streams.read("dash/manifest.mpd").replace(
        b"<Representation", b'<ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011"'
        b' value="cenc"/><Representation', 1)
    url = srv.script("/d/manifest.mpd", Reply(body=mpd, content_type="application/dash+xml"))
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.PROTECTED
    assert result.variants and result.variants[0].width == 640
    assert [r.path for r in srv.log] == ["/d/manifest.mpd"]


def test_a_live_playlist_is_measured_not_fetched(srv: FaultServer, streams: Streams,
                                                 tmp_path: Path) -> None:
    result = fetch(serve(srv, streams, end=False), tmp_path)
    assert result.status is MediaStatus.LIVE and result.error is not None
    assert result.error.code == "live_stream"
    assert result.probe is not None and result.probe.duration_s is None
    assert [r.path for r in srv.log] == ["/s/index.m3u8"]


def test_a_dynamic_dash_manifest_is_live(srv: FaultServer, streams: Streams,
                                         tmp_path: Path) -> None:
    mpd = streams.read("dash/manifest.mpd").replace(b'type="static"', b'type="dynamic"')
    url = srv.script("/d/live.mpd", Reply(body=mpd, content_type="application/dash+xml"))
    assert fetch(url, tmp_path, measure=True, download=False).status is MediaStatus.LIVE


def test_a_playlist_that_includes_itself_is_refused(srv: FaultServer, tmp_path: Path) -> None:
    master = (b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,RESOLUTION=640x360\n"
              b"loop.m3u8\n")
    url = srv.script("/loop.m3u8", Reply(body=master, content_type=M3U8))
    result = fetch(url, tmp_path)
    assert result.status is MediaStatus.FAILED and result.error is not None
    assert result.error.code == "playlist_loop"
    assert len(srv.requests_to("/loop.m3u8")) == 1


def test_masters_nested_too_deep_are_refused(srv: FaultServer, tmp_path: Path) -> None:
    for depth in range(6):
        body = (f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nm{depth + 1}.m3u8\n").encode()
        srv.script(f"/m{depth}.m3u8", Reply(body=body, content_type=M3U8))
    result = fetch(srv.url("/m0.m3u8"), tmp_path)
    assert result.error is not None and result.error.code == "playlist_too_deep"
    assert len(srv.log) == 3


def test_too_many_segments_are_refused(srv: FaultServer, streams: Streams,
                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hls_module, "MAX_SEGMENTS", 2)
    result = fetch(serve(srv, streams), tmp_path)
    assert result.error is not None and result.error.code == "too_many_segments"
    assert [r.path for r in srv.log] == ["/s/index.m3u8"]


def test_the_byte_cap_covers_all_segments(srv: FaultServer, streams: Streams,
                                          tmp_path: Path) -> None:
    cap = sum(len(b) for b in segments(streams)) - 1
    result = fetch(serve(srv, streams), tmp_path, max_bytes=cap)
    assert result.status is MediaStatus.SKIPPED and result.error is not None
    assert result.error.code == "too_large"
    assert final_files(tmp_path) == []


def test_an_iv_that_is_not_hex_is_refused(srv: FaultServer, streams: Streams,
                                          tmp_path: Path) -> None:
    key = f'#EXT-X-KEY:METHOD=AES-128,URI="{srv.url("/k.bin")}",IV=0x"zz'
    result = fetch(serve(srv, streams, header=key), tmp_path)
    assert result.status is MediaStatus.FAILED and result.error is not None
    assert result.error.code == "bad_playlist"
    assert [r.path for r in srv.log] == ["/s/index.m3u8"]


def test_an_empty_playlist_is_refused(srv: FaultServer, tmp_path: Path) -> None:
    url = srv.script("/empty.m3u8", Reply(body=media_playlist([]), content_type=M3U8))
    result = fetch(url, tmp_path)
    assert result.error is not None and result.error.code == "bad_playlist"


def test_segments_come_a_few_at_a_time_within_the_per_host_limit(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    slow = {i: [Reply(body=body, content_type=TS, trickle=(len(body) // 4 + 1, 0.05))]
            for i, body in enumerate(segments(streams))}
    result = fetch(serve(srv, streams, slow), tmp_path, per_host=2)
    assert result.status is MediaStatus.DOWNLOADED, result.error
    assert srv.peak == 2  # two segments in flight at once, never three
