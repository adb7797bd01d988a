"""HLS and DASH contentUrls: measured from their playlists, downloaded and remuxed to MP4.

The streams are real (ffmpeg's hls and dash muxers, see tests/support/streams.py),
made once a session and served from a loopback server on 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harvester import harvest
from harvester.cli import cli
from harvester.config import Config, load_config
from harvester.download.sniff import playlist_kind
from harvester.errors import ConfigError
from harvester.measure.probe import probe
from harvester.records import Variant
from harvester.store.manifest import Manifest, manifest_problems
from harvester.store.report import render_report
from harvester.store.state import State
from harvester.stream.dash import parse_dash
from harvester.stream.model import Master, Rendition
from harvester.stream.remux import remux_command
from harvester.stream.resolve import choose
from tests.support.faultserver import FaultServer, Reply
from tests.support.media import have_ffmpeg
from tests.support.streams import DURATION, Streams, serve_tree

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg is not installed")]


@pytest.fixture
def srv(streams: Streams) -> Iterator[FaultServer]:
    with FaultServer() as server:
        serve_tree(server, streams.root)
        yield server


def page(srv: FaultServer, content: str, *, width: int = 640, height: int = 360) -> str:
    """A page on ``srv`` whose VideoObject points at ``content`` and claims a size."""
    blob = {"@context": "https://schema.org", "@type": "VideoObject", "name": "stream",
            "contentUrl": srv.url(content), "uploadDate": "2025-01-01",
            "duration": f"PT{DURATION}S", "width": width, "height": height}
    body = f'<script type="application/ld+json">{json.dumps(blob)}</script>'.encode()
    return srv.script(f"/page{content}-{width}x{height}.html",
                      Reply(body=body, content_type="text/html"))


def run(pages: list[str], tmp_path: Path, state: State | None = None,
        **options: Any) -> tuple[Manifest, dict[str, Any]]:
    cfg = Config(allow_hosts=("127.0.0.1",), ignore_robots=True, dir=str(tmp_path / "dl"),
                 retries=1, backoff_base=0.01, backoff_max=0.05, **options)
    manifest = harvest(pages, cfg, state=state)
    document = manifest.to_dict()
    assert manifest_problems(document) == []
    return manifest, document["videos"][0]["media"]


def segment_requests(srv: FaultServer) -> list[str]:
    return [r.path for r in srv.log if r.path.endswith((".ts", ".m4s", ".mp4", ".bin"))]


def assert_plays(path: Path, *, width: int = 640, height: int = 360) -> None:
    measured = probe(path)
    assert measured.error is None and measured.duration_s is not None
    assert abs(measured.duration_s - DURATION) <= 0.1
    assert (measured.width, measured.height) == (width, height)


def test_playlists_are_known_by_their_first_bytes() -> None:
    assert playlist_kind(b"\xef\xbb\xbf\n#EXTM3U\n") == "hls"
    assert playlist_kind(b'<?xml version="1.0"?>\n<!-- x -->\n<MPD type="static">') == "dash"
    assert playlist_kind(b"<html><body>#EXTM3U</body></html>") is None
    assert playlist_kind(b"\x00\x00\x00\x18ftypisom") is None


def test_measure_reads_only_the_playlists(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/hls/master.m3u8")], tmp_path, measure=True)
    video = media["video"]
    assert video["status"] == "measured" and video["stream"] == "hls"
    assert video["variants"] == [
        {"width": 640, "height": 360, "bandwidth": video["variants"][0]["bandwidth"],
         "codecs": video["variants"][0]["codecs"]},
        {"width": 320, "height": 180, "bandwidth": video["variants"][1]["bandwidth"],
         "codecs": video["variants"][1]["codecs"]}]
    assert video["variants"][0]["bandwidth"] > video["variants"][1]["bandwidth"]
    assert video["probe"]["duration_s"] == DURATION
    assert (video["probe"]["width"], video["probe"]["height"]) == (640, 360)
    assert media["checks"]["duration"] == "match" and media["checks"]["dimensions"] == "match"
    assert segment_requests(srv) == [] and video["path"] is None
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").rglob("*.mp4"))


def test_measure_leaves_files_that_are_not_streams(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/hls/v0/seg0.ts")], tmp_path, measure=True)
    assert media["video"]["status"] == "skipped"
    assert media["video"]["error"]["code"] == "not_stream"


def test_hls_master_is_downloaded_as_one_mp4(srv: FaultServer, tmp_path: Path) -> None:
    manifest, media = run([page(srv, "/hls/master.m3u8")], tmp_path, download=True)
    video = media["video"]
    assert video["status"] == "downloaded" and video["stream"] == "hls"
    assert len(video["variants"]) == 2 and video["path"].endswith(".mp4")
    mp4 = tmp_path / "dl" / video["path"]
    assert_plays(mp4)
    assert probe(mp4).has_audio
    assert video["probe"]["format_name"].startswith("mov")  # ffprobe's word, not the playlist's
    assert media["checks"] == {"duration": "match", "dimensions": "match", "thumbnail": "unknown"}
    # The 640x360 rendition matches the declared size: only its segments were fetched.
    assert sorted(segment_requests(srv)) == [f"/hls/v0/seg{i}.ts" for i in range(3)]
    assert not any((tmp_path / "dl" / ".streams").iterdir())  # the work directory is gone
    assert not manifest.failed


def test_declared_portrait_against_landscape_stream_is_swapped(
        srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/hls/master.m3u8", width=360, height=640)], tmp_path,
                   download=True)
    assert media["video"]["probe"]["width"] == 640  # no 360x640 rendition: the best one
    assert media["checks"]["dimensions"] == "swapped"


def test_stream_variant_picks_the_rendition(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/hls/master.m3u8")], tmp_path, download=True,
                   stream_variant="worst")
    assert_plays(tmp_path / "dl" / media["video"]["path"], width=320, height=180)
    assert media["checks"]["dimensions"] == "mismatch"
    assert all(p.startswith("/hls/v1/") for p in segment_requests(srv))


def test_aes128_stream_is_decrypted_locally(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/enc/index.m3u8")], tmp_path, download=True)
    assert media["video"]["status"] == "downloaded"
    assert_plays(tmp_path / "dl" / media["video"]["path"])
    assert len(srv.requests_to("/enc/key.bin")) == 1  # one key for every segment


def test_fmp4_stream_with_init_section(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/fmp4/index.m3u8")], tmp_path, download=True)
    assert media["video"]["status"] == "downloaded"
    assert_plays(tmp_path / "dl" / media["video"]["path"])
    assert len(srv.requests_to("/fmp4/init.mp4")) == 1


def test_dash_manifest_video_and_audio(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/dash/manifest.mpd")], tmp_path, download=True)
    video = media["video"]
    assert video["status"] == "downloaded" and video["stream"] == "dash"
    assert [(v["width"], v["height"]) for v in video["variants"]] == [(640, 360)]
    mp4 = tmp_path / "dl" / video["path"]
    assert_plays(mp4)
    assert probe(mp4).has_audio
    assert media["checks"]["duration"] == "match" and media["checks"]["dimensions"] == "match"


def test_dash_measured_without_download(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/dash/manifest.mpd")], tmp_path, measure=True)
    assert media["video"]["status"] == "measured"
    assert media["video"]["probe"]["duration_s"] == pytest.approx(DURATION, abs=0.05)
    assert segment_requests(srv) == []


def test_playlist_served_as_text_is_still_a_stream(
        srv: FaultServer, streams: Streams, tmp_path: Path) -> None:
    srv.script("/hls/plain.m3u8", Reply(body=streams.read("hls/master.m3u8"),
                                        content_type="text/plain"))
    _, media = run([page(srv, "/hls/plain.m3u8")], tmp_path, download=True)
    assert media["video"]["status"] == "downloaded" and media["video"]["stream"] == "hls"


def test_a_rerun_with_state_finds_the_mp4(srv: FaultServer, tmp_path: Path) -> None:
    target = page(srv, "/hls/master.m3u8")
    with State.open(tmp_path / "state.db") as state:
        _, first = run([target], tmp_path, state, download=True)
        before = len(srv.log)
        _, second = run([target], tmp_path, state, download=True)
    assert second["video"]["status"] == "cached"
    assert second["video"]["sha256"] == first["video"]["sha256"]
    assert second["video"]["probe"]["duration_s"] == first["video"]["probe"]["duration_s"]
    assert segment_requests(srv)[before:] == []  # the MP4 on disk is the answer


def test_dash_segment_timeline_and_number_template() -> None:
    mpd = b"""<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT5S">
 <BaseURL>media/</BaseURL>
 <Period><AdaptationSet contentType="video" width="320" height="180">
  <SegmentTemplate timescale="10" initialization="$RepresentationID$/init.mp4"
                   media="$RepresentationID$/$Number%03d$-$Time$.m4s" startNumber="5">
   <SegmentTimeline><S t="0" d="20" r="1"/><S d="10"/></SegmentTimeline>
  </SegmentTemplate>
  <Representation id="lo" bandwidth="100"/><Representation id="hi" bandwidth="900"/>
 </AdaptationSet></Period></MPD>"""
    master = parse_dash(mpd, "http://h/x/a.mpd")
    assert isinstance(master, Master) and len(master.renditions) == 2
    media = master.media[master.renditions[1].url]
    assert [s.part.url for s in media.segments] == [
        "http://h/x/media/hi/005-0.m4s", "http://h/x/media/hi/006-20.m4s",
        "http://h/x/media/hi/007-40.m4s"]
    assert media.duration == 5.0 and media.segments[0].init is not None
    assert media.segments[0].init.url == "http://h/x/media/hi/init.mp4"


def test_remux_command_is_built_with_ffmpeg_python(tmp_path: Path) -> None:
    argv = remux_command([tmp_path / "t0.m3u8"], tmp_path / "out.mp4")
    source = argv.index(f"file:{tmp_path.resolve() / 't0.m3u8'}")
    options = argv[1:source]  # the input's options: the hls demuxer, local files only
    assert options[options.index("-f") + 1] == "hls"
    assert options[options.index("-protocol_whitelist") + 1] == "file,crypto"
    assert argv[source - 1] == "-i" and argv[argv.index("-c") + 1] == "copy"


def test_report_shows_the_stream_and_its_renditions(srv: FaultServer, tmp_path: Path) -> None:
    manifest, _ = run([page(srv, "/hls/master.m3u8")], tmp_path, measure=True)
    html = render_report(manifest.to_dict())
    assert '<span class="badge">HLS</span>' in html
    assert "renditions 640×360 @ " in html and ", 320×180 @ " in html
    assert '<span class="badge ok">measured</span>' in html


def test_probe_command_measures_a_local_playlist(streams: Streams, tmp_path: Path) -> None:
    shutil.copytree(streams.root / "enc", tmp_path / "enc")
    local = tmp_path / "enc" / "index.m3u8"
    outcome = CliRunner().invoke(cli, ["probe", "--json", str(local)])
    assert outcome.exit_code == 0, outcome.output
    measured = json.loads(outcome.output)[str(local)]
    assert measured["duration_s"] == pytest.approx(DURATION, abs=0.1)
    assert (measured["width"], measured["height"]) == (640, 360)
    # The pipeline never reads a playlist as media: a downloaded file stays unknown.
    assert probe(local).error == "unknown_format"


def test_rendition_choice() -> None:
    renditions = tuple(Rendition(Variant(w, h, bw), f"{w}.m3u8") for w, h, bw in
                       ((640, 360, 500), (1280, 720, 2000), (320, 180, 100), (None, None, 9999)))
    assert choose(renditions, "best", None).url == "1280.m3u8"
    assert choose(renditions, "worst", None).url == "320.m3u8"
    assert choose(renditions, "match", (640, 360)).url == "640.m3u8"
    assert choose(renditions, "match", (360, 640)).url == "1280.m3u8"  # no such size: best
    assert choose(renditions, "match", None).url == "1280.m3u8"
    assert choose(renditions, "320x180", (640, 360)).url == "320.m3u8"
    audio_only = renditions[3:]
    assert choose(audio_only, "best", None).url == "None.m3u8"  # all there is


@pytest.mark.parametrize("value", ["huge", "0x360", "640x", "best,worst"])
def test_a_bad_stream_variant_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError):
        load_config(None, {"stream_variant": value})


def test_hls_audio_rendition_is_muxed_in(srv: FaultServer, tmp_path: Path) -> None:
    _, media = run([page(srv, "/alt/master.m3u8")], tmp_path, download=True,
                   stream_variant="best")
    mp4 = tmp_path / "dl" / media["video"]["path"]
    assert_plays(mp4)
    assert probe(mp4).has_audio
    assert srv.requests_to("/alt/raudio/s0.ts") and srv.requests_to("/alt/rvideo/s0.ts")
