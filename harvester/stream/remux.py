"""Join a stream's local parts into one MP4 with ffmpeg, offline.

Promises:

* the playlist ffmpeg reads is written here, from the parsed model, and
  names only files in the work directory (``seg00001.ts``, ``key00000.key``):
  nothing of the remote playlist's text reaches ffmpeg;
* ffmpeg runs with the ``hls`` demuxer forced and ``-protocol_whitelist
  file,crypto``, so it can open local files and decrypt AES-128, and never
  the network or another protocol;
* the command is built with ffmpeg-python (:func:`remux_command`), streams
  are copied (no re-encoding), and the process group is killed at the
  timeout (``remux_timeout``); a failure is ``remux_failed``.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Mapping
from pathlib import Path

import ffmpeg

from harvester.errors import DownloadError
from harvester.measure.probe import kill_group
from harvester.stream.model import Media, Part

__all__ = ["local_playlist", "remux", "remux_command"]

WHITELIST = "file,crypto"


def local_playlist(media: Media, names: Mapping[Part, str]) -> str:
    """An HLS media playlist of the local files standing for ``media``'s parts."""
    target = max([math.ceil(s.duration) for s in media.segments] + [1])
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    init: Part | None = None
    for segment in media.segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.init is not None and segment.init != init:
            init = segment.init
            lines.append(f'#EXT-X-MAP:URI="{names[init]}"')
        if segment.key is None:
            lines.append("#EXT-X-KEY:METHOD=NONE")
        else:
            # The IV is written out: numbering here starts at 0, not at the remote sequence.
            lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="{names[segment.key.part]}",'
                         f"IV=0x{segment.key.iv}")
        lines += [f"#EXTINF:{segment.duration:.6f},", names[segment.part]]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def remux_command(playlists: list[Path], target: Path, ffmpeg_cmd: str = "ffmpeg") -> list[str]:
    """The ffmpeg argv that copies the streams of ``playlists`` into the MP4 ``target``."""
    # allowed_extensions lets the demuxer open our ``.key`` files; it is safe because
    # the playlist is ours and names only files of the work directory.
    inputs = [ffmpeg.input(f"file:{p.resolve()}", f="hls", protocol_whitelist=WHITELIST,
                           allowed_extensions="ALL") for p in playlists]
    # The first input's video and audio, a second input's audio: never data streams
    # (timed ID3 in MPEG-TS) that MP4 cannot hold.
    streams = [inputs[0]["v?"], inputs[0]["a?"], *(i["a?"] for i in inputs[1:])]
    output = ffmpeg.output(*streams, f"file:{target.resolve()}", c="copy", f="mp4",
                           movflags="+faststart")
    args: list[str] = ffmpeg.compile(output.global_args("-nostdin", "-loglevel", "error"),
                                     cmd=ffmpeg_cmd, overwrite_output=True)
    return args


def remux(playlists: list[Path], target: Path, *, timeout: float, url: str) -> None:
    """Write ``target`` from ``playlists``; DownloadError ``remux_failed`` or ``remux_timeout``."""
    try:
        proc = subprocess.Popen(remux_command(playlists, target), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
    except OSError as exc:
        raise DownloadError(f"cannot run ffmpeg: {exc}", url, code="ffmpeg_unavailable") from None
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise DownloadError(f"ffmpeg did not finish the remux in {timeout:g} s", url,
                            code="remux_timeout") from None
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise DownloadError(f"ffmpeg could not remux the stream: {detail[0][:300]}", url,
                            code="remux_failed")
