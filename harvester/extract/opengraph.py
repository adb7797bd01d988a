"""Find Open Graph videos (``og:video`` groups) and shape them as VideoObjects.

Promise: one blob per ``og:video`` group, in document order.  A group starts
at each ``og:video`` / ``og:video:url`` root whose URL differs from the
current group's; structured properties (``og:video:width`` ...) written
before the first root belong to it; ``og:video:secure_url`` stands in only
when the page has no other root.  Roots with an empty value yield nothing.
``og:video`` tags count anywhere in the page (some sites put a whole group in
``<body>``); the page-level tags (``og:title``, ``og:image``, ``video:*``) are
read from the head, up to 64 KB past the first ``og:video`` (some heads run on
for a megabyte of inline script), and from the run of ``<meta>`` tags around
each later ``og:video`` tag.  ``<meta name="og:video" value="...">`` is read like
``property``/``content``.

Mapping to ``blob.data`` (values as written, entities decoded once):
name←og:title, contentUrl←og:video, thumbnailUrl←first og:image,
duration←og:video:duration or video:duration, uploadDate←video:release_date,
width/height←og:video:width/height of the group, encodingFormat←og:video:type.

Speed: a substring test rejects pages without ``og:video``; then one compiled
regex walks the ``<meta>`` tags of the head and of those runs, with no HTML
parse and without reading the rest of the body.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvester.extract.entities import unescape
from harvester.extract.markers import Markers, scan
from harvester.extract.rawtext import tag_holding
from harvester.records import Blob, Syntax

__all__ = ["HEAD_READ_PAST", "find_blobs", "meta_tags"]

_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_META_RUN = re.compile(r"(?:<meta\b[^>]*>\s*)+", re.IGNORECASE)
_BODY = re.compile(r"<body\b", re.IGNORECASE)
# How far back the "<" of a meta tag may be from a place inside it.
_TAG_REACH = 4096
# How far past the first og:video the head's page-level tags are read: they sit
# with the og:video tags, and some heads run on for a megabyte of inline script.
HEAD_READ_PAST = 64 * 1024
_ATTR = re.compile(r"""([^\s=/>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")

_ROOTS = ("og:video", "og:video:url")
_GROUP_KEYS = {
    "og:video:width": "width", "og:video:height": "height",
    "og:video:type": "encodingFormat", "og:video:duration": "duration",
    "og:video:secure_url": "secure_url",
}
_PAGE_KEYS = ("og:title", "og:image", "og:image:url", "video:duration",
              "video:release_date")
# Every key read contains one of these: other meta tags are not parsed.
_KEYS_READ = ("og:video", "og:title", "og:image", "video:duration", "video:release_date")


@dataclass(slots=True)
class _Group:
    url: str
    offset: int
    tags: list[str] = field(default_factory=list)
    props: dict[str, str] = field(default_factory=dict)


def find_blobs(text: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """Every og:video group on the page, as blobs with ``data`` set."""
    found = (markers or scan(text)).og_video_at
    if not found:
        return
    tags = [tag for start, end in _meta_regions(text, found)
            for tag in meta_tags(text, mentioning=_KEYS_READ, start=start, end=end)]
    groups = _groups(tags, _ROOTS) or _groups(tags, ("og:video:secure_url",))
    if not groups:
        return
    page_props = _page_props(tags)
    for group in groups:
        yield Blob(page=page, syntax=Syntax.OPENGRAPH, offset=group.offset,
                   raw="\n".join(group.tags), data=_video(group, page_props))


def _meta_regions(text: str, og_video_at: Sequence[int]) -> list[tuple[int, int]]:
    """Where the Open Graph tags are read: from the page's start to the ``<body``
    after the first ``og:video`` (at most :data:`HEAD_READ_PAST` characters past
    it), and the run of ``<meta>`` tags around each ``og:video`` after that
    (sorted, not overlapping)."""
    head_end = _head_end(text, og_video_at[0], og_video_at[0] + HEAD_READ_PAST)
    regions = [(0, head_end)]
    # The last offset found in no meta tag: no tag that holds a later offset, nor a
    # run of meta tags around it, reaches back past it (it is not white space), so
    # each later look back ends there and the page is looked through once.
    # Offsets before the next "<" after a miss are missed too (no tag starts between),
    # so a stretch of page full of mentions costs one look, not one per mention.
    missed, next_tag = head_end, 0
    for at in og_video_at:
        if at < regions[-1][1] or at < next_tag:
            continue
        run = _meta_run_around(text, at, max(head_end, missed))
        if run is None:
            missed = at
            next_tag = text.find("<", at)
            next_tag = len(text) if next_tag < 0 else next_tag
        else:
            regions.append(run)
    return regions


def _meta_run_around(text: str, at: int, floor: int) -> tuple[int, int] | None:
    """The run of ``<meta>`` tags (with only white space between) whose tag holds
    ``at``, found from that tag outwards; ``None`` when ``at`` is not in a meta tag."""
    start = tag_holding(text, at, _TAG_REACH, floor)
    if start is None or not _META.match(text, start):
        return None
    while True:  # back over the meta tags just before
        before = start
        while before > floor and text[before - 1].isspace():
            before -= 1
        if before <= floor or text[before - 1] != ">":
            break
        previous = text.rfind("<", max(floor, before - _TAG_REACH), before)
        if previous < 0 or _META.fullmatch(text, previous, before) is None:
            break
        start = previous
    run = _META_RUN.match(text, start)
    return None if run is None else (run.start(), run.end())


def _head_end(text: str, start: int, limit: int) -> int:
    """Where ``<body`` starts between ``start`` (the first og:video, normally in the
    head) and ``limit``; else ``limit`` (or the page's end).

    A lower-case tag is looked for first, so an upper-case one before it would
    be passed over.
    """
    limit = min(limit, len(text))
    at = text.find("<body", start, limit + 5)  # the usual spelling: a fast substring search
    if 0 <= at < limit and _BODY.match(text, at):
        return at
    body = _BODY.search(text, start, limit + 5)  # <BODY>, <Body> ...
    return body.start() if body and body.start() < limit else limit


def meta_tags(
    text: str, mentioning: tuple[str, ...] = (), start: int = 0, end: int | None = None,
) -> Iterator[tuple[int, str, str, str]]:
    """``(offset, key, value, tag)`` for each ``<meta>`` with a property/name.

    Both ``property``/``content`` and the non-standard ``name``/``value`` forms
    are read; attribute values are entity-decoded once, as an HTML parser would.
    With ``mentioning``, only tags whose text holds one of those lower-case
    strings (in any case) are read: the others' attributes are never parsed.
    ``start``/``end`` limit the search to that part of ``text``.
    """
    mentions = _mentions(mentioning) if mentioning else None
    for match in _META.finditer(text, start, len(text) if end is None else end):
        if mentions is not None and mentions.search(match.group(0).lower()) is None:
            continue
        attrs = {m.group(1).lower(): _attr_value(m) for m in _ATTR.finditer(match.group(0), 5)}
        key = attrs.get("property") or attrs.get("name")
        if not key:
            continue
        value = attrs.get("content", attrs.get("value", ""))
        yield match.start(), key.strip().lower(), value, match.group(0)


@functools.lru_cache(maxsize=8)
def _mentions(words: tuple[str, ...]) -> re.Pattern[str]:
    """A search that finds one of ``words`` in a string where a test per word would:
    one pass in C over a tag's text instead of a Python loop over the words."""
    return re.compile("|".join(map(re.escape, words)))


def _attr_value(m: re.Match[str]) -> str:
    # Groups 2-4 are the three quotings; the one that matched is the last index.
    raw = m.group(m.lastindex or 0) if (m.lastindex or 0) > 1 else ""
    return unescape(raw) if "&" in raw else raw


def _groups(tags: list[tuple[int, str, str, str]], roots: tuple[str, ...]) -> list[_Group]:
    groups: list[_Group] = []
    pending: dict[str, str] = {}
    pending_tags: list[str] = []
    for offset, key, value, tag in tags:
        if key in roots:
            url = value.strip()
            if not url:
                continue
            if not groups or groups[-1].url != url:
                # Properties written before the first root belong to it.
                first = not groups
                groups.append(_Group(url=url, offset=offset, tags=pending_tags if first else []))
                if first:
                    groups[-1].props.update(pending)
            groups[-1].tags.append(tag)
            continue
        if key in _GROUP_KEYS:
            target = groups[-1].props if groups else pending
            target.setdefault(key, value)
            (groups[-1].tags if groups else pending_tags).append(tag)
    return groups


def _page_props(tags: list[tuple[int, str, str, str]]) -> dict[str, str]:
    props: dict[str, str] = {}
    for _, key, value, _tag in tags:
        if key in _PAGE_KEYS and value.strip():
            props.setdefault(key, value)
    return props


def _video(group: _Group, page_props: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {"@type": "VideoObject"}
    if "og:title" in page_props:
        data["name"] = page_props["og:title"]
    data["contentUrl"] = group.url
    image = page_props.get("og:image") or page_props.get("og:image:url")
    if image:
        data["thumbnailUrl"] = image
    duration = group.props.get("og:video:duration") or page_props.get("video:duration")
    if duration:
        data["duration"] = duration
    if "video:release_date" in page_props:
        data["uploadDate"] = page_props["video:release_date"]
    for key in ("og:video:width", "og:video:height", "og:video:type"):
        if group.props.get(key):
            data[_GROUP_KEYS[key]] = group.props[key]
    return data
