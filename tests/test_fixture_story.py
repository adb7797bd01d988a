"""The fixture page's story end to end.

A page mangled the way ``texturized-news-page.txt`` is (typographic quotes,
``T1M30S`` durations, a cut-off third blob) points its two complete videos at
loopback copies: the first really is 480x270 as declared, the second declares
height 480 and width 270 against a 480x270 file.  Harvested with downloads,
the manifest must say ``match`` for the first and ``swapped`` for the second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harvester import manifest_problems
from tests.support.media import have_ffmpeg, make_image, make_video
from tests.support.server import LoopbackServer

FIXTURE = Path(__file__).parent / "samples" / "texturized-news-page.txt"
pytestmark = pytest.mark.skipif(not have_ffmpeg(), reason="ffmpeg/ffprobe not installed")

FIRST_MP4 = ("https://videos.metro.co.uk/video/met/2025/04/08/8350744987245984723/"
             "480x270_MP4_8350744987245984723.mp4")
SECOND_MP4 = ("https://videos.metro.co.uk/video/met/2025/04/03/2566267484713434011/"
              "480x270_MP4_2566267484713434011.mp4")
FIRST_JPG = "https://i.dailymail.co.uk/1s/2025/04/08/14/97042527-0-image-a-7_1744120683224.jpg"
SECOND_JPG = ("https://i.dailymail.co.uk/1s/2025/04/03/11/"
              "96869909-0-image-a-146_1743674670701.jpg")
THIRD_JPG = "https://i.dailymail.co.uk/1s/2025/03/05/14/95868773-0-image-a-4_1741184494193.jpg"


def _serve(server: LoopbackServer, path: str, file: Path, content_type: str) -> str:
    server.route(path, body=file.read_bytes(), content_type=content_type)
    return server.url(path)


def test_texturized_page_match_and_swapped(http_server: LoopbackServer, tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    # Durations as the page declares them (90 s and 32 s), at one frame a second.
    first = make_video(media / "first.mp4", width=480, height=270, duration=90, rate=1)
    second = make_video(media / "second.mp4", width=480, height=270, duration=32, rate=1)
    thumb = make_image(media / "thumb.jpg", width=320, height=180)
    page = FIXTURE.read_text("utf-8")
    page = (page.replace(FIRST_MP4, _serve(http_server, "/v/first.mp4", first, "video/mp4"))
                .replace(SECOND_MP4, _serve(http_server, "/v/second.mp4", second, "video/mp4"))
                .replace(FIRST_JPG, _serve(http_server, "/t/1.jpg", thumb, "image/jpeg"))
                .replace(SECOND_JPG, _serve(http_server, "/t/2.jpg", thumb, "image/jpeg"))
                .replace(THIRD_JPG, _serve(http_server, "/t/3.jpg", thumb, "image/jpeg")))
    # Still mangled, and every URL now points at loopback: nothing else is contacted.
    assert "“@context”" in page and "dailymail" not in page and "metro.co.uk/video" not in page
    http_server.route("/robots.txt", status=404, body=b"")
    http_server.route("/news.html", body=page.encode("utf-8"),
                      content_type="text/html; charset=utf-8")
    out = tmp_path / "manifest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "harvester", "harvest", http_server.url("/news.html"),
         "--download", "--allow-private-hosts", "--dir", str(tmp_path / "dl"),
         "-o", str(out), "-q"], capture_output=True, text=True, timeout=180)
    document = json.loads(out.read_text("utf-8"))
    assert manifest_problems(document) == []
    videos = document["videos"]
    assert [v["syntax"] for v in videos] == ["text"] * 3
    assert [v["partial"] for v in videos] == [False, False, True]
    one, two, cut = (v["media"] for v in videos)
    assert one["video"]["status"] == "downloaded" and two["video"]["status"] == "downloaded"
    assert one["video"]["probe"]["width"] == 480 and one["video"]["probe"]["height"] == 270
    assert one["checks"] == {"duration": "match", "dimensions": "match", "thumbnail": "match"}
    assert two["checks"]["dimensions"] == "swapped"
    assert two["checks"]["duration"] == "match"
    # The cut-off third blob lost its contentUrl; its thumbnail is still fetched.
    assert cut["video"] is None and cut["thumbnail"]["status"] == "downloaded"
    assert proc.returncode == 0, proc.stderr
