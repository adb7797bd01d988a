"""Small real media made at test time with the ffmpeg CLI and its lavfi sources.

Usage::

    clip = make_video(tmp / "clip.mp4", width=480, height=270, duration=6, audio=True)
    phone = make_video(tmp / "phone.mp4", width=480, height=270, duration=2, rotate=90)
    thumb = make_image(tmp / "thumb.jpg", width=320, height=180)

Everything is tiny (a few seconds, small frames, ``ultrafast``) so a whole
test module builds its media in a second or two.  Callers skip when
:func:`have_ffmpeg` is false.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

FFMPEG = "ffmpeg"


def have_ffmpeg() -> bool:
    """Both ffmpeg (to make media) and ffprobe (to measure it) are installed."""
    return shutil.which(FFMPEG) is not None and shutil.which("ffprobe") is not None


def _run(args: list[str]) -> None:
    subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", *args],
        check=True, capture_output=True, timeout=60,
    )


def make_video(
    path: Path,
    *,
    width: int = 480,
    height: int = 270,
    duration: float = 2.0,
    rate: int = 25,
    audio: bool = False,
    rotate: int | None = None,
) -> Path:
    """An H.264 (+ AAC) clip of a test pattern; ``rotate`` adds a display matrix."""
    inputs = ["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate={rate}:duration={duration}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration}"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        codecs += ["-c:a", "aac", "-b:a", "64k"]
    target = path if rotate is None else path.with_name(f"unrotated-{path.name}")
    _run([*inputs, *codecs, "-shortest", str(target)])
    if rotate is not None:
        _rotate(target, path, rotate)
        target.unlink()
    return path


def _rotate(source: Path, target: Path, degrees: int) -> None:
    """Write a display matrix without re-encoding, as phones do.

    ffmpeg 6+ has ``-display_rotation``; older releases turn the ``rotate``
    stream tag into the same display matrix when muxing MP4.
    """
    try:
        _run(["-display_rotation", str(degrees), "-i", str(source), "-c", "copy", str(target)])
    except subprocess.CalledProcessError:
        _run(["-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}",
              str(target)])


def make_image(path: Path, *, width: int = 320, height: int = 180) -> Path:
    """A single still frame; the format follows the suffix (``.jpg``, ``.png``, ``.webp``)."""
    _run(["-f", "lavfi", "-i", f"testsrc=size={width}x{height}:rate=1:duration=1",
          "-frames:v", "1", str(path)])
    return path


def make_ts_segment(path: Path, *, duration: float = 3.0) -> Path:
    """A bare MPEG-TS segment, the kind an HLS playlist points at."""
    _run(["-f", "lavfi", "-i", f"testsrc=size=160x90:rate=25:duration={duration}",
          "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", str(path)])
    return path
