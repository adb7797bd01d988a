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
:func:`scan_bytes` answers the same question, yes or no, for raw bytes.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

__all__ = ["Markers", "scan", "scan_bytes"]

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
    for hit in _MARKER.finditer(text):
        at = hit.start() - 1  # the "i" of ideoObject / video
        if hit.end() - at == 4 or text.startswith("og:v", at - 4):  # og:videoObject is both
            og_video.append(at - 4)
        if hit.end() - at > 4:
            video.append(at)
    return Markers(tuple(video), tuple(og_video))


_BYTE_MARKER = re.compile(rb"deo(?:[oO]bject(?<=ideo[oO]bject)|(?<=og:video))")
_OBJECT_WORDS = (b"ideoObject", b"ideoobject")
_J_AT = 6  # where the "j" of either spelling is
#: How many "j"s are looked at one by one before the rest of the page is searched whole.
_J_CHECKS = 16


def scan_bytes(body: bytes) -> bool:
    """Whether the raw bytes hold any word :func:`scan` looks for (an ASCII-compatible
    page without one cannot describe a video).

    The same answer as one regular expression, about twice as fast on a page
    without any such word (most pages): both spellings of ``ideoObject`` hold
    a "j", a letter most pages have few of, so the page is searched for "j"s
    (``memchr``, several bytes a cycle) and each one is looked at; a page with
    more than a few "j"s is searched for the two words whole.  ``og:video``
    has no rare letter and is searched for whole.  Whole-word searches use the
    C library's ``memmem`` where there is one (a skip search, several times
    faster than ``bytes.find`` or a regular expression on short words), else
    the regular expression.
    """
    if _memmem is None:
        return _BYTE_MARKER.search(body) is not None
    return _names_a_video_object(body) or _memmem(body, len(body), b"og:video", 8) is not None


def _names_a_video_object(body: bytes) -> bool:
    """Whether ``ideoObject`` or ``ideoobject`` is in ``body`` (with ``memmem``)."""
    find = body.find
    at = find(b"j", _J_AT)
    for _ in range(_J_CHECKS):
        if at < 0:
            return False
        if body.startswith(_OBJECT_WORDS, at - _J_AT):
            return True
        at = find(b"j", at + 1)
    if at < 0:
        return False
    assert _memmem is not None
    size = len(body)
    return (_memmem(body, size, b"ideoObject", 10) is not None
            or _memmem(body, size, b"ideoobject", 10) is not None)


#: memmem(haystack, its size, needle, its size): the address of the first match, or None.
_MemMem = Callable[[bytes, int, bytes, int], "int | None"]


def _libc_memmem() -> _MemMem | None:
    """The C library's ``memmem(haystack, size, needle, size)`` (None where there is
    none, as on Windows, or where it does not answer as it should)."""
    try:
        found = ctypes.CDLL(None).memmem
    except (OSError, AttributeError, TypeError):
        return None
    found.restype = ctypes.c_void_p  # the address of the match, or None
    found.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t)
    sample = b"\x00a og:vide og:video"
    if (found(sample, len(sample), b"og:video", 8) is None
            or found(sample, len(sample) - 1, b"og:video", 8) is not None):
        return None
    return cast(_MemMem, found)


_memmem = _libc_memmem()
