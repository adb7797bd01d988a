"""Find every ``<script type="application/ld+json">`` body in a page, fast.

The promise: one compiled-regex scan, no HTML parser.  The ``type``
attribute is found in any attribute order, quoted with ``"``, ``'`` or not at
all, in any case, with or without a ``; charset=`` parameter.  Each body is
yielded as a :class:`~harvester.records.Blob` with ``raw`` = the script text
as found (parsing and repair are :mod:`harvester.repair`'s job).  A script
with no closing tag runs to the end of the page (a truncated capture).
Whitespace-only scripts are skipped.  The scan stays linear whatever a
script's size; :mod:`harvester.repair` refuses to parse an oversized one.

>>> [b.raw for b in find_blobs('<SCRIPT type=application/ld+json>{}</SCRIPT>', "p")]
['{}']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from harvester.extract.rawtext import TOO_FAR, tags_before
from harvester.records import Blob, Syntax

__all__ = ["blobs_of", "enclosing_script_spans", "find_blobs", "script_spans"]

# Pre-check: "+json" in any case. Its leading literal "+" makes the scan a fast
# character search (0.8 ms for 2.7 MB, four times faster than three `in` tests).
_MAYBE_LD_JSON = re.compile(r"\+[jJ][sS][oO][nN]")
# The opening tag, whose attributes mention type=application/ld+json.
_OPEN = re.compile(
    r"""<script\b[^>]*?\btype\s*=\s*["']?\s*application/ld\+json\b[^>]*>""",
    re.IGNORECASE,
)
_CLOSE = re.compile(r"</script", re.IGNORECASE)


def script_spans(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each ld+json script body, in document order."""
    pos = 0
    while (opening := _next_open(text, pos)) is not None:
        start = opening.end()
        closing = _CLOSE.search(text, start)
        end = closing.start() if closing else len(text)
        yield start, end
        pos = closing.end() if closing else end


def _next_open(text: str, pos: int) -> re.Match[str] | None:
    """``_OPEN.search(text, pos)``, but led by the fast ``+json`` search.

    Every opening tag holds a ``+json`` and no ``>`` before it, so it starts
    after the last ``>`` before that ``+json`` and ends at the first ``>``
    after it: the case-blind tag pattern only runs on that one tag.
    """
    while (hint := _MAYBE_LD_JSON.search(text, pos)) is not None:
        at = hint.start()
        tag_from = max(pos, text.rfind(">", pos, at) + 1)
        tag_end = text.find(">", at)
        if tag_end < 0:
            return None  # no tag can close: _OPEN needs a ">"
        opening = _OPEN.search(text, tag_from, tag_end + 1)
        if opening is not None:
            return opening
        pos = hint.end()
    return None


def enclosing_script_spans(text: str, offsets: Iterable[int]) -> list[tuple[int, int]]:
    """The ld+json script bodies that hold one of ``offsets`` (sorted), in order.

    The same spans as :func:`script_spans` gives for those scripts, found by
    looking back from each offset for the nearest script tag, so the cost
    follows the number of offsets rather than the page's size: a page whose
    video mentions are all in two scripts never has its other megabytes read.
    """
    wanted = list(offsets)
    spans: list[tuple[int, int]] = []
    for at in wanted:
        if spans and spans[-1][0] <= at < spans[-1][1]:
            continue
        opening = _script_tag_before(text, at)
        if opening is _TOO_FAR:
            return _spans_holding(script_spans(text), wanted)
        if isinstance(opening, re.Match):
            closing = _CLOSE.search(text, opening.end())
            end = closing.start() if closing else len(text)
            if at < end:
                spans.append((opening.end(), end))
    return spans


_TOO_FAR = object()
_SCRIPT_LEADS = frozenset("sS/")


def _script_tag_before(text: str, at: int) -> re.Match[str] | object | None:
    """The ld+json opening tag of the script ``at`` is in; ``None`` if in none.

    Steps back from tag to tag: the nearest ``<script`` or ``</script`` decides
    (a ``<!--`` does not: inside a script it is text).  ``_TOO_FAR`` when there
    are too many tags to step over.
    """
    for start in tags_before(text, at, _SCRIPT_LEADS):
        if start == TOO_FAR:
            return _TOO_FAR
        head = text[start:start + 8].lower()
        if head.startswith("<script"):
            opening = _OPEN.match(text, start)
            return opening if opening is not None and opening.end() <= at else None
        if head == "</script":
            return None
    return None


def _spans_holding(spans: Iterable[tuple[int, int]], offsets: list[int]
                   ) -> list[tuple[int, int]]:
    """Those of ``spans`` (sorted) that hold at least one of ``offsets`` (sorted)."""
    held: list[tuple[int, int]] = []
    i = 0
    for start, end in spans:
        while i < len(offsets) and offsets[i] < start:
            i += 1
        if i < len(offsets) and offsets[i] < end:
            held.append((start, end))
    return held


def find_blobs(text: str, page: str) -> Iterator[Blob]:
    """Yield one JSON-LD blob per non-empty ld+json script of ``text``."""
    return blobs_of(text, page, script_spans(text))


def blobs_of(text: str, page: str, spans: Iterable[tuple[int, int]]) -> Iterator[Blob]:
    """The blobs of the script bodies ``spans`` (from :func:`script_spans`)."""
    for start, end in spans:
        raw = text[start:end]
        if raw.strip():
            yield Blob(page=page, syntax=Syntax.JSON_LD, offset=start, raw=raw)
