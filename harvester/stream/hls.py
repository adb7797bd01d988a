"""HLS playlists (RFC 8216) read with the ``m3u8`` library into :mod:`.model`.

Promise: :func:`parse_hls` never fetches and never raises anything but
:class:`~harvester.errors.StreamRefused` (``bad_playlist``,
``too_many_segments``); URLs come back absolute, resolved against the URL
the playlist was read from, and are left for the network layer to judge.
"""

from __future__ import annotations

import math
import re
from typing import Any

import m3u8

from harvester.errors import StreamRefused
from harvester.records import Variant
from harvester.stream.model import (
    DRM_KEYFORMATS,
    DRM_METHODS,
    MAX_SEGMENTS,
    Key,
    Master,
    Media,
    Part,
    Rendition,
    Segment,
)

__all__ = ["parse_hls"]

_HEX = re.compile(r"[0-9a-f]{1,32}")


def parse_hls(text: str, url: str) -> Master | Media:
    """The master or media playlist ``text`` read from ``url``."""
    try:
        playlist = m3u8.loads(text, uri=url)
        return _read(playlist, url)
    except StreamRefused:
        raise
    except Exception as exc:  # the library raises bare errors on odd input
        raise StreamRefused(f"unreadable HLS playlist: {exc!r}"[:300], url) from None


def _read(playlist: m3u8.M3U8, url: str) -> Master | Media:
    protected = _drm(playlist.session_keys or []) or _drm(playlist.keys or [])
    if playlist.is_variant:
        return Master(url=url, renditions=_renditions(playlist), protected=protected)
    if len(playlist.segments) > MAX_SEGMENTS:
        raise StreamRefused(f"{len(playlist.segments)} segments, more than the "
                            f"{MAX_SEGMENTS} allowed", url, code="too_many_segments")
    # A VOD playlist that forgot its ENDLIST still has an end.
    live = not playlist.is_endlist and (playlist.playlist_type or "").lower() != "vod"
    return Media(url=url, segments=_segments(playlist, url), live=live, protected=protected)


def _drm(keys: list[Any]) -> str | None:
    """The DRM a list of ``EXT-X-KEY`` / ``EXT-X-SESSION-KEY`` tags names, if any."""
    for key in keys:
        if key is None:
            continue
        method = (key.method or "").upper()
        keyformat = (key.keyformat or "").lower()
        uri = (key.uri or "").lower()
        if method in DRM_METHODS or keyformat in DRM_KEYFORMATS or uri.startswith("skd:"):
            return f"{method or 'key'} {keyformat or uri}".strip()
    return None


def _renditions(playlist: m3u8.M3U8) -> tuple[Rendition, ...]:
    audio = _audio_groups(playlist)
    out = []
    for item in playlist.playlists:
        info = item.stream_info
        width, height = info.resolution or (None, None)
        variant = Variant(width=width, height=height,
                          bandwidth=info.bandwidth or info.average_bandwidth,
                          codecs=info.codecs)
        out.append(Rendition(variant, item.absolute_uri, audio.get(info.audio or "")))
    return tuple(out)


def _audio_groups(playlist: m3u8.M3U8) -> dict[str, str]:
    """Audio group id → the URL of its default (else first) rendition with a URI."""
    groups: dict[str, str] = {}
    for media in playlist.media:
        if (media.type or "").upper() != "AUDIO" or not media.uri:
            continue
        if media.group_id not in groups or (media.default or "").upper() == "YES":
            groups[media.group_id] = media.absolute_uri
    return groups


def _segments(playlist: m3u8.M3U8, url: str) -> tuple[Segment, ...]:
    segments = []
    ends: dict[str, int] = {}  # where the last byte range of each URL ended
    sequence = playlist.media_sequence or 0
    for number, seg in enumerate(playlist.segments, start=sequence):
        part = Part(seg.absolute_uri, _byterange(seg.byterange, seg.absolute_uri, ends, url))
        init = None
        if seg.init_section is not None:
            init_url = seg.init_section.absolute_uri
            init = Part(init_url, _byterange(seg.init_section.byterange, init_url, {}, url))
        segments.append(Segment(part, _seconds(seg.duration), init,
                                _key(seg.key, number, url), bool(seg.discontinuity)))
    return tuple(segments)


def _seconds(value: Any) -> float:
    """A segment's duration; a negative or non-finite one counts as nothing."""
    number = float(value or 0.0)
    return number if math.isfinite(number) and number > 0 else 0.0


def _key(key: Any, number: int, url: str) -> Key | None:
    """An AES-128 key with its IV (the media sequence number when none is given)."""
    if key is None or (key.method or "NONE").upper() in ("NONE", *DRM_METHODS):
        return None  # DRM marks the whole playlist protected; its segments are never fetched
    if (key.method or "").upper() != "AES-128":
        raise StreamRefused(f"unknown encryption method {key.method!r}", url,
                            code="unsupported_stream")
    iv = (key.iv or "").lower().removeprefix("0x") or f"{number:032x}"
    # The IV goes into the playlist ffmpeg reads: hex digits only, nothing else.
    if not _HEX.fullmatch(iv):
        raise StreamRefused(f"unreadable IV {key.iv!r}", url)
    return Key(Part(key.absolute_uri), iv.rjust(32, "0"))


def _byterange(value: str | None, target: str, ends: dict[str, int],
               url: str) -> tuple[int, int] | None:
    """``"length@offset"`` (offset defaults to where the previous range ended)."""
    if not value:
        return None
    length, _, offset = value.partition("@")
    try:
        start = int(offset) if offset else ends.get(target, 0)
        size = int(length)
    except ValueError:
        raise StreamRefused(f"unreadable byte range {value!r}", url) from None
    ends[target] = start + size
    return (start, size)
