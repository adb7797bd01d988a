"""Find every VideoObject in one page, in every syntax, with no I/O.

``extract(content, url)`` is the library's one-call entry:

>>> videos = extract('<script type="application/ld+json">{"@type": "VideoObject", '
...                  '"name": "x"}</script>', url="https://example.org/a")
>>> [(v.syntax.value, v.data["name"]) for v in videos]
[('json-ld', 'x')]

Each syntax has its own module (:mod:`~harvester.extract.jsonld`,
:mod:`~harvester.extract.text`, :mod:`~harvester.extract.microdata`,
:mod:`~harvester.extract.rdfa`, :mod:`~harvester.extract.opengraph`) with a
``find_blobs(text, page)`` that reads a whole page on its own;
:func:`find_all_blobs` runs them together behind one scan.  One bad blob
never costs the other blobs on the page: every blob is repaired, normalised
and validated on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import replace

from harvester.extract import jsonld, microdata, opengraph, rdfa, text
from harvester.extract.budget import PageBudget, too_many, truncated
from harvester.extract.charset import ascii_compatible, decode_html
from harvester.extract.frozen import maker
from harvester.extract.markers import Markers, byte_markers, scan, scan_bytes, scan_near
from harvester.extract.nodes import video_nodes
from harvester.extract.normalize import forget_values as forget_read_values
from harvester.extract.normalize import normalize
from harvester.extract.repair import repair
from harvester.extract.schema_predicates import forget_answers
from harvester.extract.validate import validate
from harvester.records import Blob, Candidate, Declared, Syntax, Video

__all__ = [
    "build_records", "candidates", "extract", "find_all_blobs", "forget_values",
    "may_name_a_video", "read_blobs",
]


def candidates(text_: str, page: str, markers: Markers | None = None) -> Iterator[Candidate]:
    """Every VideoObject node on the page, in document order per syntax.

    One scan (:func:`~harvester.extract.markers.scan`) for the words that
    name a video decides what is read at all: a page that never writes
    ``VideoObject`` (or ``videoObject``, ``videoobject``) nor ``og:video``
    costs that scan and nothing else, and on the others only the ld+json
    scripts that hold such a word are parsed.  ``markers``: that scan's answer
    when the caller has it already.
    """
    for blob in find_all_blobs(text_, page, markers):
        yield from video_nodes(repair(blob))


def find_all_blobs(text_: str, page: str, markers: Markers | None = None) -> Iterator[Blob]:
    """The blobs that may hold a video: JSON-LD, text, microdata, RDFa, then Open Graph.

    The same VideoObjects as running each syntax's ``find_blobs`` on the whole
    page, but each finder runs only where :func:`~harvester.extract.markers.scan`
    found a word it looks for, and ld+json scripts that never mention a
    VideoObject are skipped.  ``markers``: the scan's answer when the caller has it.
    """
    if markers is None:
        markers = scan(text_)
    if not markers.video and not markers.og_video:
        return
    spans = jsonld.enclosing_script_spans(text_, markers.video)
    yield from jsonld.blobs_of(text_, page, spans)
    if _outside(markers.exact(text_), spans):
        yield from text.find_blobs(text_, page, markers)
    if markers.video:
        yield from microdata.find_blobs(text_, page, markers)
        yield from rdfa.find_blobs(text_, page, markers)
    yield from opengraph.find_blobs(text_, page, markers)


def _outside(offsets: list[int], spans: list[tuple[int, int]]) -> bool:
    """Whether some offset lies outside every ld+json script body.

    A text blob is visible text: it cannot sit inside a script, so a page
    whose VideoObject mentions are all in ld+json scripts has none.
    """
    i = 0
    for at in offsets:
        while i < len(spans) and spans[i][1] <= at:
            i += 1
        if i == len(spans) or at < spans[i][0]:
            return True
    return False


def extract(
    content: str | bytes, url: str | None = None, *, content_type: str | None = None,
    ref: str | None = None,
) -> list[Video]:
    """Return the video records of one page, without any I/O.

    ``content`` may be bytes (decoded by BOM, ``content_type`` charset or
    ``<meta>``) or text.  ``url`` resolves relative links; ``ref`` is what the
    records call the page (defaults to ``url``, else ``"-"``).
    """
    page_ref = ref or url or "-"
    markers = None
    if isinstance(content, bytes):
        read = _read_bytes(content, content_type)
        if read is None:
            return []  # most pages: no video word at all, so no decoding either
        content, markers = read
    return build_records(candidates(content, page_ref, markers), url, page_ref,
                         page_chars=len(content))


# Encodings in which every character comes from one byte or more and ASCII characters
# from their own bytes (invalid bytes become one U+FFFD each, never swallowing ASCII).
_BYTES_PER_CHAR_AT_LEAST_ONE = frozenset({"utf-8", "cp1252"})


def _read_bytes(body: bytes, content_type: str | None) -> tuple[str, Markers | None] | None:
    """The page's text and its video words, or ``None`` when it cannot name a video.

    The bytes are searched once (:func:`~harvester.extract.markers.byte_markers`); when
    the encoding writes each character in one byte or more and ASCII as ASCII, the
    text is then read only near those places (the words' markers are ``None`` for
    other encodings: the caller scans the text).  A text scan would cost more than
    the decoding itself on a page with emoji (four bytes a character in memory).
    """
    near = byte_markers(body)
    if not near.video and not near.og_video and ascii_compatible(body, content_type):
        return None
    text, encoding = decode_html(body, content_type)
    slack = len(body) - len(text)
    if encoding not in _BYTES_PER_CHAR_AT_LEAST_ONE or slack < 0:
        return text, None
    return text, scan_near(text, near, slack)


def forget_values() -> None:
    """Forget what was learnt about values (URLs, durations and dates read, answers of
    the schema's checks for texts and record shapes), which otherwise serves every
    later record of the process: the tables are bounded, and a benchmark's passes over
    the same pages must not reuse what the earlier passes learnt."""
    forget_read_values()
    forget_answers()


def may_name_a_video(body: bytes, content_type: str | None = None) -> bool:
    """False only when the page's text cannot name a video: none of the words that
    :func:`~harvester.extract.markers.scan` looks for are in its bytes (checked on
    the bytes when the page's encoding writes ASCII as ASCII; else true)."""
    return scan_bytes(body) or not ascii_compatible(body, content_type)


def read_blobs(blobs: Iterable[Blob], url: str | None, page_ref: str
               ) -> tuple[list[Video], list[str]]:
    """The video records of ``blobs``, and a line for each blob that could not be
    read at all (its syntax, offset and why), for reports to a person."""
    parsed = [repair(blob) for blob in blobs]
    videos = build_records((c for p in parsed for c in video_nodes(p)), url, page_ref,
                           page_chars=sum(len(p.blob.raw) for p in parsed))
    unreadable = [f"{p.blob.syntax.value} at offset {p.blob.offset}: {p.error}"
                  for p in parsed if p.value is None and p.error]
    return videos, unreadable


def build_records(cands: Iterable[Candidate], url: str | None, page_ref: str, *,
                  page_chars: int = 0) -> list[Video]:
    """Normalise, validate and identify each candidate, and link duplicates
    (:func:`link_duplicates`'s answer), in one pass.

    ``page_chars`` (the page's size) sets the page's budget
    (:class:`~harvester.extract.budget.PageBudget`): at most ``MAX_VIDEOS``
    records, and their ``raw`` and ``data`` a few times the page's size.
    """
    videos: list[Video] = []
    seen: dict[str, int] = {}
    first: dict[str, str] = {}  # dedupe key -> id of the first record with it
    budget = PageBudget(page_chars)
    digests = _BlobDigests()
    for cand in cands:
        if budget.videos >= budget.max_videos:  # budget.full(), without the call
            videos[-1] = replace(videos[-1], validation=too_many(videos[-1].validation))
            break
        cand, raw, cut = budget.take(cand)
        declared = normalize(cand, url)
        syntax = cand.blob.syntax
        identity = (_SYNTAX_TEXT.get(syntax) or f"{syntax}|") + (
            "url:" + declared.content_url if declared.content_url
            else _identity(cand, declared, digests))
        occurrence = seen.get(identity, 0)
        seen[identity] = occurrence + 1
        validation = validate(cand)
        video_id = _video_id(page_ref, identity, occurrence)
        videos.append(_VIDEO(
            video_id, page_ref, syntax, raw, cand.data, declared,
            truncated(validation) if cut else validation, cand.repairs, cand.partial,
            cand.pointer, cand.blob.offset, _first_of(first, declared, video_id), None))
    return videos


# What a record's identity starts with, per syntax ("json-ld|").
_SYNTAX_TEXT = {syntax: f"{syntax}|" for syntax in Syntax}
# Video(*fields), in field order, without the frozen dataclass's per-field setattr calls:
# a page may hold thousands of records.
_VIDEO = maker(Video)


class _BlobDigests:
    """sha256 of a blob's text, computed once however many videos the blob holds (its
    candidates come one after another)."""

    def __init__(self) -> None:
        self._blob: Blob | None = None
        self._digest = ""

    def of(self, blob: Blob) -> str:
        if blob is not self._blob:
            self._blob = blob
            self._digest = hashlib.sha256(blob.raw.encode("utf-8", "replace")).hexdigest()
        return self._digest


def _identity(cand: Candidate, declared: Declared, digests: _BlobDigests) -> str:
    """What makes two records the same video: its media URL, else its name."""
    for key in (declared.content_url, declared.embed_url):
        if key:
            return "url:" + key
    if declared.name:
        return "name:" + declared.name + "|" + (declared.thumbnail_urls[:1] or ("",))[0]
    return "raw:" + digests.of(cand.blob)


def _video_id(page: str, identity: str, occurrence: int) -> str:
    """Stable across runs: depends on the page and what the video is, not on its position."""
    key = f"{page}\n{identity}\n{occurrence}".encode("utf-8", "replace")
    return hashlib.sha256(key).hexdigest()[:16]


def link_duplicates(videos: list[Video]) -> list[Video]:
    """Mark later descriptions of an already-seen video with ``duplicate_of``.

    Two records describe the same video when they share a content URL or
    embed URL (after normalisation), or, lacking both, the same name and
    thumbnail.
    """
    first: dict[str, str] = {}
    linked: list[Video] = []
    for video in videos:
        owner = _first_of(first, video.declared, video.id)
        linked.append(replace(video, duplicate_of=owner) if owner else video)
    return linked


def _first_of(first: dict[str, str], declared: Declared, video_id: str) -> str | None:
    """The id of the first record ``first`` knows under one of ``declared``'s keys (or
    ``None``), remembering this record's keys for those that follow."""
    if declared.content_url and not declared.embed_url:
        # One key (most records): the same answer without building the list.
        key = "url:" + declared.content_url
        owner = first.get(key)
        if owner is None:
            first[key] = video_id
        return owner
    keys = _dedupe_keys(declared)
    owner = None
    for k in keys:
        owner = first.get(k)
        if owner is not None:
            break
    for k in keys:
        first.setdefault(k, owner or video_id)
    return owner


def _dedupe_keys(d: Declared) -> list[str]:
    keys = [f"url:{u}" for u in (d.content_url, d.embed_url) if u]
    if not keys and d.name and d.thumbnail_urls:
        keys.append(f"name:{d.name}|{d.thumbnail_urls[0]}")
    return keys
