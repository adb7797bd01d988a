"""Turn the bytes of a page into text the way a browser would, without ever raising.

The promise of :func:`decode_html`: the encoding is chosen in the order a
browser uses — byte order mark, the HTTP ``charset`` parameter, a
``<meta charset>`` or ``<meta http-equiv="Content-Type">`` in the first
4 KB — then strict UTF-8, and last windows-1252.  Labels are read as the
WHATWG Encoding standard reads them: ``iso-8859-1``, ``latin1`` and
``us-ascii`` all mean windows-1252, so a Latin-1 page never comes out as
mojibake.  Bytes that are invalid in the chosen encoding become U+FFFD.

>>> decode_html(b"caf\\xe9", "text/html; charset=ISO-8859-1")
('café', 'cp1252')
"""

from __future__ import annotations

import codecs
import functools
import re

__all__ = ["ascii_compatible", "decode_html"]

# How far into the body a <meta> declaration is honoured (HTML's prescan reads 1024
# bytes; real pages put long <title>s and inline styles first, so allow more).
META_SCAN_BYTES = 4096

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    # Before UTF-16's: a UTF-32-LE mark begins with the UTF-16-LE one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE | re.ASCII)
# One pattern covers <meta charset=x> and <meta http-equiv content="...; charset=x">.
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([\w.:+-]+)""", re.IGNORECASE
)

# WHATWG label aliases whose meaning differs from Python's codec of the same name.
_WHATWG_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252",
    "l1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "iso-ir-100": "cp1252",
    "x-cp1252": "cp1252", "windows-1252": "cp1252", "cp819": "cp1252", "ibm819": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874",
    # A page cannot declare UTF-16 in its own ASCII-compatible bytes: browsers use UTF-8.
    "utf-16": "utf-8", "utf-16le": "utf-8", "utf-16be": "utf-8", "unicode": "utf-8",
    "x-user-defined": "cp1252",
}

# windows-1252 leaves five bytes undefined; browsers map them to the C1 control
# with the same number, which is exactly what latin-1 decoding gives.
_CP1252_FROM_LATIN1 = {
    b: ch for b in range(0x80, 0xA0)
    if (ch := bytes([b]).decode("cp1252", errors="ignore"))
}


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Return ``(text, encoding)`` for a page body; never raises.

    ``encoding`` is the Python codec name actually used (``utf-8``,
    ``cp1252``, ``utf-16-le`` ...).
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return _decode(body[len(bom):], name), name
    declared = _declared_encoding(body, content_type)
    if declared is not None:
        return _decode(body, declared), declared
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decode(body, "cp1252"), "cp1252"


def ascii_compatible(body: bytes, content_type: str | None) -> bool:
    """Whether ASCII text in the page is its ASCII bytes in whatever encoding
    :func:`decode_html` will choose (false for UTF-16 and the like), so that a
    search of the raw bytes for an ASCII word finds it exactly when a search
    of the decoded text would."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name == "utf-8"
    declared = _declared_encoding(body, content_type)
    return declared is None or _keeps_ascii(declared)


@functools.lru_cache(maxsize=64)
def _keeps_ascii(encoding: str) -> bool:
    try:
        return all(bytes([c]).decode(encoding) == chr(c) for c in range(0x20, 0x7F))
    except (LookupError, ValueError):
        return False


# Labels of the encodings that do not write ASCII as ASCII, as an HTTP header may give
# them (a page's own <meta> cannot: see _WHATWG_ALIASES).  Without a byte order mark
# "utf-16" is read little-endian, as browsers read it.
_HTTP_WIDE = {
    "utf-16": "utf-16-le", "utf-16le": "utf-16-le", "utf-16-le": "utf-16-le",
    "unicode": "utf-16-le", "ucs-2": "utf-16-le", "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be", "utf-32": "utf-32-le", "utf-32le": "utf-32-le",
    "utf-32-le": "utf-32-le", "utf-32be": "utf-32-be", "utf-32-be": "utf-32-be",
}


def _declared_encoding(body: bytes, content_type: str | None) -> str | None:
    """The first usable label from the HTTP header, then from a <meta> tag.

    An HTTP label of UTF-16 or UTF-32 is honoured for a page without a byte
    order mark when the page's first kilobyte holds a NUL byte (its ASCII
    characters are written wide); a page of plain ASCII bytes under such a
    header was mislabelled, and is read as if the header said nothing.
    """
    if content_type:
        wide, name = _http_charset(content_type)
        if wide is not None and b"\x00" in body[:1024]:
            return wide
        if name is not None:
            return name
    meta = _META_CHARSET.search(body, 0, META_SCAN_BYTES)
    if meta:
        return _codec_name(meta.group(1).decode("ascii", errors="replace"))
    return None


@functools.lru_cache(maxsize=256)
def _http_charset(content_type: str) -> tuple[str | None, str | None]:
    """The codecs an HTTP ``Content-Type`` names: (a UTF-16/32 one, or None; any other
    known one, or None).  Cached: a crawl repeats a handful of header values."""
    match = _HTTP_CHARSET.search(content_type)
    if match is None:
        return None, None
    wide = _HTTP_WIDE.get(match.group(1).strip().lower())
    return wide, None if wide is not None else _codec_name(match.group(1))


def _codec_name(label: str) -> str | None:
    """Map an encoding label to a Python codec name, or ``None`` if unknown."""
    label = label.strip().strip("'\"").lower()
    if label in _WHATWG_ALIASES:
        return _WHATWG_ALIASES[label]
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    # codecs also knows bytes-to-bytes transforms (base64, zlib, rot13): not charsets.
    if not getattr(info, "_is_text_encoding", True):
        return None
    return _WHATWG_ALIASES.get(info.name, info.name)


def _decode(body: bytes, encoding: str) -> str:
    if encoding == "cp1252":
        try:
            return body.decode("cp1252")  # the codec in C: most pages lack the five bytes
        except UnicodeDecodeError:
            # Via latin-1 so that the five undefined bytes decode instead of failing.
            return body.decode("latin-1").translate(_CP1252_FROM_LATIN1)
    try:
        return body.decode(encoding, errors="replace")
    except (LookupError, ValueError):  # a codec that misbehaves on this input
        return body.decode("latin-1").translate(_CP1252_FROM_LATIN1)
