"""harvester.measure.probe: real ffprobe on media generated here, and hostile inputs."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harvester.measure.probe import (
    ffprobe_command,
    format_probe,
    parse_probe,
    probe,
    probe_available,
    run_ffprobe,
    sniff_format,
)
from harvester.records import Probe
from tests.support.media import have_ffmpeg, make_image, make_ts_segment, make_video
from tests.support.server import LoopbackServer

needs_ffmpeg = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg/ffprobe not installed")


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not have_ffmpeg():
        pytest.skip("ffmpeg/ffprobe not installed")
    d = tmp_path_factory.mktemp("media")
    return {
        "clip": make_video(d / "clip.mp4", width=480, height=270, duration=6, audio=True),
        "phone": make_video(d / "phone.mp4", width=480, height=270, duration=2, rotate=90),
        "tall": make_video(d / "tall.mkv", width=270, height=480, duration=2),
        "jpeg": make_image(d / "thumb.jpg", width=320, height=180),
        "png": make_image(d / "thumb.png", width=160, height=90),
    }


@needs_ffmpeg
def test_video_with_audio_is_measured(media: dict[str, Path]) -> None:
    result = probe(media["clip"])
    assert result.error is None and result.available
    assert result.duration_s == pytest.approx(6.0, abs=0.2)
    assert (result.width, result.height) == (480, 270)
    assert result.codec == "h264"
    assert result.frame_rate == 25
    assert result.bit_rate is not None and result.bit_rate > 0
    assert result.has_audio is True
    assert result.format_name is not None and "mp4" in result.format_name


@needs_ffmpeg
def test_rotated_phone_clip_reports_display_size(media: dict[str, Path]) -> None:
    raw = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                          str(media["phone"])], capture_output=True, check=True).stdout
    coded = json.loads(raw)["streams"][0]
    assert (coded["width"], coded["height"]) == (480, 270)  # stored landscape ...
    result = probe(media["phone"])
    assert (result.width, result.height) == (270, 480)  # ... shown portrait
    assert result.has_audio is False


@needs_ffmpeg
def test_portrait_matroska_clip(media: dict[str, Path]) -> None:
    result = probe(media["tall"])
    assert (result.width, result.height) == (270, 480)
    assert result.duration_s == pytest.approx(2.0, abs=0.2)
    assert result.format_name == "matroska,webm"


@needs_ffmpeg
@pytest.mark.parametrize(("name", "size", "codec"), [("jpeg", (320, 180), "mjpeg"),
                                                     ("png", (160, 90), "png")])
def test_thumbnail_size(media: dict[str, Path], name: str, size: tuple[int, int],
                        codec: str) -> None:
    result = probe(media[name], kind="thumbnail")
    assert result.error is None
    assert (result.width, result.height) == size
    assert result.codec == codec
    assert result.duration_s is None and result.has_audio is None
    as_video = probe(media[name])  # a still image is only a size, whatever the caller expected
    assert (as_video.width, as_video.height, as_video.frame_rate) == (*size, None)


@pytest.mark.parametrize(("head", "fmt"), [
    (b"\x00\x00\x00\x20ftypisom", "mov"),
    (b"\x1a\x45\xdf\xa3\x01", "matroska"),
    (b"OggS\x00\x02", "ogg"),
    (b"FLV\x01\x05", "flv"),
    (b"ID3\x04\x00", "mp3"),
    (b"\xff\xfb\x90\x00", "mp3"),
    (b"\xff\xf1\x50\x80", "aac"),
    (b"\xff\xd8\xff\xe0", "jpeg_pipe"),
    (b"\x89PNG\r\n\x1a\n", "png_pipe"),
    (b"GIF89a", "gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp_pipe"),
    (b"RIFF\x00\x00\x00\x00AVI LIST", "avi"),
    ((b"\x47" + b"\x00" * 187) * 3, "mpegts"),
    (b"#EXTM3U\n#EXTINF:1,\nfile:/etc/passwd\n", None),
    (b"ffconcat version 1.0\nfile /etc/passwd\n", None),
    (b"<html><body>404</body></html>", None),
    (b"", None),
])
def test_sniff_format(head: bytes, fmt: str | None) -> None:
    assert sniff_format(head) == fmt


def test_command_forces_demuxer_and_whitelist(tmp_path: Path) -> None:
    args = ffprobe_command(tmp_path / "a.mp4", "mov", "/opt/ffprobe")
    assert args[0] == "/opt/ffprobe"
    assert args[args.index("-f") + 1] == "mov"
    assert args[args.index("-protocol_whitelist") + 1] == "file"
    assert args[-1] == f"file:{tmp_path / 'a.mp4'}"


def test_ffprobe_missing_is_reported_not_raised(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-ffprobe")
    assert probe_available(missing) is False
    result = probe(tmp_path / "x.mp4", ffprobe=missing)
    assert result == Probe(available=False, error="ffprobe_unavailable")
    assert "not installed" in format_probe("x.mp4", result)


@needs_ffmpeg
def test_unknown_format_missing_file_and_fifo(tmp_path: Path) -> None:
    text = tmp_path / "page.mp4"
    text.write_text("<html>not a video</html>")
    assert probe(text) == Probe(available=True, error="unknown_format")
    assert probe(tmp_path / "absent.mp4").error == "not_found"
    fifo = tmp_path / "fifo.mp4"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert probe(fifo, timeout=2).error == "not_a_file"  # nobody writes: must not block
    assert time.monotonic() - started < 1


@needs_ffmpeg
def test_hls_playlist_renamed_mp4_reads_nothing(tmp_path: Path) -> None:
    make_ts_segment(tmp_path / "secret.ts", duration=3)
    crafted = tmp_path / "video.mp4"
    crafted.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n"
                       f"file:{tmp_path / 'secret.ts'}\n#EXT-X-ENDLIST\n")
    # Unprotected ffprobe auto-detects HLS and measures the other file: the attack is real.
    plain = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(crafted)],
                           capture_output=True, check=True).stdout
    assert json.loads(plain)["format"]["format_name"] == "hls"
    result = probe(crafted)
    assert result.error == "unknown_format" and result.duration_s is None
    # Even forced past the sniffer as the mp4 its name claims, the mov demuxer refuses it.
    assert run_ffprobe(crafted, "mov", timeout=10) == (None, "probe_failed")


@needs_ffmpeg
def test_protocol_whitelist_keeps_ffprobe_off_the_network(tmp_path: Path) -> None:
    with LoopbackServer() as server:
        server.route("/seg.ts", body=b"\x47" * 188 * 4, content_type="video/mp2t")
        playlist = tmp_path / "net.m3u8"
        playlist.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:3\n#EXTINF:3.0,\n"
                            f"{server.url('/seg.ts')}\n#EXT-X-ENDLIST\n")
        # Force the one demuxer that follows URLs, as if sniffing had been fooled.
        assert run_ffprobe(playlist, "hls", timeout=10) == (None, "probe_failed")
        assert server.log == []


def _fake_ffprobe(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ffprobe"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


@needs_ffmpeg
def test_hanging_probe_is_killed_with_its_children(
    tmp_path: Path, media: dict[str, Path]
) -> None:
    pid_file = tmp_path / "child.pid"
    fake = _fake_ffprobe(tmp_path, f"sleep 30 &\necho $! > {pid_file}\nwait")
    started = time.monotonic()
    result = probe(media["clip"], timeout=0.5, ffprobe=fake)
    assert result == Probe(available=True, error="timeout")
    assert time.monotonic() - started < 5
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the sleeping child of the fake ffprobe survived"


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie awaiting its reaper counts as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@needs_ffmpeg
def test_garbage_ffprobe_output_is_a_failure(tmp_path: Path, media: dict[str, Path]) -> None:
    assert probe(media["clip"], ffprobe=_fake_ffprobe(tmp_path, "echo '[1,'")).error == \
        "probe_failed"


def test_parse_legacy_rotate_tag_cover_art_and_odd_values() -> None:
    data = {
        "format": {"duration": "N/A", "bit_rate": "nan", "format_name": "mov,mp4"},
        "streams": [
            {"codec_type": "video", "codec_name": "mjpeg", "width": 600, "height": 600,
             "disposition": {"attached_pic": 1}},
            {"codec_type": "video", "codec_name": "hevc", "width": 1920, "height": 1080,
             "avg_frame_rate": "0/0", "r_frame_rate": "30000/1001", "duration": "12.5",
             "tags": {"rotate": "270"}},
        ],
    }
    result = parse_probe(data)
    assert (result.width, result.height, result.codec) == (1080, 1920, "hevc")
    assert result.frame_rate == pytest.approx(29.97)
    assert result.duration_s == 12.5 and result.bit_rate is None
    assert result.has_audio is False
    assert parse_probe({"streams": "junk", "format": []}) == Probe(has_audio=False)


def test_display_matrix_180_keeps_size() -> None:
    stream = {"codec_type": "video", "width": 640, "height": 360,
              "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -180}]}
    assert parse_probe({"streams": [stream]}).width == 640


def test_format_probe_lines() -> None:
    line = format_probe("clip.mp4", Probe(duration_s=6.016, width=480, height=270, codec="h264",
                                          frame_rate=25.0, bit_rate=350_000, has_audio=True))
    assert line == "clip.mp4: 6.02 s, 480x270, h264, 25 fps, 350 kb/s, audio"
    assert format_probe("x", Probe(error="timeout")).startswith("x: error timeout (")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["video", "audio", "30000/1001", "0/0", "90", "N/A"]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["streams", "format", "codec_type", "width", "height",
                                       "side_data_list", "rotation", "tags", "rotate",
                                       "duration", "avg_frame_rate", "disposition"]),
                      inner, max_size=5),
    max_leaves=10,
)


# The machine may be busy with other suites: judge the parser, not the clock.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["streams", "format"]), _json))
def test_parse_probe_never_raises(data: dict[str, object]) -> None:
    result = parse_probe(data)
    assert result.width is None or result.width > 0
