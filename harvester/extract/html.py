"""lxml parsing for the HTML-attribute syntaxes (microdata, RDFa).

The promise: :func:`parse` and :func:`parse_element` never raise on bad
markup; :func:`video_type_tags` is the cheap pre-test that also gives each
found element its character offset, so that blobs from every syntax carry
comparable offsets without a line index.

Speed and memory: a page is not parsed whole to read one item.
:func:`parse_element` parses from the item's start tag only until lxml
closes that element, so the cost follows the item's size, not the page's
(a 50 MB page with a small video item costs a few kilobytes of tree).
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from lxml import etree, html

from harvester.extract.rawtext import outside_raw_text, tag_holding

__all__ = [
    "ITEM_BUDGET_MIN", "ITEM_BUDGET_PER_CHAR", "element_text", "outer_html", "parse",
    "parse_element", "parse_items", "video_type_tags",
]

T = TypeVar("T")

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


# First chunk fed to the pull parser; each next chunk doubles, up to the cap.
_FIRST_CHUNK = 4 * 1024
_MAX_CHUNK = 1024 * 1024
# Past this many characters an item is read again, pruning as it streams by.
BIG_ITEM_CHARS = 1024 * 1024
_TAG_NAME = re.compile(r"<([A-Za-z][^\s/>]*)")
# Names lxml can be asked to report (a NUL or a lone surrogate would make it raise).
_PLAIN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9:._-]*\Z")


class _ParseBudget:
    """How many characters the item parses of one page may read in all.

    Items nested in items are each read from their own start, so a page that
    nests thousands of them would cost time quadratic in its size; past the
    budget the caller turns to one parse of the whole page instead.
    """

    def __init__(self, chars: int) -> None:
        self.left = chars

    def take(self, chars: int) -> bool:
        """Spend ``chars``; ``False`` once the budget is gone."""
        self.left -= chars
        return self.left >= 0

    @property
    def spent(self) -> bool:
        return self.left < 0


def parse_element(
    text: str, start: int, *, keeps: frozenset[str] = frozenset(),
    holds_value: Callable[[etree._Element], bool] | None = None,
    budget: _ParseBudget | None = None,
) -> etree._Element | None:
    """The element whose start tag begins at ``text[start]``, parsed on its own.

    lxml reads from ``start`` only as far as it takes to close that element
    (by its end tag, by HTML's implied closing, or at the end of the page),
    so the element and its descendants come out as a whole-page parse would
    give them.  ``None`` when no element starts there.

    An element longer than :data:`BIG_ITEM_CHARS` (an item on ``<body>``, say)
    is read again and pruned as it streams by, so memory stays near the
    item's own markup rather than a tree of the page: a descendant is dropped
    when it closes if it has none of the attributes ``keeps``, kept
    descendants of its own, or a ``holds_value`` ancestor (whose text is a
    value).  ``None`` as well when ``budget`` runs out (see :class:`_ParseBudget`).
    """
    name = _TAG_NAME.match(text, start)
    if name is None or not _PLAIN_NAME.match(name.group(1)):
        return None  # not a tag an HTML parser reads as an element of that name
    tag = name.group(1).lower()
    # Events only for elements named like the target (nested namesakes included):
    # plain elements, no per-element Python class lookup.
    parser = etree.HTMLPullParser(events=("start", "end"), tag=tag, encoding="utf-8",
                                  remove_comments=True)
    target: etree._Element | None = None
    for pos, chunk in _chunks(text, start, _likely_end(text, start, tag)):
        if budget is not None and not budget.take(len(chunk)):
            return None
        if pos - start >= BIG_ITEM_CHARS and keeps:
            return _parse_pruned(text, start, tag, keeps, holds_value)
        parser.feed(chunk)
        for event, el in parser.read_events():
            if not isinstance(el, etree._Element):
                continue  # only start/end events were asked for: always elements
            if event == "start" and target is None:
                target = el
            elif event == "end" and el is target:
                return target
    with contextlib.suppress(etree.XMLSyntaxError):  # what was read is kept
        parser.close()
    return target


# The item parses of one page may read this many times the page (plus the minimum).
ITEM_BUDGET_PER_CHAR = 8
ITEM_BUDGET_MIN = 1 << 20


def parse_items(
    text: str, offsets: Iterable[int], *, keeps: frozenset[str],
    holds_value: Callable[[etree._Element], bool],
    convert: Callable[[int, etree._Element | None], T],
) -> tuple[list[T], bool]:
    """``convert(offset, element)`` for the element at each of ``offsets`` (sorted),
    each parsed on its own (:func:`parse_element`); a start tag inside a script or
    comment is passed over.  Each element is converted as soon as it is read and
    then let go, so a page of ten thousand items never holds ten thousand trees.

    Also whether the read budget ran out (the list then stops before the item
    that spent it): items nested thousands deep would cost time quadratic in
    the page, and the caller should read the page whole instead.
    """
    budget = _ParseBudget(ITEM_BUDGET_PER_CHAR * len(text) + ITEM_BUDGET_MIN)
    items: list[T] = []
    for at in outside_raw_text(text, offsets):
        el = parse_element(text, at, keeps=keeps, holds_value=holds_value, budget=budget)
        if budget.spent:
            return items, True
        items.append(convert(at, el))
    return items, False


def _chunks(text: str, start: int, first_end: int | None = None
            ) -> Iterator[tuple[int, bytes]]:
    """``(offset, bytes)`` pieces of ``text`` from ``start``, growing to :data:`_MAX_CHUNK`;
    the first ends at ``first_end`` when given."""
    pos, size = start, _FIRST_CHUNK
    if first_end is not None and first_end > start:
        yield pos, text[pos:first_end].encode("utf-8", "replace")
        pos = first_end
    while pos < len(text):
        # Bytes, as in parse(): lone surrogates must not abort the parse.
        yield pos, text[pos:pos + size].encode("utf-8", "replace")
        pos, size = pos + size, min(size * 2, _MAX_CHUNK)


@functools.lru_cache(maxsize=32)
def _namesakes(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}(?![^\s/>])", re.IGNORECASE)


def _likely_end(text: str, start: int, tag: str) -> int | None:
    """Just past the end tag that matches the start tag at ``start``, counting
    namesakes, or ``None`` within :data:`_FIRST_CHUNK` * 4 characters.

    Only a guess at how much to feed lxml first (HTML's implied closing and
    tags in scripts are not counted): lxml's parsing costs far more per
    kilobyte than this count, and a fixed first chunk mostly runs well past a
    small item's end.
    """
    depth = 0
    for match in _namesakes(tag).finditer(text, start, start + _FIRST_CHUNK * 4):
        depth += -1 if match.group(1) else 1
        if depth <= 0:
            close = text.find(">", match.end())
            return None if close < 0 else close + 1
    return None


def _parse_pruned(text: str, start: int, tag: str, keeps: frozenset[str],
                  holds_value: Callable[[etree._Element], bool] | None) -> etree._Element | None:
    """:func:`parse_element` for a big element: descendants without meaning dropped on close."""
    parser = etree.HTMLPullParser(events=("start", "end"), encoding="utf-8",
                                  remove_comments=True)
    target: etree._Element | None = None
    in_values = 0  # open elements whose text is a property value: nothing inside is dropped
    value_elements: set[etree._Element] = set()
    for _, chunk in _chunks(text, start):
        parser.feed(chunk)
        for event, el in parser.read_events():
            if not isinstance(el, etree._Element):
                continue
            if target is None:
                if event == "start" and el.tag == tag:
                    target = el
                continue
            if event == "start":
                if holds_value is not None and holds_value(el):
                    value_elements.add(el)
                    in_values += 1
            elif el is target:
                return target
            elif el in value_elements:
                value_elements.discard(el)
                in_values -= 1
            elif not in_values and not len(el) and keeps.isdisjoint(el.attrib):
                parent = el.getparent()
                if parent is not None:
                    parent.remove(el)
    with contextlib.suppress(etree.XMLSyntaxError):
        parser.close()
    return target


_WS = re.compile(r"\s+")

_LOOKBEHIND = 400


def video_type_tags(text: str, attribute: re.Pattern[str], hits: Iterable[int]) -> list[int]:
    """Offsets of the tags that give ``attribute`` (``itemtype=``) a VideoObject value.

    Cheap pre-test run before any parse (an empty list means: do not parse),
    and, since tags appear in document order, the offsets of the elements a
    parse will find.  ``hits`` are the VideoObject offsets from
    :func:`harvester.extract.markers.scan`; each hit's tag is looked back on
    for the attribute name.
    """
    found: list[int] = []
    for at in hits:
        tag_start = tag_holding(text, at, _LOOKBEHIND)
        if tag_start is not None and attribute.search(text, tag_start, at) and (
                not found or found[-1] != tag_start):
            found.append(tag_start)
    return found


def element_text(el: etree._Element) -> str:
    """The element's text content, whitespace-collapsed, without script/style text."""
    parts: list[str] = []
    _collect_text(el, parts)
    return _WS.sub(" ", "".join(parts)).strip()


def _collect_text(el: etree._Element, parts: list[str]) -> None:
    if isinstance(el.tag, str) and el.tag not in _SKIP_TEXT and el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str) and child.tag not in _SKIP_TEXT:
            _collect_text(child, parts)
        if child.tail:
            parts.append(child.tail)


def outer_html(el: etree._Element) -> str:
    """The element serialised back to HTML, without its tail text."""
    return str(html.tostring(el, encoding="unicode", with_tail=False))
