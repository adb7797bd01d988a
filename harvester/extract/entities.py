"""HTML character references decoded as browsers decode them, whatever their length.

:func:`html.unescape` turns a decimal reference into an ``int`` first, and
Python refuses to read an integer of more than 4,300 digits (``ValueError``):
one ``&#999…9;`` pasted into a page would otherwise stop its extraction.
"""

from __future__ import annotations

import html
import re

__all__ = ["unescape"]

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
