"""HTML character references in values pasted into pages, decoded as browsers decode them.

:func:`html.unescape` turns a decimal reference into an ``int`` first, and
Python refuses to read an integer of more than 4,300 digits (``ValueError``):
one ``&#999…9;`` pasted into a page would otherwise stop its extraction.
"""

from __future__ import annotations

import html
import re

__all__ = ["STRAY_QUOTES", "decode_entities", "unescape"]

#: Quotes a CMS or an editor leaves around a value pasted as text.
STRAY_QUOTES = "\"'`“”„‟″‶‘’‚‛′‵«»"

# A named or numeric reference short enough to name a character; ``&`` not followed
# by one is text (a query such as ``?a=1&copy=2`` is left alone).
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")

# A decimal reference of eight digits or more (after its leading zeros) names no
# character (the last is U+10FFFF, 1114111): html.unescape gives U+FFFD for it.
_LONG_DECIMAL = re.compile(r"&#(0*)([0-9]{8,})")


def unescape(text: str) -> str:
    """:func:`html.unescape`, which never raises: a decimal reference too long for an
    ``int`` is the replacement character, as any reference beyond U+10FFFF is."""
    if "&#" in text:
        text = _LONG_DECIMAL.sub(_shortened, text)
    return html.unescape(text)


def _shortened(found: re.Match[str]) -> str:
    digits = found[2].lstrip("0")
    return "&#65533" if len(digits) >= 8 else "&#" + (digits or "0")


def decode_entities(text: str) -> str:
    """Decode ``&amp;``-style entities, twice at most (pages double-escape: ``&amp;amp;``)."""
    if "&" not in text:
        return text
    for _ in range(2):
        decoded = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
        if decoded == text:
            break
        text = decoded
    return text
