"""A shared lxml parse for the HTML-attribute syntaxes (microdata, RDFa).

The promise: :func:`parse` never raises on bad markup and returns ``None``
only when lxml can make no tree at all; :func:`element_offset` maps an
element back to a character offset in the page text so that blobs from every
syntax carry comparable offsets.
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

from lxml import etree, html

_PARSER = html.HTMLParser(encoding="utf-8", recover=True, remove_comments=True)

# Elements whose text is not reader-visible content and must not leak into values.
_SKIP_TEXT = ("script", "style", "template")


def parse(text: str) -> html.HtmlElement | None:
    """The document tree of ``text`` (entities decoded once, as browsers do)."""
    # Bytes + explicit encoding: lxml refuses str input carrying an XML
    # encoding declaration, and lone surrogates must not abort the parse.
    data = text.encode("utf-8", "replace")
    try:
        root = html.document_fromstring(data, parser=_PARSER)
    except (etree.ParserError, ValueError):
        return None
    return root


class LineIndex:
    """Character offsets of line starts, to turn ``sourceline`` into an offset."""

    def __init__(self, text: str) -> None:
        self._text = text
        lengths = (len(line) for line in text.splitlines(keepends=True))
        self._starts = [0, *accumulate(lengths)]

    def element_offset(self, el: html.HtmlElement) -> int:
        """Offset of ``<tag`` on the element's source line (line start as fallback)."""
        line = el.sourceline or 1
        start = self._starts[min(line - 1, len(self._starts) - 1)]
        found = self._text.find("<" + str(el.tag), start)
        end = self._starts[min(line, len(self._starts) - 1)]
        return found if 0 <= found <= max(end, start) else start

    def line_of(self, offset: int) -> int:
        """1-based line number of a character offset."""
        return bisect.bisect_right(self._starts, offset)


_WS = re.compile(r"\s+")

# How a page may spell the type; str.find on each is far faster than a
# case-insensitive regex over the whole page.
_TYPE_SPELLINGS = ("VideoObject", "videoObject", "videoobject", "Videoobject", "VIDEOOBJECT")
_LOOKBEHIND = 400


def mentions_video_type(text: str, attribute: re.Pattern[str]) -> bool:
    """Whether some tag gives ``attribute`` (e.g. ``itemtype=``) a VideoObject value.

    Cheap pre-test run before any parse: finds each spelling of VideoObject
    and looks back within its tag for the attribute name.
    """
    for needle in _TYPE_SPELLINGS:
        at = text.find(needle)
        while at >= 0:
            window = text[max(0, at - _LOOKBEHIND):at]
            tag_start = window.rfind("<")
            if tag_start >= 0 and ">" not in window[tag_start:] and attribute.search(
                window, tag_start
            ):
                return True
            at = text.find(needle, at + len(needle))
    return False


def element_text(el: html.HtmlElement) -> str:
    """The element's text content, whitespace-collapsed, without script/style text."""
    parts: list[str] = []
    _collect_text(el, parts)
    return _WS.sub(" ", "".join(parts)).strip()


def _collect_text(el: html.HtmlElement, parts: list[str]) -> None:
    if isinstance(el.tag, str) and el.tag not in _SKIP_TEXT and el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TEXT:
            _collect_text(child, parts)
        if child.tail:
            parts.append(child.tail)


def outer_html(el: html.HtmlElement) -> str:
    """The element serialised back to HTML, without its tail text."""
    return str(html.tostring(el, encoding="unicode", with_tail=False))
