"""One pass over a page that says which extractors can find anything in it.

Most pages crawled carry no video, and the extractors' own pre-checks would
each scan the page again.  :func:`scan` looks once for ``ideoObject``/
``ideoobject`` and ``og:video`` (one literal-prefixed regex, or the C
library's searches on an ASCII page) and keeps the offsets, so that
:func:`harvester.extract.candidates` can skip every extractor with nothing
to find, and every extractor can go straight to the places that name a
video: the ld+json scripts that hold a mention, the text before it, the tags
that carry it, the meta tags around an ``og:video``.

The promise: the offsets of every ``ideoObject``/``ideoobject`` (the JSON-LD,
microdata and RDFa finders), of which :meth:`Markers.exact` gives those spelled
``ideoObject`` (the text finder), and of every ``og:video`` (Open Graph).
:func:`scan_bytes` answers the same question, yes or no, for raw bytes, with
the C library's string searches (through ctypes) where it has them: it runs
on every page read, so it is the one scan most of a crawl costs.
:func:`byte_markers` gives the offsets in the raw bytes, from which
:func:`scan_near` finds the decoded text's while reading the text only around
them.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, AnyStr

__all__ = ["Markers", "byte_markers", "scan", "scan_bytes", "scan_near", "scan_regex"]

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
    """The video markers of ``text``, from one scan.

    An ASCII page (most of the pages that name a video) is searched as bytes
    with the C library, as :func:`scan_bytes` searches: its "j"s looked at one
    by one (unless there are many), the words searched for whole; any other
    text by the regular expression.  The offsets are the same either way.
    """
    if _libc is not None and text.isascii():
        return _scan_c(text.encode("ascii"), _libc)
    return scan_regex(text)


def scan_regex(text: str) -> Markers:
    """:func:`scan` by the regular expression alone (the reference for the other way)."""
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
        # og:videoObject is both; at >= 4: a negative start would read from the end
        if hit.end() - at == 4 or (at >= 4 and text.startswith(og_v, at - 4)):
            og_video.append(at - 4)
        if hit.end() - at > 4:
            video.append(at)


#: A search for every place of a word in some bytes: ``(data, word, libc) -> offsets``.
_Search = Callable[[bytes, bytes, "_CLib"], list[int]]


def _scan_c(data: bytes, libc: _CLib) -> Markers:
    """The markers of ``data`` as byte offsets (those of characters when it is ASCII).

    Both spellings of ``ideoObject`` hold a "j", a letter some pages have few of:
    there each "j" is found (``bytes.find``, a ``memchr``) and looked at.  On a page
    with more "j"s than a few, each spelling is searched for whole by its tail, as
    ``og:video`` always is (``strstr``, or ``memmem`` when a NUL byte would stop
    ``strstr`` short).  The C library's searches read many bytes a cycle where the
    regular expression stops at every "d"; the offsets are the same.
    """
    every = _searcher(data)
    return Markers(tuple(_object_offsets(data, every, libc)),
                   tuple(every(data, b"og:video", libc)))


def _searcher(data: bytes) -> _Search:
    """How every place of a word in ``data`` is found: ``strstr``, unless a NUL byte
    inside would stop it short (then ``memmem``)."""
    return _every_in_c_string if b"\x00" not in data else _every


def _object_offsets(data: bytes, every: _Search, libc: _CLib) -> list[int]:
    """The offsets of ``ideoObject``/``ideoobject`` in ``data``, in order: from its "j"s,
    or each spelling searched for by its tail with ``every``."""
    video = _objects_by_js(data)
    if video is None:
        video = sorted(at for tail, word in _OBJECT_TAILS
                       for at in _led_by(data, every(data, tail, libc), word))
    return video


def _led_by(data: bytes, tails: list[int], word: bytes) -> list[int]:
    """The offsets of ``word`` among those of its tail (``word`` from :data:`_TAIL_AT`)."""
    return [at - _TAIL_AT for at in tails
            if at >= _TAIL_AT and data.startswith(word, at - _TAIL_AT)]


def _objects_by_js(data: bytes) -> list[int] | None:
    """The offsets of ``ideoObject``/``ideoobject`` found from the "j"s of ``data``, or
    None when it holds more than :data:`_J_CHECKS` "j"s (most real pages do: then the
    walk stops at the first few, and the words are searched for whole)."""
    find = data.find
    video: list[int] = []
    at = find(_J)
    for _ in range(_J_CHECKS):
        if at < 0:
            return video
        if at >= _J_AT and data.startswith(_OBJECT_WORDS, at - _J_AT):
            video.append(at - _J_AT)
        at = find(_J, at + 1)
    return video if at < 0 else None


def _every_in_c_string(data: bytes, word: bytes, libc: _CLib) -> list[int]:
    """The offset of every ``word`` in ``data``, which holds no NUL byte (``strstr``,
    faster than ``memmem`` in the C libraries we know, stops at the first)."""
    base, found_at = libc.address(data), []
    found = libc.strstr(base, word)
    while found is not None:
        found_at.append(found - base)
        found = libc.strstr(found + 1, word)
    return found_at


def _every(data: bytes, word: bytes, libc: _CLib) -> list[int]:
    """The offset of every ``word`` in ``data``."""
    base, size, found_at = libc.address(data), len(data), []
    found = libc.memmem(base, size, word, len(word))
    while found is not None:
        found_at.append(found - base)
        start = found + 1
        found = libc.memmem(start, size - (start - base), word, len(word))
    return found_at


_BYTE_MARKER = re.compile(rb"deo(?:[oO]bject(?<=ideo[oO]bject)|(?<=og:video))")
_OBJECT_WORDS = (b"ideoObject", b"ideoobject")
# Each spelling is searched for by its tail, "oObject" or "oobject": the C library's
# searches skip ahead to the next place a needle's first two bytes occur, and "id"
# starts every id= attribute of a page where "oO" and "oo" are rare.
_TAIL_AT = 3
_OBJECT_TAILS = tuple((word[_TAIL_AT:], word) for word in _OBJECT_WORDS)
_J = b"j"
_J_AT = 6  # where the "j" of either spelling is
#: How many "j"s are looked at one by one before the words are searched for whole.
_J_CHECKS = 16


def scan_bytes(body: bytes) -> bool:
    """Whether the raw bytes hold any word :func:`scan` looks for (an ASCII-compatible
    page without one cannot describe a video): the same answer as one regular
    expression, found with the C library's searches where it has them (most pages
    have no such word, so this is the one scan most of a crawl costs).
    """
    if _libc is None:
        return _BYTE_MARKER.search(body) is not None
    every = _searcher(body)
    return bool(_object_offsets(body, every, _libc) or every(body, b"og:video", _libc))


def byte_markers(body: bytes) -> Markers:
    """:func:`scan`'s answer for the raw bytes, offsets in bytes: the page's own when
    each of its characters is one byte (ASCII, windows-1252), else where to look
    (:func:`scan_near`)."""
    if _libc is not None:  # the words are ASCII: their bytes are found in any encoding
        return _scan_c(body, _libc)
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


class _CLib:
    """The C library's searches, called through ctypes; addresses are ints.

    Each takes the address of a ``bytes`` object's buffer (:meth:`address`),
    which CPython promises ends with a NUL byte after its last one.
    """

    def __init__(self, lib: ctypes.CDLL) -> None:
        address, text = ctypes.c_void_p, ctypes.c_char_p
        self.strstr = _c_function(lib.strstr, address, (address, text))
        """``strstr(at, word)``: the address of the first ``word`` before a NUL, or None."""
        self.memmem = _c_function(lib.memmem, address,
                                  (address, ctypes.c_size_t, text, ctypes.c_size_t))
        """``memmem(at, size, word, size)``: the address of the first ``word``, or None."""

    #: Where a bytes object's buffer starts, from the object's address, in CPython
    #: (``id`` is the address); used once :meth:`works` has seen it agree with ctypes.
    _BUFFER_AT = bytes.__basicsize__ - 1
    _buffer_known = False

    def address(self, body: bytes) -> int:
        """Where the buffer of ``body`` is (valid while ``body`` is alive)."""
        if self._buffer_known:
            return id(body) + self._BUFFER_AT  # what ctypes.cast gives, without its objects
        return self.cast_address(body)

    @staticmethod
    def cast_address(body: bytes) -> int:
        """:meth:`address` by ctypes (any Python)."""
        # ctypes takes bytes wherever it takes a pointer; its stubs do not say so
        return ctypes.cast(body, ctypes.c_void_p).value or 0  # type: ignore[arg-type]

    def works(self) -> bool:
        """Whether every function answers as it should (a check made once); and whether
        a buffer's address follows from the object's, as :meth:`address` would take it."""
        sample = b"a og:video j\x00 og:video"
        self._buffer_known = all(id(body) + self._BUFFER_AT == self.cast_address(body)
                                 for body in (sample, b"", bytes(range(256)) * 64))
        base = self.address(sample)
        return (self.strstr(base, b"og:video") == base + 2
                and self.strstr(base + 3, b"og:video") is None
                and self.memmem(sample, len(sample), b"og:video", 8) == base + 2
                and self.memmem(sample, len(sample), b"\x00 og", 4) == base + 12)


def _c_function(function: Any, restype: Any, argtypes: tuple[Any, ...]) -> Any:
    function.restype = restype
    function.argtypes = argtypes
    return function


def _load_libc() -> _CLib | None:
    """The C library's searches, or None where they are missing (Windows, some libcs)."""
    try:
        libc = _CLib(ctypes.CDLL(None))
    except (OSError, AttributeError, TypeError):
        return None
    return libc if libc.works() else None


_libc = _load_libc()
