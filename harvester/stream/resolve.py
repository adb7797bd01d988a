"""From a stream URL to the one rendition to measure or fetch: a :class:`Plan`.

Every playlist is fetched with :func:`harvester.net.exchange.exchange` (the
address guard at every hop, retries, deadline, per-host slots) and read with
the bounded body reader.  Promises:

* at most :data:`~harvester.stream.model.MAX_DEPTH` playlists are followed
  from the first one, and a playlist reached twice (one that includes
  itself, or a segment that is a playlist of the chain) is refused
  (``playlist_loop``) instead of being fetched again;
* the rendition is the one asked for (``best``, ``worst``, ``WIDTHxHEIGHT``),
  or with ``match`` the one whose size is the declared size, else the one
  with the highest bandwidth;
* DRM and live streams come back as plans that say so (``protected``,
  ``live``) with what could be measured; nothing of their segments is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urldefrag

import httpx

from harvester.download.sniff import SNIFF_BYTES, playlist_kind
from harvester.errors import RemoteError, StreamRefused
from harvester.net.body import body_chunks
from harvester.net.client import Session
from harvester.net.exchange import Request, exchange
from harvester.records import Probe, StreamKind, Variant
from harvester.stream.dash import parse_dash
from harvester.stream.hls import parse_hls
from harvester.stream.model import MAX_DEPTH, MAX_PLAYLIST_BYTES, Master, Media, Rendition

__all__ = ["Fetched", "Plan", "choose", "fetch_playlist", "plan_stream"]


@dataclass(frozen=True, slots=True)
class Fetched:
    """A body read from ``final`` (after redirects); ``kind`` None when not a playlist."""

    kind: str | None
    body: bytes
    final: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Plan:
    """What the playlists say: the renditions, the chosen media, DRM and liveness."""

    kind: StreamKind
    variants: tuple[Variant, ...]
    media: Media | None
    chosen: Variant | None
    protected: str | None
    live: bool
    attempts: int

    def measured(self) -> Probe:
        """Duration and size as the playlists state them (``format_name`` = hls|dash)."""
        media = self.media
        width = (self.chosen.width if self.chosen else None) or (media.width if media else None)
        height = (self.chosen.height if self.chosen else None) or \
            (media.height if media else None)
        duration = media.duration if media is not None and not self.live else None
        return Probe(duration_s=duration or None, width=width, height=height,
                     bit_rate=self.chosen.bandwidth if self.chosen else None,
                     format_name=self.kind.value)


def fetch_playlist(session: Session, url: str) -> Fetched:
    """GET ``url``; the whole body when it is a playlist, else only its first bytes."""
    policy = session.policy

    def handle(response: httpx.Response, final: str) -> Fetched:
        parts: list[bytes] = []
        size, kind = 0, None
        for chunk in body_chunks(response, url, policy, limit=MAX_PLAYLIST_BYTES):
            parts.append(bytes(chunk))
            size += len(chunk)
            if kind is None and size >= SNIFF_BYTES:
                kind = playlist_kind(b"".join(parts))
                if kind is None:
                    break  # media, not a playlist: the rest is not read
        body = b"".join(parts)
        return Fetched(kind or playlist_kind(body), body, final, 0)

    try:
        fetched, attempts = exchange(session, Request(url, handle=handle))
    except RemoteError as exc:
        if exc.code == "too_large":
            raise StreamRefused(f"playlist larger than {MAX_PLAYLIST_BYTES} bytes", url,
                                code="playlist_too_large") from None
        raise
    return replace(fetched, attempts=attempts)


def plan_stream(session: Session, first: Fetched, choice: str,
                declared: tuple[int, int] | None) -> Plan:
    """The plan for the stream whose first playlist is ``first``."""
    walk = _Walk(session, [first.final], first.attempts)
    kind = StreamKind(first.kind or "hls")
    parsed = _parse(first)
    if isinstance(parsed, Media):
        return walk.plan(kind, (), parsed, None)
    return walk.from_master(kind, parsed, choice, declared, depth=1)


def _parse(fetched: Fetched) -> Master | Media:
    if fetched.kind == "dash":
        return parse_dash(fetched.body, fetched.final)
    if fetched.kind != "hls":
        raise StreamRefused("not an HLS playlist or a DASH manifest", fetched.final)
    text = fetched.body.decode("utf-8", "replace").removeprefix("\ufeff")
    return parse_hls(text, fetched.final)


def choose(renditions: tuple[Rendition, ...], choice: str,
           declared: tuple[int, int] | None) -> Rendition:
    """The rendition ``choice`` names (``best``, ``worst``, ``match``, ``WxH``), among
    those with a picture size when any has one."""
    def bandwidth(r: Rendition) -> int:
        return r.variant.bandwidth or 0

    # An audio-only rendition (no RESOLUTION) is never the video, unless it is all there is.
    renditions = tuple(r for r in renditions if r.variant.width) or renditions
    if choice == "worst":
        return min(renditions, key=bandwidth)
    wanted = declared if choice == "match" else _size(choice)
    if wanted is not None:
        exact = [r for r in renditions if (r.variant.width, r.variant.height) == wanted]
        if exact:
            return max(exact, key=bandwidth)
    return max(renditions, key=bandwidth)


def _size(choice: str) -> tuple[int, int] | None:
    width, sep, height = choice.lower().partition("x")
    return (int(width), int(height)) if sep and width.isdigit() and height.isdigit() else None


@dataclass
class _Walk:
    """The playlists fetched so far for one stream and the attempts they took."""

    session: Session
    seen: list[str]
    attempts: int

    def fetch(self, url: str, depth: int) -> Master | Media:
        if urldefrag(url).url in self.seen:
            raise StreamRefused(f"playlist loop: {url} was already read", url,
                                code="playlist_loop")
        if depth >= MAX_DEPTH:
            raise StreamRefused(f"playlists nested deeper than {MAX_DEPTH}", url,
                                code="playlist_too_deep")
        self.seen.append(urldefrag(url).url)
        fetched = fetch_playlist(self.session, url)
        self.attempts += fetched.attempts
        return _parse(fetched)

    def from_master(self, kind: StreamKind, master: Master, choice: str,
                    declared: tuple[int, int] | None, depth: int) -> Plan:
        variants = master.variants
        if not master.renditions:
            raise StreamRefused("the master playlist lists no renditions", master.url)
        rendition = choose(master.renditions, choice, declared)
        if master.protected or rendition.url in master.media:
            media = master.media.get(rendition.url)
            return self.plan(kind, variants, media, rendition.variant, master.protected)
        parsed = self.fetch(rendition.url, depth)
        if isinstance(parsed, Master):
            return self.from_master(kind, parsed, choice, declared, depth + 1)
        if rendition.audio_url and not parsed.protected and not parsed.live:
            audio = self.fetch(rendition.audio_url, depth)
            if isinstance(audio, Media):
                parsed = replace(parsed, audio=audio, protected=audio.protected)
        return self.plan(kind, variants, parsed, rendition.variant)

    def plan(self, kind: StreamKind, variants: tuple[Variant, ...], media: Media | None,
             chosen: Variant | None, protected: str | None = None) -> Plan:
        if media is not None:
            self._no_loops(media)
        live = media.live if media is not None else False
        drm = protected or (media.protected if media is not None else None)
        return Plan(kind, variants, media, chosen, drm, live, self.attempts)

    def _no_loops(self, media: Media) -> None:
        """A segment that is one of the playlists read is a loop, not media."""
        for track in (media, media.audio):
            for segment in track.segments if track is not None else ():
                if urldefrag(segment.part.url).url in self.seen:
                    raise StreamRefused(f"playlist loop: segment {segment.part.url} is a "
                                        "playlist of this stream", segment.part.url,
                                        code="playlist_loop")

