"""One pass over a page that says which extractors can find anything in it.

Most pages crawled carry no video, and the extractors' own pre-checks would
each scan the page again.  :func:`scan` runs one literal-prefixed regex (as
fast as a substring search) for ``ideoObject``/``ideoobject`` and
``og:video`` and keeps the offsets, so that :func:`harvester.extract.candidates`
can skip every extractor with nothing to find, and every extractor can go
straight to the places that name a video: the ld+json scripts that hold a
mention, the text before it, the tags that carry it, the meta tags around an
``og:video``.

The promise: the offsets of every ``ideoObject``/``ideoobject`` (the JSON-LD,
microdata and RDFa finders), of which :meth:`Markers.exact` gives those spelled
``ideoObject`` (the text finder), and of every ``og:video`` (Open Graph).
:func:`scan_bytes` answers the same question, yes or no, for raw bytes;
:func:`byte_markers` gives the offsets in the raw bytes, from which :func:`scan_near`
finds the decoded text's while reading the text only around them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import AnyStr

__all__ = ["Markers", "byte_markers", "scan", "scan_bytes", "scan_near"]

# "deo" is the literal prefix the regex engine searches for (og:video also ends in
# it), rather than "ideo": the engine stops at every place the prefix's first
# letter occurs, and "d" is a rarer letter in pages than "i".
_MARKER = re.compile(r"deo(?:[oO]bject(?<=ideo[oO]bject)|(?<=og:video))")


@dataclass(frozen=True, slots=True)
class Markers:
    """Where one page mentions a video."""

    video: tuple[int, ...]
    """Offsets of ``ideoObject`` or ``ideoobject`` (the ``V`` is one before)."""
    og_video_at: tuple[int, ...]
    """Offsets of ``og:video``."""

    @property
    def og_video(self) -> bool:
        """Whether ``og:video`` occurs anywhere."""
        return bool(self.og_video_at)

    def exact(self, text: str) -> list[int]:
        """The offsets whose spelling is ``ideoObject`` (capital O), as the text finder wants."""
        return [at for at in self.video if text[at + 4] == "O"]


def scan(text: str) -> Markers:
    """The video markers of ``text``, from one scan."""
    video: list[int] = []
    og_video: list[int] = []
    _collect(text, _MARKER.finditer(text), "og:v", video, og_video)
    return Markers(tuple(video), tuple(og_video))


def _collect(text: AnyStr, hits: Iterator[re.Match[AnyStr]], og_v: AnyStr,
             video: list[int], og_video: list[int]) -> None:
    """Sort the regex's ``hits`` in ``text`` (``og_v``: ``"og:v"`` spelled as ``text``
    is, text or bytes) into VideoObject and og:video offsets."""
    for hit in hits:
        at = hit.start() - 1  # the "i" of ideoObject / video
        if hit.end() - at == 4 or text.startswith(og_v, at - 4):  # og:videoObject is both
            og_video.append(at - 4)
        if hit.end() - at > 4:
            video.append(at)


_BYTE_MARKER = re.compile(rb"deo(?:[oO]bject(?<=ideo[oO]bject)|(?<=og:video))")


def scan_bytes(body: bytes) -> bool:
    """Whether the raw bytes hold any word :func:`scan` looks for (an ASCII-compatible
    page without one cannot describe a video)."""
    return _BYTE_MARKER.search(body) is not None


def byte_markers(body: bytes) -> Markers:
    """:func:`scan`'s answer for the raw bytes, offsets in bytes: the page's own when
    each of its characters is one byte (ASCII, windows-1252), else where to look
    (:func:`scan_near`)."""
    video: list[int] = []
    og_video: list[int] = []
    _collect(body, _BYTE_MARKER.finditer(body), b"og:v", video, og_video)
    return Markers(tuple(video), tuple(og_video))


# The longest match: "deo" and "Object" (og:video's match is the "deo" alone).
_LONGEST = 9
# Windows closer than this are read as one: one regex call instead of two.
_JOIN_GAP = 4096


def scan_near(text: str, near: Markers, slack: int) -> Markers:
    """:func:`scan`'s answer for ``text`` decoded from bytes whose markers are ``near``
    (:func:`byte_markers`), reading only around them.

    The promise holds when each character of ``text`` came from at least one byte,
    ASCII characters from their own bytes, and ``slack`` is how many more bytes than
    characters there are (UTF-8, windows-1252): a match whose "deo" is at byte ``p``
    is then at a character in ``[p - slack, p]``, and lies whole in that window.
    With no slack the offsets are the same and ``near`` is the answer; with so many
    hits that the windows would cover the page, the page is scanned whole.  The
    windows are merged, so the text is read at most once whatever the number of hits.
    """
    if slack == 0:
        return near
    if (len(near.video) + len(near.og_video_at)) * (slack + _JOIN_GAP) > len(text):
        return scan(text)  # the windows would cover the page: one scan is cheaper
    # The "d" of each match: one after a VideoObject's offset, five after og:video's.
    starts = sorted([at + 1 for at in near.video] + [at + 5 for at in near.og_video_at])
    windows: list[list[int]] = []
    for start in starts:
        low = max(0, start - slack)
        if windows and low <= windows[-1][1] + _JOIN_GAP:
            windows[-1][1] = start + _LONGEST
        else:
            windows.append([low, start + _LONGEST])
    video: list[int] = []
    og_video: list[int] = []
    for low, high in windows:
        _collect(text, _MARKER.finditer(text, low, high), "og:v", video, og_video)
    return Markers(tuple(video), tuple(og_video))
