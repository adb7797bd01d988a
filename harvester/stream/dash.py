"""DASH manifests (MPD) read with lxml into :mod:`.model`.

A manifest lists every segment itself, so :func:`parse_dash` returns a
:class:`~harvester.stream.model.Master` whose renditions (the video
Representations) are already complete media, each with the best audio
Representation as its second track.  Segment addressing understood:
``SegmentTemplate`` (``$Number$`` with a duration or a ``SegmentTimeline``,
``$Time$``) and ``SegmentList``.  A ``ContentProtection`` element anywhere
means DRM; ``type="dynamic"`` means live.

Promise: never fetches (the parser resolves no entities and loads no DTD)
and raises only :class:`~harvester.errors.StreamRefused`.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urljoin

import isodate
from lxml import etree

from harvester.errors import StreamRefused
from harvester.records import Variant
from harvester.stream.model import MAX_SEGMENTS, Master, Media, Part, Rendition, Segment

__all__ = ["parse_dash"]

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_comments=True)
_TEMPLATE_FIELD = re.compile(r"\$(RepresentationID|Number|Time|Bandwidth)(%0(\d+)d)?\$|\$\$")
Element = etree._Element


def parse_dash(body: bytes, url: str) -> Master:
    """The video renditions of the MPD ``body`` read from ``url``."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise StreamRefused(f"unreadable DASH manifest: {exc}", url) from None
    try:
        return _master(root, url)
    except (ValueError, KeyError, TypeError) as exc:
        raise StreamRefused(f"unreadable DASH manifest: {exc!r}", url) from None


def _master(root: Element, url: str) -> Master:
    periods = _children(root, "Period")
    if len(periods) != 1:
        raise StreamRefused(f"{len(periods)} periods: only single-period manifests are read",
                            url, code="unsupported_stream")
    protected = "ContentProtection" if _find(root, "ContentProtection") else None
    live = (root.get("type") or "static") == "dynamic"
    base = _base(root, url)
    period = periods[0]
    seconds = _seconds(period.get("duration") or root.get("mediaPresentationDuration"))
    audio = _best_audio(period, _base(period, base), seconds, url)
    media: dict[str, Media] = {}
    renditions: list[Rendition] = []
    for rep, adaptation in _representations(period, "video"):
        rep_base = _base(rep, _base(adaptation, _base(period, base)))
        key = f"{url}#{rep.get('id') or len(renditions)}"
        variant = _variant(rep, adaptation)
        renditions.append(Rendition(variant, key))
        media[key] = Media(url=key, segments=_segments(rep, adaptation, rep_base, seconds, url),
                           live=live, protected=protected, width=variant.width,
                           height=variant.height, codecs=variant.codecs, audio=audio)
    return Master(url=url, renditions=tuple(renditions), protected=protected, live=live,
                  media=media)


def _local(element: Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: Element, name: str) -> list[Element]:
    return [c for c in element if _local(c) == name]


def _find(element: Element, name: str) -> bool:
    return any(_local(e) == name for e in element.iter())


def _base(element: Element, base: str) -> str:
    urls = _children(element, "BaseURL")
    return urljoin(base, (urls[0].text or "").strip()) if urls else base


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(isodate.parse_duration(value).total_seconds())
    except (isodate.ISO8601Error, ValueError, AttributeError):
        return None


def _kind(rep: Element, adaptation: Element) -> str:
    mime = rep.get("mimeType") or adaptation.get("mimeType") or ""
    kind = adaptation.get("contentType") or mime.split("/", 1)[0]
    if not kind and (rep.get("width") or adaptation.get("width")):
        kind = "video"
    return kind


def _representations(period: Element, kind: str) -> list[tuple[Element, Element]]:
    return [(rep, adaptation) for adaptation in _children(period, "AdaptationSet")
            for rep in _children(adaptation, "Representation") if _kind(rep, adaptation) == kind]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _variant(rep: Element, adaptation: Element) -> Variant:
    return Variant(width=_int(rep.get("width") or adaptation.get("width")),
                   height=_int(rep.get("height") or adaptation.get("height")),
                   bandwidth=_int(rep.get("bandwidth")),
                   codecs=rep.get("codecs") or adaptation.get("codecs"))


