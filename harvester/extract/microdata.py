"""Find microdata VideoObject items (``itemscope itemtype=".../VideoObject"``).

Promise: one blob per itemscope element whose itemtype contains
``VideoObject`` (any case), in document order, nested VideoObjects included.
``blob.data`` is a JSON-LD-shaped dict: ``"@type": "VideoObject"``, property
names exactly as written (``thumbnailURL`` stays ``thumbnailURL``; normalising
is a later stage), nested items as nested dicts (a thumbnail ImageObject keeps
its own ``url``/``width``/``height``).  A property given several different
values becomes a list; identical repeats collapse to one value.

Values follow Google and extruct: ``meta``→content, ``link``/``a``/``area``→href,
media elements→src, ``object``→data, ``time``→datetime, any other element
with a ``content=`` attribute→content, else the whitespace-collapsed text.

Speed: most pages carry no microdata video, so a substring search for
VideoObject inside an ``itemtype=`` attribute rejects them before any parse;
on the others only the items are parsed, not the page
(:func:`harvester.extract.html.parse_element`).  A start tag inside a script
or comment is not an item.  Items nested in items are each read from their own
start; should that read more than eight times the page, the page is parsed
whole instead (where lxml, like libxml2, stops nesting at 255 levels).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from harvester.extract.html import (
    element_text,
    outer_html,
    parse,
    parse_items,
    video_type_tags,
)
from harvester.extract.markers import Markers, scan
from harvester.records import Blob, Syntax

__all__ = ["find_blobs", "item_data"]

_HINT = re.compile(r"\bitemtype\s*=", re.IGNORECASE)

_URL_ATTR = {
    "a": "href", "area": "href", "link": "href",
    "img": "src", "video": "src", "audio": "src", "source": "src", "iframe": "src",
    "embed": "src", "track": "src", "object": "data",
    "time": "datetime", "data": "value", "meter": "value",
}

Value = str | dict[str, Any]


def find_blobs(text: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """Every microdata VideoObject item on the page, as blobs with ``data`` set."""
    offsets = video_type_tags(text, _HINT, (markers or scan(text)).video)
    if not offsets:
        return
    # Each item is parsed on its own, from its start tag (a nested video item
    # has its own tag, so its own blob), unless ``itemref`` reaches outside it
    # or items nest so deep that reading each from its start costs too much.
    def read(at: int, el: etree._Element | None) -> tuple[Blob | None, bool]:
        """The item's blob (when it is a video item) and whether it uses ``itemref``."""
        if el is None:
            return None, False
        refers = bool(_REFERS(el))
        if refers or not _is_video_item(el):
            return None, refers
        return Blob(page=page, syntax=Syntax.MICRODATA, offset=at, raw=outer_html(el),
                    data=item_data(el, video=True)), False

    items, too_deep = parse_items(text, offsets, keeps=_MEANINGFUL,
                                  holds_value=_holds_text_value, convert=read)
    if too_deep or any(refers for _, refers in items):
        yield from _whole_page_blobs(text, page, offsets)
        return
    yield from (blob for blob, _ in items if blob is not None)


def _whole_page_blobs(text: str, page: str, offsets: list[int]) -> Iterator[Blob]:
    """The items found in a parse of the whole page (what ``itemref`` ids need)."""
    root = parse(text)
    if root is None:
        return
    # XPath walks the tree in C; only itemscope elements reach Python.
    items = [el for el in root.xpath("//*[@itemscope]") if _is_video_item(el)]
    for index, el in enumerate(items):
        yield Blob(
            page=page, syntax=Syntax.MICRODATA, offset=offsets[min(index, len(offsets) - 1)],
            raw=outer_html(el), data=item_data(el, video=True),
        )


# Whether an item or an element in it has itemref (compiled once, not per item).
_REFERS = etree.XPath("boolean(descendant-or-self::*[@itemref])")

# What a big item keeps while it is read (see parse_element): its properties and items.
_MEANINGFUL = frozenset({"itemprop", "itemscope", "itemtype", "itemid", "itemref"})


def _holds_text_value(el: etree._Element) -> bool:
    """A property whose value may be its text: nothing inside it may be dropped."""
    return el.get("itemprop") is not None and el.get("itemscope") is None


def _is_video_item(el: etree._Element) -> bool:
    if not isinstance(el.tag, str) or el.get("itemscope") is None:
        return False
    return "videoobject" in (el.get("itemtype") or "").lower()


def item_data(el: etree._Element, *, video: bool = False) -> dict[str, Any]:
    """The properties of one itemscope element (``video`` forces ``@type``)."""
    data: dict[str, Any] = {}
    itemtype = (el.get("itemtype") or "").strip()
    if video:
        data["@type"] = "VideoObject"
    elif itemtype:
        data["@type"] = itemtype.rsplit("/", 1)[-1] if " " not in itemtype else itemtype
    if el.get("itemid"):
        data["@id"] = el.get("itemid")
    values: dict[str, list[Value]] = {}
    for prop_el in _property_elements(el):
        value = _value(prop_el)
        for name in (prop_el.get("itemprop") or "").split():
            bucket = values.setdefault(name, [])
            if value not in bucket:
                bucket.append(value)
    for name, found in values.items():
        data[name] = found[0] if len(found) == 1 else found
    return data


def _property_elements(item: etree._Element) -> Iterator[etree._Element]:
    """Elements carrying itemprop for ``item``: descendants (not inside nested
    items) plus those reached through ``itemref``."""
    roots = list(item)
    for ref in (item.get("itemref") or "").split():
        found = item.getroottree().getroot().xpath("(//*[@id=$ref])[1]", ref=ref)
        if isinstance(found, list) and found and isinstance(found[0], etree._Element):
            roots.append(found[0])
    stack = list(reversed(roots))
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if el.get("itemprop") is not None:
            yield el
        if el.get("itemscope") is None:
            stack.extend(reversed(el))


def _value(el: etree._Element) -> Value:
    if el.get("itemscope") is not None:
        return item_data(el)
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "meta" or el.get("content") is not None:
        return el.get("content") or ""
    attr = _URL_ATTR.get(tag)
    if attr is not None and el.get(attr) is not None:
        return el.get(attr) or ""
    return element_text(el)
