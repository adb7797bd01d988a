"""Find RDFa VideoObjects (elements whose ``typeof`` mentions VideoObject).

Promise: one blob per such element, in document order, with ``blob.data``
shaped like JSON-LD: ``"@type": "VideoObject"``, property names with any
vocabulary prefix or IRI stripped (``schema:name``, ``https://schema.org/name``
→ ``name``), nested ``typeof`` elements as nested dicts.  This is the common
schema.org subset of RDFa Lite, not a full RDFa processor: no prefix
mappings, ``about`` chaining or ``inlist``.

Values: ``content=`` first, then ``href``/``src``/``resource``/``data``,
``time``→datetime, else the whitespace-collapsed text.

Speed: a substring search rejects pages without ``typeof="...VideoObject"``
before any parse, and only the nodes are parsed, not the page.  Nodes nested
in nodes are each read from their own start; past a budget of reading (eight
times the page) the remaining nodes are left unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from harvester.extract.html import (
    element_text,
    outer_html,
    parse_items,
    video_type_tags,
)
from harvester.extract.markers import Markers, scan
from harvester.records import Blob, Syntax

__all__ = ["find_blobs"]

_HINT = re.compile(r"\btypeof\s*=", re.IGNORECASE)
_LINK_ATTRS = ("href", "src", "resource", "data")


def find_blobs(text: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """Every RDFa VideoObject on the page, as blobs with ``data`` set."""
    tags = video_type_tags(text, _HINT, (markers or scan(text)).video)
    # Each node parsed on its own from its start tag; a nested one has its own tag.
    # Nodes nested too deep to read each on its own are left (the list stops).
    def blob(at: int, el: etree._Element | None) -> Blob | None:
        if el is not None and "videoobject" in (el.get("typeof") or "").lower():
            return Blob(page=page, syntax=Syntax.RDFA, offset=at, raw=outer_html(el),
                        data=_node(el, video=True))
        return None

    blobs, _ = parse_items(text, tags, keeps=_MEANINGFUL, holds_value=_holds_text_value,
                           convert=blob)
    yield from (b for b in blobs if b is not None)


# What a big node keeps while it is read (see parse_element): its properties and nodes.
_MEANINGFUL = frozenset({"property", "rel", "typeof", "resource", "about", "vocab"})


def _holds_text_value(el: etree._Element) -> bool:
    """A property whose value may be its text: nothing inside it may be dropped."""
    return (el.get("property") is not None or el.get("rel") is not None) and (
        el.get("typeof") is None)


def _term(name: str) -> str:
    """``schema:name`` / ``https://schema.org/name`` → ``name``."""
    return re.split(r"[/#:]", name)[-1]


def _node(el: etree._Element, *, video: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {}
    types = (el.get("typeof") or "").split()
    if video:
        data["@type"] = "VideoObject"
    elif types:
        data["@type"] = _term(types[0])
    if el.get("resource") or el.get("about"):
        data["@id"] = el.get("resource") or el.get("about")
    values: dict[str, list[Any]] = {}
    for prop_el in _property_elements(el):
        value = _value(prop_el)
        for name in ((prop_el.get("property") or "") + " " + (prop_el.get("rel") or "")).split():
            bucket = values.setdefault(_term(name), [])
            if value not in bucket:
                bucket.append(value)
    for name, found in values.items():
        data[name] = found[0] if len(found) == 1 else found
    return data


def _property_elements(node: etree._Element) -> Iterator[etree._Element]:
    """Descendants with ``property``/``rel``, not looking inside nested ``typeof`` nodes."""
    stack = list(reversed(node))
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if el.get("property") is not None or el.get("rel") is not None:
            yield el
        if el.get("typeof") is None:
            stack.extend(reversed(el))


def _value(el: etree._Element) -> Any:
    if el.get("typeof") is not None:
        return _node(el)
    if el.get("content") is not None:
        return el.get("content")
    if el.tag == "time" and el.get("datetime") is not None:
        return el.get("datetime")
    for attr in _LINK_ATTRS:
        if el.get(attr) is not None:
            return el.get(attr)
    return element_text(el)