def _best_audio(period: Element, base: str, seconds: float | None, url: str) -> Media | None:
    reps = _representations(period, "audio")
    if not reps:
        return None
    rep, adaptation = max(reps, key=lambda pair: _int(pair[0].get("bandwidth")) or 0)
    rep_base = _base(rep, _base(adaptation, base))
    return Media(url=f"{url}#{rep.get('id') or 'audio'}",
                 segments=_segments(rep, adaptation, rep_base, seconds, url))


def _segments(rep: Element, adaptation: Element, base: str, seconds: float | None,
              url: str) -> tuple[Segment, ...]:
    templates = _children(rep, "SegmentTemplate") + _children(adaptation, "SegmentTemplate")
    if templates:
        attrs = {str(k): str(v) for t in reversed(templates) for k, v in t.attrib.items()}
        timeline = next((_children(t, "SegmentTimeline") for t in templates
                         if _children(t, "SegmentTimeline")), [])
        return _from_template(attrs, timeline, rep, base, seconds, url)
    lists = _children(rep, "SegmentList") + _children(adaptation, "SegmentList")
    if lists:
        return _from_list(lists[0], base, url)
    raise StreamRefused("no SegmentTemplate or SegmentList: single-file representations "
                        "are not read", url, code="unsupported_stream")


def _fill(template: str, rep: Element, number: int = 0, time: int = 0) -> str:
    values: dict[str, str | int] = {"RepresentationID": rep.get("id") or "", "Number": number,
                                    "Time": time, "Bandwidth": rep.get("bandwidth") or ""}

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        value = values[match.group(1)]
        width = match.group(3)
        return f"{int(value):0{int(width)}d}" if width else str(value)

    return _TEMPLATE_FIELD.sub(one, template)


def _from_template(attrs: dict[str, str], timeline: list[Element], rep: Element, base: str,
                   seconds: float | None, url: str) -> tuple[Segment, ...]:
    scale = int(attrs.get("timescale", "1") or 1)
    number = int(attrs.get("startNumber", "1") or 1)
    init = Part(urljoin(base, _fill(attrs["initialization"], rep))) \
        if attrs.get("initialization") else None
    media = attrs.get("media")
    if not media:
        raise StreamRefused("SegmentTemplate without media", url)
    times = _timeline(timeline[0], url) if timeline else _fixed(attrs, scale, seconds, url)
    return tuple(Segment(Part(urljoin(base, _fill(media, rep, number + i, start))),
                         duration / scale, init)
                 for i, (start, duration) in enumerate(times))


def _fixed(attrs: dict[str, str], scale: int, seconds: float | None,
           url: str) -> list[tuple[int, int]]:
    """Segments of a constant ``duration`` covering the period."""
    duration = int(attrs.get("duration", "0") or 0)
    if duration <= 0 or seconds is None:
        raise StreamRefused("SegmentTemplate without a duration or a timeline", url)
    count = math.ceil(round(seconds * scale / duration, 6))
    _check_count(count, url)
    last = seconds * scale - duration * (count - 1)
    return [(i * duration, duration if i < count - 1 else round(last)) for i in range(count)]


def _timeline(timeline: Element, url: str) -> list[tuple[int, int]]:
    """``<S t d r>`` entries as (start, duration) pairs."""
    out: list[tuple[int, int]] = []
    now = 0
    for entry in _children(timeline, "S"):
        now = int(entry.get("t", now))
        duration = int(entry.get("d", "0"))
        for _ in range(int(entry.get("r", "0")) + 1):
            out.append((now, duration))
            now += duration
            _check_count(len(out), url)
    return out


def _from_list(element: Element, base: str, url: str) -> tuple[Segment, ...]:
    scale = int(element.get("timescale", "1") or 1)
    duration = int(element.get("duration", "0") or 0) / scale
    inits = _children(element, "Initialization")
    init = Part(urljoin(base, inits[0].get("sourceURL") or "")) if inits else None
    urls = [u.get("media") or "" for u in _children(element, "SegmentURL")]
    _check_count(len(urls), url)
    return tuple(Segment(Part(urljoin(base, u)), duration, init) for u in urls)


def _check_count(count: int, url: str) -> None:
    if count > MAX_SEGMENTS:
        raise StreamRefused(f"more than the {MAX_SEGMENTS} segments allowed", url,
                            code="too_many_segments")
