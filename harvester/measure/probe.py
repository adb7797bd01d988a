"""Measure local media files with ffprobe: the only stage that runs a subprocess.

Promise: :func:`probe` never raises for a bad, hostile or missing file and never
hangs.  Every outcome is a :class:`~harvester.records.Probe`; failures carry a
stable ``error`` code:

``ffprobe_unavailable``  ffprobe is not installed (``available`` is ``False``)
``not_found``            the path does not exist or cannot be read
``not_a_file``           the path is a FIFO, device or directory
``unknown_format``       the magic bytes match no demuxer we allow
``timeout``              ffprobe did not finish in time and was killed
``probe_failed``         ffprobe rejected the file or printed no usable JSON

Media files come from untrusted pages, so ffprobe is run defensively:

* the demuxer is forced (``-f``) from the file's own magic bytes, so a text
  file named ``.mp4`` is never auto-detected as an HLS or concat playlist that
  would make ffprobe open other files;
* ``-protocol_whitelist file`` and a ``file:`` input keep ffprobe off the
  network and away from pseudo-protocols (``concat:``, ``subfile:``, ...);
* only :func:`probe` called with ``playlist=True`` (``harvester probe`` on a
  file the user names) reads a local HLS playlist and its segments: the
  ``hls`` demuxer forced, ``-protocol_whitelist file,crypto``, so segments and
  keys are local files and nothing is fetched (the pipeline never passes it:
  a downloaded file that is a playlist stays ``unknown_format``);
* the process runs in its own session and the whole group is killed at the
  timeout, so a wrapper script's children die with it.

Sizes are display sizes: a clip whose display matrix (or legacy ``rotate``
tag) turns it by 90 or 270 degrees reports its width and height swapped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harvester.records import Probe

__all__ = ["format_probe", "probe", "probe_available", "sniff_format"]

log = logging.getLogger(__name__)

KINDS = ("video", "thumbnail")
_HEAD_BYTES = 4096
# Still images: whatever ``kind`` says, only their size means anything.
_STILL_FORMATS = frozenset({"jpeg_pipe", "png_pipe", "webp_pipe"})
_MOV_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def probe_available(ffprobe: str = "ffprobe") -> bool:
    """True when the ffprobe command can be found, so a caller can warn once."""
    return shutil.which(ffprobe) is not None


def sniff_format(head: bytes) -> str | None:
    """The ffprobe demuxer for a file starting with ``head``, or ``None``.

    Only formats that a video or a thumbnail can plausibly be are listed; the
    playlist-like ones (HLS, concat, ffconcat, SDP) never are.  Images use the
    ``*_pipe`` demuxers because ``image2`` expands patterns such as ``%d``.
    """
    if len(head) >= 8 and head[4:8] in _MOV_BOXES:
        return "mov"
    signatures: tuple[tuple[bytes, str], ...] = (
        (b"\x1a\x45\xdf\xa3", "matroska"),
        (b"OggS", "ogg"),
        (b"FLV\x01", "flv"),
        (b"ID3", "mp3"),
        (b"\xff\xd8\xff", "jpeg_pipe"),
        (b"\x89PNG\r\n\x1a\n", "png_pipe"),
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
    )
    for magic, fmt in signatures:
        if head.startswith(magic):
            return fmt
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WEBP": "webp_pipe", b"AVI ": "avi"}.get(head[8:12])
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "mpegts"
    return _sniff_mpeg_audio(head)


def _sniff_mpeg_audio(head: bytes) -> str | None:
    """Raw MPEG audio: ADTS AAC has layer bits 00, MP3 has a non-zero layer."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    if head[1] & 0xF6 == 0xF0:
        return "aac"
    return "mp3" if head[1] & 0x06 else None


def probe(
    path: Path, *, kind: str = "video", timeout: float = 30.0, ffprobe: str = "ffprobe",
    playlist: bool = False,
) -> Probe:
    """Measure ``path``; ``kind`` is ``"video"`` or ``"thumbnail"`` (image size only).
    With ``playlist``, a local HLS playlist is measured with its local segments.

    >>> probe(Path("clip.mp4")).duration_s    # doctest: +SKIP
    6.016
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not probe_available(ffprobe):
        return Probe(available=False, error="ffprobe_unavailable")
    head, error = _read_head(path)
    if error is not None:
        return Probe(error=error)
    fmt = sniff_format(head)
    if fmt is None and playlist and head.removeprefix(b"\xef\xbb\xbf").lstrip() \
            .startswith(b"#EXTM3U"):
        fmt = "hls"
    if fmt is None:
        return Probe(error="unknown_format")
    data, error = run_ffprobe(path, fmt, timeout=timeout, ffprobe=ffprobe)
    if data is None:
        return Probe(error=error)
    return parse_probe(data, kind="thumbnail" if fmt in _STILL_FORMATS else kind)


def _read_head(path: Path) -> tuple[bytes, str | None]:
    """First bytes of a regular file; O_NONBLOCK so a FIFO cannot block the open."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b"", "not_found"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"", "not_a_file"
        return os.read(fd, _HEAD_BYTES), None
    except OSError:
        return b"", "not_found"
    finally:
        os.close(fd)


def ffprobe_command(path: Path, fmt: str, ffprobe: str = "ffprobe") -> list[str]:
    """The argv: ffmpeg-python's ``ffmpeg.probe`` command plus our input options.

    ``ffmpeg.probe(filename, cmd=..., **kwargs)`` builds exactly
    ``[cmd, -show_format, -show_streams, -of, json, *sorted kwargs, filename]``
    but waits with ``Popen.communicate()`` and no timeout, so it cannot be
    bounded; we build the same argv and run it ourselves.
    """
    options = {"f": fmt, "protocol_whitelist": "file", "v": "error"}
    if fmt == "hls":
        # AES-128 segments need the crypto protocol (over local files only), and keys
        # are often named .key or .bin, which the demuxer refuses unless told.
        options.update(protocol_whitelist="file,crypto", allowed_extensions="ALL")
    args = [ffprobe, "-show_format", "-show_streams", "-of", "json"]
    for key in sorted(options):
        args += [f"-{key}", options[key]]
    return [*args, f"file:{path.resolve()}"]


