"""Find every ``<script type="application/ld+json">`` body in a page, fast.

The promise: one compiled-regex scan, no HTML parser.  The ``type``
attribute is found in any attribute order, quoted with ``"``, ``'`` or not at
all, in any case, with or without a ``; charset=`` parameter.  Each body is
yielded as a :class:`~harvester.records.Blob` with ``raw`` = the script text
as found (parsing and repair are :mod:`harvester.extract.repair`'s job).  A script
with no closing tag runs to the end of the page (a truncated capture).
Whitespace-only scripts are skipped.  The scan stays linear whatever a
script's size; :mod:`harvester.extract.repair` refuses to parse an oversized one.

>>> [b.raw for b in find_blobs('<SCRIPT type=application/ld+json>{}</SCRIPT>', "p")]
['{}']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from harvester.extract.rawtext import TOO_FAR, tag_holding, tags_before
from harvester.records import Blob, Syntax

__all__ = ["blobs_of", "enclosing_script_spans", "find_blobs", "script_spans"]

# Pre-check: "+json" in any case.  Its leading literal "+" lets the regex engine
# jump from "+" to "+" (a rare character in pages) in one pass, where a test per
# spelling would read the whole page once for each.
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
    # Offsets come in order: a walk back need not pass the tag that decided the
    # previous offset (a walk that reaches it without a decision means "in no
    # ld+json script", as that one did), so each stretch of page is walked once.
    # Offsets inside a stretch already decided (a script of any type, an
    # unclosed tag) are skipped without a walk, so the page's megabytes of
    # mentions in one script cost one look back, not one each.
    floor = 0
    decided_until = 0
    for at in wanted:
        if at < decided_until:
            continue
        if _in_type_attribute(text, at):
            # A microdata/RDFa type: a script holding a VideoObject node also
            # names it in its JSON, so this mention need not be looked up.
            continue
        opening, decided_at = _script_tag_before(text, at, floor)
        if opening is _TOO_FAR:
            return _spans_holding(script_spans(text), wanted)
        if decided_at is None:
            floor = at  # no script tag between the last decision and here
            continue
        if isinstance(opening, re.Match):
            closing = _CLOSE.search(text, opening.end())
            end = closing.start() if closing else len(text)
            if at < end:
                spans.append((opening.end(), end))
            floor = decided_until = end
        elif text.startswith("</", decided_at):
            floor = decided_at
        else:
            floor, decided_until = _not_ld_json_until(text, decided_at, at)
    return spans


def _not_ld_json_until(text: str, tag: int, at: int) -> tuple[int, int]:
    """For ``at`` after the ``<script`` at ``tag`` that is not an ld+json opening before
    ``at``: the floor for later walks and the end of the stretch known to hold no
    ld+json body (the script's body when its tag closed before ``at``, else the rest
    of the tag ``at`` is inside, which may still open an ld+json script)."""
    if text.find(">", tag, at) >= 0:
        closing = _CLOSE.search(text, at)
        end = closing.start() if closing else len(text)
        return end, end
    tag_end = text.find(">", at)
    return tag, len(text) if tag_end < 0 else tag_end + 1


# A tag's itemtype= or typeof= attribute, and how far back its "<" may be.
_TYPE_ATTRIBUTE = re.compile(r"\b(?:itemtype|typeof)\s*=", re.IGNORECASE)
_TAG_REACH = 400


def _in_type_attribute(text: str, at: int) -> bool:
    """Whether ``at`` is inside an ``itemtype=``/``typeof=`` value of an HTML tag."""
    tag_start = tag_holding(text, at, _TAG_REACH)
    return (tag_start is not None and text[tag_start + 1:tag_start + 2].isalpha()
            and _TYPE_ATTRIBUTE.search(text, tag_start, at) is not None)


_TOO_FAR = object()
_SCRIPT_LEADS = frozenset({"sc"})


def _script_tag_before(text: str, at: int, stop: int
                       ) -> tuple[re.Match[str] | object | None, int | None]:
    """The ld+json opening tag of the script ``at`` is in (``None`` if in none), and
    where the tag that decided it starts (``None`` when no tag in ``text[stop:at]`` did).

    Steps back from tag to tag: the nearest ``<script`` or ``</script`` decides
    (a ``<!--`` does not: inside a script it is text).  ``_TOO_FAR`` when there
    are too many tags to step over.
    """
    for start in tags_before(text, at, _SCRIPT_LEADS, stop):
        if start == TOO_FAR:
            return _TOO_FAR, None
        head = text[start:start + 8].lower()
        if head.startswith("<script"):
            # The match may not pass ``at``: an ``at`` inside the tag itself is in
            # no script body, and a tag with no ">" must not be read to the end.
            opening = _OPEN.match(text, start, at)
            return opening, start
        if head == "</script":
            return None, start
    return None, None


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
