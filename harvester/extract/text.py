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
the other extractors.  Turning ``raw`` into JSON is :mod:`harvester.repair`'s
job.  A page without the substring ``ideoObject`` costs one substring search.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from harvester.extract.markers import Markers
from harvester.records import Blob, Syntax

__all__ = ["MAX_SCAN_CHARS", "find_blobs"]

# How far one blob may run; a blob with no end (a cut-off capture) stops here.
MAX_SCAN_CHARS = 1024 * 1024

# Every way a JSON double quote is seen in texturized text or HTML.
QUOTE = (
    r"""(?:["“”″„]|&(?:quot|ldquo|rdquo|bdquo|Prime);"""
    r"""|&\#(?:0?34|822[0-2]|8243);|&\#[xX](?:0*22|201[cCdDeE]|2033);)"""
)
_GAP = r"(?:\s|&nbsp;|<br\s*/?>|</?p\b[^>]*>)*"
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


def find_blobs(text: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """Yield each pasted JSON object of ``text`` that mentions VideoObject.

    ``markers`` (from :func:`harvester.extract.markers.scan`) spares the page scan.
    """
    # VideoObject and videoObject alike
    if not (markers.exact(text) if markers else "ideoObject" in text):
        return
    hidden: _HiddenSpans | None = None
    pos = 0
    while (match := _START.search(text, pos)) is not None:
        start = match.start()
        hidden = hidden or _HiddenSpans(text)  # built only once a candidate exists
        hidden_end = hidden.end_of(start)
        if hidden_end is not None:
            pos = max(hidden_end, start + 1)
            continue
        end = _blob_end(text, start)
        raw = text[start:end].rstrip()
        if "ideoObject" in raw:
            yield Blob(page=page, syntax=Syntax.TEXT, offset=start, raw=raw)
        pos = max(end, start + 1)


def _blob_end(text: str, start: int) -> int:
    """Where the object opened at ``start`` ends (its ``}``), or where text stops being JSON."""
    depth = 0
    in_string = False
    limit = min(len(text), start + MAX_SCAN_CHARS)
    for token in _TOKEN.finditer(text, start, limit):
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
            is_break = _PARAGRAPH_TAG.match(token.group())
            if not (is_break and _CONTINUES.match(text, token.end())):
                return token.start()
        elif kind == "blank" and not _CONTINUES.match(text, token.end()):
            return token.start()
    return limit


# Openers of text that is not visible; each hidden region runs to its closer.
_HIDDEN_OPEN = re.compile(r"<(?:(script|style|textarea|template)\b|!--)", re.IGNORECASE)
_HIDDEN_CLOSE = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE)
                 for name in ("script", "style", "textarea", "template")}
_COMMENT_CLOSE = re.compile("-->")
# How far back to look for the "<" of a tag whose attribute value holds the JSON.
_TAG_WINDOW = 64 * 1024


class _HiddenSpans:
    """Where text is not visible: scripts, styles, comments, and inside tags."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] = []
        self._ends: list[int] = []
        pos = 0
        # Jump from opener to closer: a lazy ".*?" regex over the page costs ten times more.
        while (opening := _HIDDEN_OPEN.search(text, pos)) is not None:
            name = opening.group(1)
            closer = _HIDDEN_CLOSE[name.lower()] if name else _COMMENT_CLOSE
            closing = closer.search(text, opening.end())
            pos = closing.end() if closing else len(text)
            self._starts.append(opening.start())
            self._ends.append(pos)

    def end_of(self, pos: int) -> int | None:
        """If ``pos`` is hidden, where the hiding element ends; else ``None``."""
        i = bisect.bisect_right(self._starts, pos) - 1
        if i >= 0 and pos < self._ends[i]:
            return self._ends[i]
        window = max(0, pos - _TAG_WINDOW)
        if self._text.rfind("<", window, pos) > self._text.rfind(">", window, pos):
            close = self._text.find(">", pos)  # inside a tag's attributes
            return len(self._text) if close < 0 else close + 1
        return None
