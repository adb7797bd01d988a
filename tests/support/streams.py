"""Real HLS and DASH streams made at test time with ffmpeg, and a way to serve them.

Usage::

    streams = make_streams(tmp / "streams")        # a few seconds of ffmpeg, once a session
    with FaultServer() as srv:
        serve_tree(srv, streams.root)
        url = srv.url("/hls/master.m3u8")

Layout under ``root`` (every stream is :data:`DURATION` s of testsrc, 2 s segments):

``hls/master.m3u8``   two renditions, ``v0`` 640x360 and ``v1`` 320x180, each with AAC audio
``enc/index.m3u8``    one 640x360 rendition encrypted with AES-128 (``enc/key.bin``)
``fmp4/index.m3u8``   one 640x360 rendition in fragmented MP4 (``init.mp4`` + ``.m4s``)
``alt/master.m3u8``   a 640x360 rendition whose audio is a separate ``EXT-X-MEDIA`` rendition
``dash/manifest.mpd`` a 640x360 video and an audio Representation (ffmpeg's dash muxer)
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.faultserver import FaultServer, Reply

DURATION = 6
SEGMENT = 2
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
         "-keyint_min", "25", "-sc_threshold", "0"]
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mpd": "application/dash+xml",
                 ".ts": "video/mp2t", ".m4s": "video/iso.segment", ".mp4": "video/mp4",
                 ".bin": "application/octet-stream"}


@dataclass(frozen=True)
class Streams:
    root: Path

    def read(self, rel: str) -> bytes:
        return (self.root / rel).read_bytes()


def _ffmpeg(args: list[str], cwd: Path) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
                   check=True, capture_output=True, timeout=120, cwd=cwd)


def _source(width: int = 640, height: int = 360, *, audio: bool = False,
            duration: int = DURATION) -> list[str]:
    args = ["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=25:duration={duration}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}"]
    return args


def _hls(segment_type: str = "mpegts") -> list[str]:
    return ["-f", "hls", "-hls_time", str(SEGMENT), "-hls_playlist_type", "vod",
            "-hls_segment_type", segment_type]


def make_master(root: Path, duration: int = DURATION) -> Path:
    """Two renditions with audio behind a master playlist (``master.m3u8``)."""
    root.mkdir(parents=True, exist_ok=True)
    _ffmpeg([*_source(audio=True, duration=duration), "-filter_complex",
             "[0:v]split=2[a][b];[b]scale=320:180[small]",
             "-map", "[a]", "-map", "[small]", "-map", "1:a", "-map", "1:a", *_X264,
             "-b:v:0", "400k", "-b:v:1", "150k", "-c:a", "aac", "-b:a", "32k", *_hls(),
             "-hls_segment_filename", "v%v/seg%d.ts", "-master_pl_name", "master.m3u8",
             "-var_stream_map", "v:0,a:0 v:1,a:1", "v%v/index.m3u8"], root)
    return root / "master.m3u8"


def make_streams(root: Path) -> Streams:
    """Every stream of the layout above, built in a few seconds."""
    make_master(root / "hls")
    enc = root / "enc"
    enc.mkdir(parents=True)
    (enc / "key.bin").write_bytes(bytes(range(16)))
    (enc / "keyinfo").write_text(f"key.bin\n{enc / 'key.bin'}\n")
    _ffmpeg([*_source(), *_X264, *_hls(), "-hls_key_info_file", "keyinfo",
             "-hls_segment_filename", "s%d.ts", "index.m3u8"], enc)
    (root / "fmp4").mkdir()
    _ffmpeg([*_source(), *_X264, *_hls("fmp4"), "-hls_fmp4_init_filename", "init.mp4",
             "-hls_segment_filename", "s%d.m4s", "index.m3u8"], root / "fmp4")
    (root / "alt").mkdir()
    _ffmpeg([*_source(audio=True), "-map", "0:v", "-map", "1:a", *_X264, "-c:a", "aac",
             "-b:a", "32k", *_hls(), "-hls_segment_filename", "r%v/s%d.ts",
             "-master_pl_name", "master.m3u8", "-var_stream_map",
             "a:0,agroup:aud,name:audio v:0,agroup:aud,name:video", "r%v/index.m3u8"],
            root / "alt")
    (root / "dash").mkdir()
    _ffmpeg([*_source(audio=True), "-map", "0:v", "-map", "1:a", *_X264, "-c:a", "aac",
             "-b:a", "32k", "-f", "dash", "-seg_duration", str(SEGMENT), "-use_template", "1",
             "-use_timeline", "1", "-adaptation_sets", "id=0,streams=v id=1,streams=a",
             "manifest.mpd"], root / "dash")
    return Streams(root)


def serve_tree(srv: FaultServer, root: Path, prefix: str = "") -> None:
    """Script every file under ``root`` at ``prefix/relative/path`` on ``srv``."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        srv.script(f"{prefix}/{rel}", Reply(body=path.read_bytes(),
                                            content_type=CONTENT_TYPES.get(path.suffix)))


def media_playlist(segments: list[str], *, end: bool = True, header: str = "") -> bytes:
    """A hand-made VOD media playlist of ``segments`` (2 s each)."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT}",
             "#EXT-X-MEDIA-SEQUENCE:0"]
    if header:
        lines.append(header)
    for segment in segments:
        lines += [f"#EXTINF:{SEGMENT}.000000,", segment]
    if end:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()
