"""Turn what a page claims about a video into comparable values.

``normalize(candidate, base_url)`` reads one VideoObject node (keys as written
on the page) and returns a :class:`~harvester.records.Declared`: seconds as a
float, pixels as ints, absolute http(s) URLs and RFC 3339 dates.  It never
raises: a value it cannot read with confidence becomes ``None`` rather than a
guess.  The readers are public because validation uses them to suggest fixes.

Choices worth knowing (each has a test):

- URLs: relative references resolve against ``base_url``; with no base, a
  protocol-relative ``//host/x`` gets ``https:`` and a relative one is dropped
  (``None``), because guessing a host would invent data.  Only http(s) is
  kept.  HTML entities are decoded only in their ``&name;`` form, so a query
  such as ``?a=1&copy=2`` is left alone.
- Durations: ISO 8601 (via isodate), the P-less ``T1M30S``, clock forms
  ``1:30`` / ``01:02:03`` (a 3-digit last field is milliseconds, as yt-dlp
  reads it), ``3h 11m 53s`` style units and bare seconds.  Years or months
  (``P1Y``) have no fixed length, so they are refused; so are negative values
  and anything over 30 days.
- Dates: a naive date-time stays naive (no timezone is invented); a date
  stays a date.  Numeric day/month that could be either is read month-first
  when written with ``/`` (US use) and day-first with ``.`` or ``-``.  A value
  that starts like ISO 8601 but breaks the form is refused, not guessed at.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import isodate

from harvester.extract.dates import read_date
from harvester.extract.entities import STRAY_QUOTES, decode_entities
from harvester.extract.frozen import maker
from harvester.records import Candidate, Declared

__all__ = [
    "absolute_url",
    "decode_entities",
    "first_url",
    "forget_values",
    "normalize",
    "parse_date",
    "parse_dimension",
    "parse_duration",
]

MAX_DURATION_S = 30 * 86400.0
MAX_DIMENSION = 100_000
MAX_LIST = 100  # items read from one list property; pages have been seen with thousands
_URL_DROPPED = re.compile(r"[\t\r\n]")
_ALREADY_CLEAN = re.compile(r"https?://[^ ]*\Z")
_URL_PLACEHOLDERS = {"/", "#", "about:blank", "null", "none", "undefined"}


def normalize(candidate: Candidate, base_url: str | None) -> Declared:
    """What ``candidate.data`` declares, read leniently; ``None`` where unreadable."""
    data = candidate.data
    prop: Callable[[str], Any]
    if type(data) is dict and data.keys() <= _PLAIN_KEYS:
        # Keys all spelled as schema.org spells them (most records): no variant
        # spelling can answer for a missing property, so plain lookups do.
        prop = data.get
    elif isinstance(data, Mapping):
        prop = _Properties(data).get
    else:
        return Declared()
    base = base_url if _is_http_url(base_url) else None
    name = prop("name")
    content_url = prop("contentUrl")
    thumbnail = prop("thumbnail")
    thumbnail_url = prop("thumbnailUrl")
    width = prop("width")
    height = prop("height")
    declared: Declared = _DECLARED(
        _text(name),
        None if content_url is None else first_url(content_url, base),
        first_url(prop("embedUrl"), base),
        _thumbnails((thumbnail_url, thumbnail), base) if thumbnail is not None
        or type(thumbnail_url) is not str else _one_thumbnail(thumbnail_url, base),
        parse_duration(prop("duration")),
        None if width is None else parse_dimension(width),
        None if height is None else parse_dimension(height),
        parse_date(prop("uploadDate")),
    )
    return declared


# Declared(*fields) without the frozen dataclass's per-field setattr calls.
_DECLARED = maker(Declared)


# -- properties -------------------------------------------------------------


def _prop(data: Mapping[Any, Any], key: str) -> Any:
    """``data[key]``, or a variant spelling (``thumbnailURL``, ``thumbnail_url``) when it is
    absent or empty."""
    return _Properties(data).get(key)


class _Properties:
    """:func:`_prop` for many keys of one object: the variant spellings indexed once."""

    def __init__(self, data: Mapping[Any, Any]) -> None:
        self._data = data
        self._variants: dict[str, Any] | None = None
        # Keys all spelled as schema.org spells them: no key is another's variant,
        # so a missing or empty property has none to answer for it.
        self._plain = data.keys() <= _PLAIN_KEYS

    def get(self, key: str) -> Any:
        value = self._data.get(key)
        if value or self._plain or not _empty(value):
            return value
        if self._variants is None:
            # The first non-empty value under each folded spelling; ``key``'s own
            # entry is empty here, so it never answers for itself.
            variants: dict[str, Any] = {}
            for other, candidate in self._data.items():
                if isinstance(other, str):
                    folded = other.lower().replace("_", "")
                    if folded not in variants and not _empty(candidate):
                        variants[folded] = candidate
            self._variants = variants
        return self._variants.get(key.lower(), value)


# Property names as schema.org (and JSON-LD) spell them, no two alike once folded
# (lower case, no "_"): a record using only these has no variant spellings to read.
_PLAIN_KEYS = frozenset({
    "@context", "@type", "@id", "@graph", "@language", "name", "description", "thumbnailUrl",
    "thumbnail", "uploadDate", "contentUrl", "embedUrl", "duration", "width", "height",
    "interactionStatistic", "interactionCount", "publisher", "author", "creator",
    "datePublished", "dateCreated", "dateModified", "url", "image", "keywords", "inLanguage",
    "isFamilyFriendly", "regionsAllowed", "expires", "potentialAction", "hasPart", "isPartOf",
    "transcript", "caption", "videoQuality", "encodingFormat", "contentSize", "bitrate",
    "genre", "headline", "mainEntityOfPage", "sameAs", "identifier", "videoFrameSize",
    "playerType", "productionCompany", "copyrightHolder", "copyrightYear", "license", "about",
    "position", "mentions", "requiresSubscription", "isAccessibleForFree", "associatedMedia",
})


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | dict):
        return not value
    return isinstance(value, Mapping) and not value


def _literal(value: Any) -> Any:
    """Unwrap JSON-LD value objects ``{"@value": x}`` and one-item lists (a few levels only)."""
    if value is None or type(value) is str:
        return value  # most values: nothing to unwrap, and no Mapping test to pay for
    for _ in range(4):  # bounded: hostile nesting must not recurse without end
        if isinstance(value, Mapping) and "@value" in value:
            value = value["@value"]
        elif isinstance(value, list) and len(value) == 1:
            value = value[0]
        else:
            break
    return value


def _text(value: Any) -> str | None:
    if type(value) is str:  # most names: nothing to unwrap
        return " ".join(decode_entities(value).split()) or None
    value = _literal(value)
    if isinstance(value, list):
        value = next((v for v in value[:MAX_LIST] if isinstance(v, str) and v.strip()), None)
    if not isinstance(value, str):
        return None
    text = " ".join(decode_entities(value).split())
    return text or None


# -- URLs -------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _is_http_url(value: str | None) -> bool:
    """Asked once per record with the page's URL: the answer is kept."""
    return bool(value) and urlsplit(str(value)).scheme.lower() in ("http", "https")


