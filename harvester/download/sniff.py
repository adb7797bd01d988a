"""Is this body media?  Magic bytes first, the server's Content-Type second.

A server's ``Content-Type`` is a claim: a login page or a soft 404 arrives as
``200 text/html``, and an HTML body is sometimes labelled ``video/mp4``.  So a
body is kept only when its first bytes carry a known media signature, and the
file extension comes from that signature, never from the URL or the headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: Bytes to collect before deciding (MPEG-TS needs two 188-byte packets).
SNIFF_BYTES = 512
#: The largest HLS playlist or DASH manifest read whole.
MAX_PLAYLIST_BYTES = 4 * 1024 * 1024

# Declared types that are never media, whatever the body starts with.
_TEXTUAL = ("text/", "application/json", "application/xhtml", "application/xml",
            "application/javascript", "application/ld+json", "application/problem")


@dataclass(frozen=True, slots=True)
class MediaType:
    """A recognised media format: MIME type and the extension we store it under."""

    mime: str
    ext: str

    @property
    def family(self) -> str:
        """``video``, ``audio`` or ``image``."""
        return self.mime.split("/", 1)[0]


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}


def _iso_bmff(head: bytes) -> MediaType:
    brand = head[8:12]
    if brand in (b"avif", b"avis"):
        return MediaType("image/avif", "avif")
    if brand in _HEIF_BRANDS:
        return MediaType("image/heic", "heic")
    if brand == b"qt  ":
        return MediaType("video/quicktime", "mov")
    if brand in (b"M4A ", b"M4B "):
        return MediaType("audio/mp4", "m4a")
    if brand.startswith(b"3g"):
        return MediaType("video/3gpp", "3gp")
    return MediaType("video/mp4", "mp4")


def _riff(head: bytes) -> MediaType | None:
    form = head[8:12]
    return {b"WEBP": MediaType("image/webp", "webp"),
            b"AVI ": MediaType("video/x-msvideo", "avi"),
            b"WAVE": MediaType("audio/wav", "wav")}.get(form)


def _mpeg_ts(head: bytes) -> bool:
    # One sync byte is too weak a signal; ask for two packets in a row.
    return len(head) > 188 and head[0] == 0x47 and head[188] == 0x47


def _mpeg_audio(head: bytes) -> MediaType | None:
    if head.startswith(b"ID3"):
        return MediaType("audio/mpeg", "mp3")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x03
        if layer == 0:  # ADTS: MPEG-2/4 AAC in an MPEG audio frame header
            return MediaType("audio/aac", "aac")
        return MediaType("audio/mpeg", "mp3")
    return None


_PREFIXES: tuple[tuple[bytes, MediaType], ...] = (
    (b"\x1a\x45\xdf\xa3", MediaType("video/x-matroska", "mkv")),
    (b"OggS", MediaType("audio/ogg", "ogg")),
    (b"FLV\x01", MediaType("video/x-flv", "flv")),
    (b"\xff\xd8\xff", MediaType("image/jpeg", "jpg")),
    (b"\x89PNG\r\n\x1a\n", MediaType("image/png", "png")),
    (b"GIF87a", MediaType("image/gif", "gif")),
    (b"GIF89a", MediaType("image/gif", "gif")),
    (b"\x00\x00\x01\xba", MediaType("video/mpeg", "mpg")),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", MediaType("video/x-ms-asf", "asf")),
    (b"fLaC", MediaType("audio/flac", "flac")),
)


def sniff(head: bytes) -> MediaType | None:
    """The media format the first bytes announce, or ``None``.

    >>> sniff(b"\\x00\\x00\\x00\\x18ftypisom\\x00\\x00\\x02\\x00").ext
    'mp4'
    >>> sniff(b"<!doctype html>") is None
    True
    """
    if head[4:8] == b"ftyp":
        return _iso_bmff(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        is_webm = b"webm" in head[:64]
        return MediaType("video/webm", "webm") if is_webm else MediaType("video/x-matroska", "mkv")
    if head.startswith(b"RIFF"):
        return _riff(head)
    for prefix, media in _PREFIXES:
        if head.startswith(prefix):
            return media
    if _mpeg_ts(head):
        return MediaType("video/mp2t", "ts")
    return _mpeg_audio(head)


_BOM = b"\xef\xbb\xbf"


def playlist_kind(head: bytes) -> str | None:
    """``"hls"`` or ``"dash"`` when the first bytes are an HLS playlist or a DASH
    manifest, whatever the URL or the server's Content-Type says; else ``None``.

    >>> playlist_kind(b"#EXTM3U\n#EXT-X-VERSION:3\n")
    'hls'
    >>> playlist_kind(b'<?xml version="1.0"?>\n<MPD xmlns="urn:mpeg:dash:schema:mpd:2011">')
    'dash'
    """
    text = head.removeprefix(_BOM).lstrip()
    if text.startswith(b"#EXTM3U"):
        return "hls"
    if text.startswith(b"<") and b"<MPD" in text[:SNIFF_BYTES]:
        return "dash"
    return None


def rest_of_playlist(head: bytes, chunks: Iterable[bytes | memoryview]) -> bytes | None:
    """``head`` and the rest of a playlist's body, or ``None`` once it passes
    :data:`MAX_PLAYLIST_BYTES` (the caller then leaves the body unread)."""
    parts, size = [head], len(head)
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_PLAYLIST_BYTES:
            return None
        parts.append(bytes(chunk))
    return b"".join(parts)


def textual(content_type: str | None) -> bool:
    """True when the declared type is a document (HTML, JSON, text), never media."""
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    return mime.startswith(_TEXTUAL)
