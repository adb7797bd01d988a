"""What a playlist says, in one shape for HLS and DASH.

A parsed playlist is either a :class:`Master` (renditions to choose from) or
a :class:`Media` playlist (the parts to fetch, in order).  Parsing never
fetches anything: every URL here is absolute and still untrusted; the
fetching code sends each one through the network layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harvester.download.sniff import MAX_PLAYLIST_BYTES
from harvester.records import Variant

__all__ = ["DRM_KEYFORMATS", "DRM_METHODS", "MAX_DEPTH", "MAX_PLAYLIST_BYTES", "MAX_SEGMENTS",
           "Key", "Master", "Media", "Part", "Rendition", "Segment"]

#: Playlists followed from the first one (a master, its media playlists, a nested master).
MAX_DEPTH = 3
#: Segments one stream may have; a playlist listing more is refused, not truncated.
MAX_SEGMENTS = 20_000
#: Key formats and methods that mean DRM: the key is not ours to fetch.
DRM_METHODS = frozenset({"SAMPLE-AES", "SAMPLE-AES-CTR", "SAMPLE-AES-CENC"})
DRM_KEYFORMATS = frozenset({"com.apple.streamingkeydelivery", "com.widevine",
                            "urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
                            "com.microsoft.playready"})


@dataclass(frozen=True, slots=True)
class Part:
    """One thing to fetch: a segment, an init section or a key (``byterange`` =
    ``(offset, length)`` when only a slice of ``url`` is meant)."""

    url: str
    byterange: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Key:
    """An AES-128 key for the segments that follow it; ``iv`` as 32 hex digits."""

    part: Part
    iv: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One media segment with the init section and key it needs."""

    part: Part
    duration: float
    init: Part | None = None
    key: Key | None = None
    discontinuity: bool = False


@dataclass(frozen=True, slots=True)
class Media:
    """A media playlist (or one DASH Representation): its segments in order.

    ``live`` when more segments may still come (no ``EXT-X-ENDLIST``, DASH
    ``type="dynamic"``); ``protected`` names the DRM found, if any.
    """

    url: str
    segments: tuple[Segment, ...]
    live: bool = False
    protected: str | None = None
    width: int | None = None
    height: int | None = None
    codecs: str | None = None
    #: A second track to mux in (DASH audio, an HLS audio rendition).
    audio: Media | None = None

    @property
    def duration(self) -> float:
        return round(sum(s.duration for s in self.segments), 3)


@dataclass(frozen=True, slots=True)
class Rendition:
    """One variant of a master playlist and where its media playlist is."""

    variant: Variant
    url: str
    audio_url: str | None = None


@dataclass(frozen=True, slots=True)
class Master:
    """A master playlist or a DASH manifest with several renditions.

    ``media`` holds renditions already complete (DASH lists every segment in
    the manifest itself), keyed by rendition URL.
    """

    url: str
    renditions: tuple[Rendition, ...]
    protected: str | None = None
    live: bool = False
    media: dict[str, Media] = field(default_factory=dict)

    @property
    def variants(self) -> tuple[Variant, ...]:
        return tuple(r.variant for r in self.renditions)
