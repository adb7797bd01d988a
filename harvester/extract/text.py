"""Find VideoObject JSON pasted into a page's visible text.

Some CMSs print the JSON-LD of an embedded player into the article body
instead of a script.  WordPress then "texturizes" it: straight quotes become
“ ” (″ after a digit), backslashes vanish, and in HTML the characters may
arrive as entities (``&#8220;@context&#8221;:&#8221;https://...``), with
``<br />`` for the line breaks of pretty-printed JSON.  A capture may also
end in the middle of a blob.

The promise: :func:`find_blobs` yields each such blob (an object whose first
key is quoted by any of those quote forms) that mentions ``VideoObject``,
with ``raw`` exactly as found in the page; blobs inside ``<script>``,
``<style>``, comments or tag attributes are not visible text and are left to
the other extractors.  Turning ``raw`` into JSON is :mod:`harvester.extract.repair`'s
job.  A page without the substring ``ideoObject`` costs one substring search,
and on the others only the text before each visible mention is searched.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from harvester.extract.markers import Markers, scan
from harvester.extract.rawtext import hidden_end
from harvester.records import Blob, Syntax

__all__ = ["MAX_SCAN_CHARS", "find_blobs"]

# How far one blob may run; a blob with no end (a cut-off capture) stops here.
MAX_SCAN_CHARS = 1024 * 1024

# Every way a JSON double quote is seen in texturized text or HTML.
QUOTE = (
    r"""(?:["“”″„]|&(?:quot|ldquo|rdquo|bdquo|Prime);"""
    r"""|&\#(?:0?34|822[0-2]|8243);|&\#[xX](?:0*22|201[cCdDeE]|2033);)"""
)
# Possessive: a gap is taken whole or not at all (giving part of one back could never
# let a quote or bracket match), so a long gap keeps no state for backtracking.
_GAP = r"(?:\s++|&nbsp;|<br\s*+/?>|</?p\b[^>]*+>)*+"
_START = re.compile(r"\{" + _GAP + QUOTE + r"\s*[@\w]")
_TOKEN = re.compile(
    r"(?P<esc>\\.)|(?P<quote>" + QUOTE + r")|(?P<open>[{\[])|(?P<close>[}\]])"
    r"|(?P<tag><[^>]*>?)|(?P<blank>\n[ \t\r]*\n)"
)
# Tags that may sit inside a pasted blob (line breaks, auto-links, emphasis).
_INLINE_TAG = re.compile(r"</?(?:br|wbr|a|span|em|strong|b|i|code)\b", re.IGNORECASE)
_PARAGRAPH_TAG = re.compile(r"</?p\b", re.IGNORECASE)
# After a paragraph break or blank line the blob goes on only if JSON follows.
_CONTINUES = re.compile(_GAP + r"(?:" + QUOTE + r"|[{}\[\],\d])")
# The gap itself: what a break that JSON follows is passed over with.
_GAP_RUN = re.compile(_GAP)


def find_blobs(text: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """Yield each pasted JSON object of ``text`` that mentions VideoObject.

    ``markers`` (from :func:`harvester.extract.markers.scan`) spares the page scan.
    Only the stretch before each visible ``VideoObject`` is searched for the
    blob's start: a mention inside a script, a comment or a tag is not in a
    pasted blob, and a blob ends before any script, comment or block tag.
    """
    # VideoObject and videoObject alike
    offsets = (markers or scan(text)).exact(text)
    visibility = _Visibility(text)
    pos = 0
    for at in offsets:
        if at < pos:
            continue  # inside a blob already read, or a script already skipped
        hidden = visibility.hidden_end(at)
        if hidden is not None:
            pos = hidden
            continue
        for blob, end in _blobs_before(text, page, max(pos, at - MAX_SCAN_CHARS), at,
                                       visibility):
            pos = end
            yield blob
        pos = max(pos, at + 1)


class _Visibility:
    """:func:`hidden_end` for many offsets of one page: each look back stops at the
    nearest earlier offset already found visible, so thousands of mentions cost
    one pass back over the page, not one each."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._visible = [0]  # sorted offsets found outside raw text (0: the start)

    def hidden_end(self, at: int) -> int | None:
        floor = self._visible[bisect.bisect_right(self._visible, at) - 1]
        end = hidden_end(self._text, at, floor)
        if end is None:
            bisect.insort(self._visible, at)
        return end


def _blobs_before(text: str, page: str, pos: int, at: int, visibility: _Visibility
                  ) -> Iterator[tuple[Blob, int]]:
    """The visible blobs that start in ``text[pos:at]``, with where each ends."""
    while (match := _START.search(text, pos, at)) is not None:
        start = match.start()
        hidden = visibility.hidden_end(start)
        if hidden is not None:
            pos = max(hidden, start + 1)
            continue
        end = _blob_end(text, start)
        raw = text[start:end].rstrip()
        if "ideoObject" in raw:
            yield Blob(page=page, syntax=Syntax.TEXT, offset=start, raw=raw), end
        pos = max(end, start + 1)


def _blob_end(text: str, start: int) -> int:
    """Where the object opened at ``start`` ends (its ``}``), or where text stops being JSON.

    A paragraph break or blank line that JSON follows is passed over with the
    whole gap after it, so a gap of any length is read once (stepping through
    it break by break would read its rest again at each one).
    """
    depth = 0
    in_string = False
    limit = min(len(text), start + MAX_SCAN_CHARS)
    pos = start
    while (token := _TOKEN.search(text, pos, limit)) is not None:
        pos = token.end()
        kind = token.lastgroup
        if kind == "quote":
            in_string = not in_string
        elif kind == "open" and not in_string:
            depth += 1
        elif kind == "close" and not in_string:
            depth -= 1
            if depth <= 0:
                return token.end()
        elif kind == "tag" and not _INLINE_TAG.match(token.group()):
            if not (_PARAGRAPH_TAG.match(token.group()) and _CONTINUES.match(text, pos)):
                return token.start()
            pos = _gap_end(text, pos)
        elif kind == "blank":
            if not _CONTINUES.match(text, pos):
                return token.start()
            pos = _gap_end(text, pos)
    return limit


def _gap_end(text: str, pos: int) -> int:
    """The end of the run of blanks, line breaks and paragraph tags at ``pos``."""
    gap = _GAP_RUN.match(text, pos)
    return pos if gap is None else gap.end()