def _url_texts(value: Any) -> Iterator[str]:
    """Strings that may be URLs inside a string, list or object (url, contentUrl, @id)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[:MAX_LIST]:
            if not isinstance(item, list):  # one level only: nested lists are not schema.org
                yield from _url_texts(item)
    elif isinstance(value, Mapping):
        for key in ("url", "contentUrl", "@id", "@value"):
            inner = _prop(value, key)
            if isinstance(inner, str) and not (key == "@id" and inner.startswith("#")):
                yield inner


def first_url(value: Any, base: str | None) -> str | None:
    """The first usable absolute http(s) URL in ``value`` (string, list or object)."""
    if value is None:
        return None
    if isinstance(value, str):
        return absolute_url(value, base)  # the common case, without the walk
    for text in _url_texts(value):
        url = absolute_url(text, base)
        if url is not None:
            return url
    return None


def absolute_url(text: str, base: str | None) -> str | None:
    """``text`` as an absolute http(s) URL resolved against ``base``, or ``None``."""
    if _PLAIN_URL.fullmatch(text) is not None and not text.endswith(("?", "#")) \
            and "?#" not in text:
        # Nothing below would change it (no entity, quote, space or control
        # character, a lower-case http(s) scheme, a host): most URLs, unparsed.
        return text
    if len(text) > _MAX_CACHED_URL:
        return _absolute_url.__wrapped__(text, base)  # kept out of the cache: it would hold it
    return _absolute_url(text, base)


_MAX_CACHED_URL = 2048


# An absolute http(s) URL with a plain host and nothing :func:`_absolute_url` would
# change: no "&" (an entity), no white space, no stray quote.
_PLAIN_URL = re.compile(
    r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]*)?(?:[/?#][^\s&" + STRAY_QUOTES + r"]*)?")


# URLs recur across the records of a page (a channel's thumbnail, its embed player).
@functools.lru_cache(maxsize=1024)
def _absolute_url(text: str, base: str | None) -> str | None:
    text = decode_entities(text).strip().strip(STRAY_QUOTES).strip()
    if "\t" in text or "\r" in text or "\n" in text:
        text = _URL_DROPPED.sub("", text)  # browsers drop these (WHATWG URL parsing)
    if not text or text.lower() in _URL_PLACEHOLDERS:
        return None
    try:
        parts = urlsplit(text)
        if text.startswith("//"):
            scheme = urlsplit(base).scheme if base else "https"
            text = f"{scheme}:{text}"
        elif not parts.scheme:
            if base is None or " " in text:
                return None
            text = urljoin(base, text)
        elif parts.scheme.lower() not in ("http", "https"):
            return None
        elif _ALREADY_CLEAN.match(text) and not text.endswith(("?", "#")) and "?#" not in text:
            # Absolute, lower-case scheme, nothing a re-join would change (an empty
            # query or fragment is dropped by it): the common case needs no second parse.
            return text if parts.hostname else None
        text = text.replace(" ", "%20")
        final = urlsplit(text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if final.scheme.lower() not in ("http", "https") or not final.hostname:
        return None
    return final._replace(scheme=final.scheme.lower()).geturl()


def _one_thumbnail(text: str, base: str | None) -> tuple[str, ...]:
    """:func:`_thumbnails` of one text (most records)."""
    url = absolute_url(text, base)
    return () if url is None else (url,)


def _thumbnails(values: tuple[Any, ...], base: str | None) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if value is None:
            continue
        for text in _url_texts(value):
            url = absolute_url(text, base)
            if url is not None:
                seen.setdefault(url)
    return tuple(seen)


# -- durations --------------------------------------------------------------

_CLOCK = re.compile(r"\d+(?::\d+){1,3}(?:\.\d+)?")
_UNIT_TOKEN = re.compile(
    r"(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)\.?",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(value: Any) -> float | None:
    """Seconds in ``value`` (ISO 8601 or one of the common lenient forms), or ``None``."""
    if type(value) is str and len(value) <= _MAX_CACHED_DURATION:
        return _cached_duration_text(value)  # most durations
    value = _literal(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        seconds = _as_float(value)
        return None if seconds is None else _sane_seconds(seconds)
    if not isinstance(value, str):
        return None
    if len(value) > _MAX_CACHED_DURATION:
        return _duration_text(value)
    return _cached_duration_text(value)


_MAX_CACHED_DURATION = 256


def _duration_text(value: str) -> float | None:
    """Seconds in one duration text (any of the forms :func:`parse_duration` reads)."""
    text = value.strip().strip(STRAY_QUOTES).strip()
    if not text or len(text) > 64:
        return None
    for reader in (_iso_duration, _clock_duration, _unit_duration, _number_duration):
        seconds = reader(text)
        if seconds is not None:
            return _sane_seconds(seconds)
    return None


# Durations recur across the records of a page (and of a site): each text is read once.
_cached_duration_text = functools.lru_cache(maxsize=1024)(_duration_text)


def _as_float(value: float) -> float | None:
    """``value`` as a float, or ``None`` for an integer beyond a float's range (a page
    may write a number of any length)."""
    try:
        return float(value)
    except OverflowError:
        return None


def _sane_seconds(seconds: float) -> float | None:
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_DURATION_S:
        return None
    return seconds


_PLAIN_ISO_DURATION = re.compile(r"PT(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?\Z")


def _iso_duration(text: str) -> float | None:
    upper = text.upper().replace(" ", "")
    if upper.startswith("T"):
        upper = "P" + upper  # the P lost by WordPress's texturizer and old schema.org examples
    if upper.startswith("PT") and upper.endswith("Z"):
        upper = upper[:-1]
    if not upper.startswith("P") or not re.search(r"\d", upper):
        return None
    plain = _PLAIN_ISO_DURATION.match(upper)
    if plain is not None and any(plain.groups()):
        # Whole hours, minutes and seconds (most durations): exact without isodate.
        hours, minutes, secs = (int(part or 0) for part in plain.groups())
        return float(hours * 3600 + minutes * 60 + secs)
    try:
        parsed = isodate.parse_duration(upper)
    except (isodate.ISO8601Error, ValueError, OverflowError):
        return None
    if isinstance(parsed, isodate.Duration):
        if parsed.years or parsed.months:
            return None  # calendar units have no fixed length in seconds
        parsed = parsed.tdelta
    seconds = parsed.total_seconds()
    return float(seconds)


def _clock_duration(text: str) -> float | None:
    if not _CLOCK.fullmatch(text):
        return None
    fields = text.split(":")
    millis = 0.0
    if len(fields[-1]) == 3 and "." not in fields[-1]:
        millis = int(fields.pop()) / 1000  # h:m:s:mmm, as yt-dlp reads it
    if len(fields) == 1:
        return float(fields[0]) + millis
    if any(float(f) >= 60 for f in fields[1:]):
        return None
    if len(fields) == 4 and int(fields[1]) >= 24:
        return None
    scales = (1.0, 60.0, 3600.0, 86400.0)
    return sum(float(f) * s for f, s in zip(reversed(fields), scales, strict=False)) + millis


def _unit_duration(text: str) -> float | None:
    rest = re.sub(r"[\s,]+", " ", text).strip()
    total, pos, found = 0.0, 0, False
    for match in _UNIT_TOKEN.finditer(rest):
        if rest[pos:match.start()].strip():
            return None
        unit = match.group(2).lower()
        key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
        total += float(match.group(1)) * _UNIT_SECONDS[key]
        pos, found = match.end(), True
    return total if found and not rest[pos:].strip() else None


def _number_duration(text: str) -> float | None:
    return float(text) if re.fullmatch(r"\d+(?:\.\d+)?", text) else None


# -- dimensions -------------------------------------------------------------


def parse_dimension(value: Any) -> int | None:
    """Pixels in ``480``, ``"480"``, ``"480px"`` or a QuantitativeValue, or ``None``."""
    if value is None:
        return None  # most records give no size
    value = _literal(value)
    if isinstance(value, Mapping):
        value = _literal(value.get("value"))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:px|pixels?)?\s*", value, re.IGNORECASE)
        if not match:
            return None
        value = float(match.group(1))
    if not isinstance(value, int | float):
        return None
    number = _as_float(value)
    if number is None or not math.isfinite(number):
        return None
    pixels = math.floor(number + 0.5)
    return pixels if 0 < pixels <= MAX_DIMENSION else None


# -- dates ------------------------------------------------------------------


def parse_date(value: Any) -> str | None:
    """``value`` as an RFC 3339 date-time (or a plain date), or ``None``.

    ``"2025-04-08T14:59:27+0100"`` gives ``"2025-04-08T14:59:27+01:00"``; a
    value without a timezone stays without one.
    """
    value = _literal(value)
    if not isinstance(value, str) or len(value) > 100:
        return None
    return read_date(value)


def forget_values() -> None:
    """Empty the tables of URLs, durations and dates already read."""
    for cached in (_absolute_url, _cached_duration_text, read_date):
        cached.cache_clear()
