"""Where a page's characters are not markup a reader sees: scripts, styles,
textareas, comments, and the inside of tags.

The promise: :func:`raw_text_end` and :func:`hidden_end` (which also counts
a ``<template>``'s content as hidden) answer for one offset by looking back
from it to the nearest tag that decides (a ``<script`` or ``</script``,
``<!--`` ...), so their cost follows the distance to that tag, not the page's
size; past :data:`MAX_STEPS_BACK` tags they fall back to
reverse substring searches, which stay linear.  Tag names are matched in any
case.  Like a browser, a comment or raw-text element runs to its closer, or
to the end of the page when it has none.  Given an earlier offset already
found outside (``stop``), the look back ends there with the same answer, so
:func:`outside_raw_text` answers for thousands of offsets in one pass back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

__all__ = [
    "MAX_STEPS_BACK", "TOO_FAR", "hidden_end", "outside_raw_text", "raw_text_end", "tag_holding",
    "tags_before",
]

MAX_STEPS_BACK = 5000
# How far back to look for the "<" of a tag whose attribute value holds an offset.
TAG_WINDOW = 64 * 1024

_RAW_TEXT_ELEMENTS = ("script", "style", "textarea")
# Not shown to a reader either, though an HTML parser builds elements from it.
_HIDDEN_ELEMENTS = (*_RAW_TEXT_ELEMENTS, "template")
_CLOSERS = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN_ELEMENTS}
# How the names of the tags that decide begin (script, style, textarea, template, a comment).
_LEADS = frozenset({"sc", "st", "te", "!-"})
_RAW_TAG = re.compile(r"<(/?)(script|style|textarea|template)(?![^\s/>])", re.IGNORECASE)


def raw_text_end(text: str, at: int, stop: int = 0, *,
                 elements: tuple[str, ...] = _RAW_TEXT_ELEMENTS) -> int | None:
    """If ``at`` is inside a script, style, textarea or comment, where it ends; else ``None``.

    ``stop``: an earlier offset this function found outside all of them (or 0).
    The look back ends there, with the same answer as without it: an offset
    with no deciding tag between it and ``stop`` is where ``stop`` is.
    ``elements``: the elements whose content counts (a ``<template>`` too, for
    :func:`hidden_end`).
    """
    for start in tags_before(text, at, _LEADS, stop):
        if start == TOO_FAR:
            return _raw_text_end_by_search(text, at, elements)
        if text.startswith("<!--", start):
            if text.find("-->", start + 4, at) < 0:
                return _comment_end(text, at)
        else:
            name, closing = _tag_name(text, start)
            if name in elements:
                return None if closing else _element_end(text, name, at)
    return None


def outside_raw_text(text: str, offsets: Iterable[int]) -> list[int]:
    """Those of ``offsets`` (sorted) that :func:`raw_text_end` finds outside raw text.

    Each look back stops at the last offset found outside, so a page with
    thousands of items costs one pass back over it, not one per item.
    """
    kept: list[int] = []
    for at in offsets:
        if raw_text_end(text, at, kept[-1] if kept else 0) is None:
            kept.append(at)
    return kept


TOO_FAR = -1


def tags_before(text: str, at: int, leads: frozenset[str], stop: int = 0) -> Iterator[int]:
    """The starts of the tags in ``text[stop:at]``, nearest first, that may decide something.

    A tag may decide when the first two characters of its name, lower-cased,
    are in ``leads`` (``"sc"`` for script, ``"!-"`` for a comment): most tags
    (div, span, /a ...) are passed over on that.  After :data:`MAX_STEPS_BACK`
    tags of any kind it yields :data:`TOO_FAR` and stops, so the caller can
    turn to a search whose cost does not depend on how many tags there are.

    The nearest :data:`_FIRST_STEPS` tags are stepped over one by one (most walks
    end there); past them the page is read back in windows that double from
    :data:`_FIRST_WINDOW` characters: a regex finds the tags that may decide and a
    count the tags passed, so the tags that cannot decide cost no Python step each,
    and a walk reads at most twice the stretch its caller consumes (plus a window).
    """
    pos = at
    first_steps = _FIRST_STEPS if _FIRST_STEPS < MAX_STEPS_BACK else MAX_STEPS_BACK
    for _ in range(first_steps):
        start = text.rfind("<", stop, pos)
        if start < 0:
            return
        pos = start
        lead = text[start + 1:start + 3]
        if lead[:1] == "/":
            lead = text[start + 2:start + 4]
        if lead.lower() in leads:
            yield start
    if first_steps >= MAX_STEPS_BACK:
        yield TOO_FAR
        return
    deciding = _DECIDING.get(leads) or _deciding_tag(leads)
    yield from _tags_before_by_windows(text, pos, deciding, stop, first_steps)


def _tags_before_by_windows(text: str, top: int, deciding: re.Pattern[str], stop: int,
                            passed: int) -> Iterator[int]:
    """:func:`tags_before` on from ``top`` (a tag start already passed), ``passed``
    tags having been stepped over; ``deciding`` finds the tags that may decide."""
    size = _FIRST_WINDOW
    while top > stop:
        low = max(stop, top - size)
        # A tag's name may run past ``top`` (as it may past ``at``): read 3 more.
        starts = [m.start() for m in deciding.finditer(text, low, top + 3)]
        mark, steps = top, passed
        for start in reversed(starts):
            if start >= top:
                continue
            steps += text.count("<", start, mark)
            mark = start
            if steps > MAX_STEPS_BACK:
                yield TOO_FAR
                return
            yield start
        passed += text.count("<", low, top)
        if passed >= MAX_STEPS_BACK:
            yield TOO_FAR
            return
        top, size = low, min(size * 2, _MAX_WINDOW)


_FIRST_STEPS = 8
_FIRST_WINDOW = 256
_MAX_WINDOW = 256 * 1024


_DECIDING: dict[frozenset[str], re.Pattern[str]] = {}


def _deciding_tag(leads: frozenset[str]) -> re.Pattern[str]:
    """``<``, an optional ``/``, then one of ``leads`` in any ASCII case.

    The same test as lower-casing the name's first two characters: no other
    character lower-cases to an ASCII one but the Kelvin sign (to ``k``) and a
    dotted capital I (to ``i`` and a combining dot), so leads holding ``k`` or
    ``i`` are refused (and a lead starting with ``/``, which the test skips), by
    the first walk that reaches past its nearest tags.
    """
    if any(len(lead) != 2 or not lead.isascii() or lead != lead.lower() or lead[0] == "/"
           or "k" in lead or "i" in lead for lead in leads):
        raise ValueError(f"leads must be two lower-case ASCII characters, not k or i: {leads}")
    names = "|".join(re.escape(lead) for lead in sorted(leads))
    if len(_DECIDING) >= 16:  # callers use a few fixed sets: keep the table small anyway
        _DECIDING.clear()
    pattern = _DECIDING[leads] = re.compile(f"</?(?:{names})", re.IGNORECASE | re.ASCII)
    return pattern


def tag_holding(text: str, at: int, reach: int = TAG_WINDOW, floor: int = 0) -> int | None:
    """Where the tag whose inside (an attribute value, say) holds ``at`` starts: the
    last ``<`` at most ``reach`` characters back and not before ``floor``, with no
    ``>`` after it.  ``None`` when ``at`` is not inside a tag."""
    start = text.rfind("<", max(floor, at - reach), at)
    return None if start < 0 or text.find(">", start, at) >= 0 else start


def hidden_end(text: str, at: int, stop: int = 0) -> int | None:
    """Where the hidden stretch holding ``at`` ends, or ``None`` when ``at`` is visible
    text: the end of the tag ``at`` is inside (an attribute value; checked first,
    as it is the cheaper question), else as :func:`raw_text_end` (``stop`` as there)."""
    if tag_holding(text, at) is not None:
        close = text.find(">", at)
        return len(text) if close < 0 else close + 1
    return raw_text_end(text, at, stop, elements=_HIDDEN_ELEMENTS)


def _tag_name(text: str, start: int) -> tuple[str, bool]:
    """The lower-cased name of the tag at ``start`` if it is a raw-text one (else ``""``),
    and whether it is a closing tag."""
    match = _RAW_TAG.match(text, start)
    if match is None:
        return "", text.startswith("</", start)
    return match.group(2).lower(), bool(match.group(1))


def _element_end(text: str, name: str, at: int) -> int:
    closing = _CLOSERS[name].search(text, at)
    return closing.end() if closing else len(text)


def _comment_end(text: str, at: int) -> int:
    close = text.find("-->", at)
    return len(text) if close < 0 else close + 3


def _raw_text_end_by_search(text: str, at: int, elements: tuple[str, ...]) -> int | None:
    """The same answer from reverse searches for each opener (for pages with huge bodies)."""
    opened = text.rfind("<!--", 0, at)
    if opened >= 0 and text.find("-->", opened + 4, at) < 0:
        return _comment_end(text, at)
    for name in elements:
        for spelled in (name, name.upper()):
            start = text.rfind("<" + spelled, 0, at)
            if start >= 0 and text.rfind("</" + spelled, start, at) < 0:
                return _element_end(text, name, at)
    return None