def run_ffprobe(
    path: Path, fmt: str, *, timeout: float, ffprobe: str = "ffprobe"
) -> tuple[dict[str, Any] | None, str | None]:
    """Run ffprobe with ``fmt`` forced; return ``(json, None)`` or ``(None, error code)``."""
    try:
        proc = subprocess.Popen(
            ffprobe_command(path, fmt, ffprobe),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, killed as a whole below
        )
    except OSError:
        return None, "ffprobe_unavailable"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return None, "timeout"
    if proc.returncode != 0:
        log.debug("ffprobe failed on %s: %s", path, err.decode("utf-8", "replace").strip())
        return None, "probe_failed"
    try:
        data = json.loads(out.decode("utf-8", "replace"))
    except ValueError:
        return None, "probe_failed"
    return (data, None) if isinstance(data, dict) else (None, "probe_failed")


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill ffprobe and anything it started, then reap it and close its pipes."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.kill()
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        # A child that left the group still holds the pipes: stop reading them.
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()


def parse_probe(data: Mapping[str, Any], *, kind: str = "video") -> Probe:
    """Turn ffprobe's ``-show_format -show_streams`` JSON into a :class:`Probe`."""
    streams = _mappings(data.get("streams"))
    fmt = data.get("format")
    if not isinstance(fmt, Mapping):
        fmt = {}
    video = _first_stream(streams, "video")
    audio = _first_stream(streams, "audio")
    width, height = _display_size(video) if video is not None else (None, None)
    main = video if video is not None else audio
    codec = _str(main.get("codec_name")) if main is not None else None
    format_name = _str(fmt.get("format_name"))
    if kind == "thumbnail":
        return Probe(width=width, height=height, codec=codec, format_name=format_name)
    duration = _number(fmt.get("duration"))
    if duration is None and main is not None:
        duration = _number(main.get("duration"))
    # For a playlist ffprobe divides the playlist's own size by the duration: meaningless.
    bit_rate = _number(fmt.get("bit_rate")) if format_name != "hls" else None
    return Probe(
        duration_s=duration,
        width=width,
        height=height,
        codec=codec,
        frame_rate=_frame_rate(video) if video is not None else None,
        bit_rate=int(bit_rate) if bit_rate is not None else None,
        has_audio=audio is not None,
        format_name=format_name,
    )


def _first_stream(streams: list[Mapping[str, Any]], codec_type: str) -> Mapping[str, Any] | None:
    """First stream of a type; cover art (``attached_pic``) is not the video."""
    for stream in streams:
        if stream.get("codec_type") != codec_type:
            continue
        disposition = stream.get("disposition")
        if isinstance(disposition, Mapping) and disposition.get("attached_pic"):
            continue
        return stream
    return None


def _display_size(stream: Mapping[str, Any]) -> tuple[int | None, int | None]:
    width, height = _int(stream.get("width")), _int(stream.get("height"))
    if width is not None and height is not None and _rotation(stream) % 180 == 90:
        return height, width
    return width, height


def _rotation(stream: Mapping[str, Any]) -> int:
    """Degrees from the display matrix side data, else the legacy ``rotate`` tag."""
    for side in _mappings(stream.get("side_data_list")):
        if (value := _number(side.get("rotation"))) is not None:
            return round(value)
    tags = stream.get("tags")
    value = _number(tags.get("rotate")) if isinstance(tags, Mapping) else None
    return round(value) if value is not None else 0


def _frame_rate(stream: Mapping[str, Any]) -> float | None:
    """``avg_frame_rate`` (``"30000/1001"``), else ``r_frame_rate``; ``0/0`` is unknown."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key) or "").partition("/")
        try:
            rate = float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            continue
        if rate > 0:
            return round(rate, 3)
    return None


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list; anything else (a hostile or odd ffprobe) is empty."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number > 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_ERROR_HINTS = {
    "not_found": "no such file, or it cannot be read",
    "not_a_file": "not a regular file",
    "unknown_format": "not a video or image format harvester measures",
    "timeout": "ffprobe took too long and was stopped",
    "probe_failed": "ffprobe could not read it",
}


def format_probe(path: Path | str, probe: Probe) -> str:
    """One human line for ``harvester probe``, e.g.
    ``clip.mp4: 6.02 s, 480x270, h264, 25 fps, 350 kb/s, audio``."""
    result = probe  # the parameter keeps the public name; the function is not needed here
    if not result.available:
        return f"{path}: not measured (ffprobe is not installed)"
    if result.error is not None:
        hint = _ERROR_HINTS.get(result.error)
        return f"{path}: error {result.error}" + (f" ({hint})" if hint else "")
    parts: list[str] = []
    if result.duration_s is not None:
        parts.append(f"{result.duration_s:.2f} s")
    if result.width is not None and result.height is not None:
        parts.append(f"{result.width}x{result.height}")
    if result.codec:
        parts.append(result.codec)
    if result.frame_rate is not None:
        parts.append(f"{result.frame_rate:g} fps")
    if result.bit_rate is not None:
        parts.append(f"{result.bit_rate // 1000} kb/s")
    if result.has_audio is not None:
        parts.append("audio" if result.has_audio else "no audio")
    return f"{path}: " + (", ".join(parts) or "no streams")
