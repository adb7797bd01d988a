"""Dates as pages write them, read as RFC 3339 date-times or plain dates.

:func:`read_date` never raises.  A naive date-time stays naive (no timezone
is invented); a date stays a date.  Numeric day/month that could be either is
read month-first when written with ``/`` (US use) and day-first with ``.`` or
``-``.  A value that starts like ISO 8601 but breaks the form is refused, not
guessed at.  Answers are kept in a bounded table (``read_date.cache_clear()``
empties it).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import warnings

from dateutil import parser as dateparser

from harvester.extract.entities import STRAY_QUOTES, decode_entities

__all__ = ["read_date"]

_ISO_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.IGNORECASE,
)
_ISO_LIKE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]|$)", re.IGNORECASE)
_NUMERIC_DMY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2\d{2,4}\b")
_TZINFOS = {
    name: hours * 3600
    for name, hours in {
        "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "BST": 1, "CET": 1, "CEST": 2,
        "EET": 2, "EEST": 3, "MSK": 3, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
        "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9, "AKDT": -8, "HST": -10,
        "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11,
    }.items()
}


# A record's date is read by normalize() and again for a validation hint, and dates
# recur across the records of a page.
@functools.lru_cache(maxsize=1024)
def read_date(value: str) -> str | None:
    """The text ``value`` as an RFC 3339 date-time or plain date, or ``None``."""
    text = _clean_date(value)
    if not text:
        return None
    iso = _iso_date(text)
    if iso is not None or _ISO_LIKE.match(text):
        return iso
    return _loose_date(text)


def _clean_date(value: str) -> str:
    text = decode_entities(value).strip().strip(STRAY_QUOTES).strip()
    if _ISO_DATETIME.fullmatch(text):
        return text  # the common case: none of the fixes below can apply
    text = _JS_ZONE_NAME.sub("", text)
    text = _GMT_AS_T.sub(r"\1T", text)
    text = _GMT_OFFSET.sub("", text)
    text = _AM_PM.sub(r"\1m", text)
    return " ".join(text.replace("|", " ").split())


_JS_ZONE_NAME = re.compile(r"\s*\([^)]*\)\s*$")  # JS Date.toString(): "(Central European Time)"
_GMT_AS_T = re.compile(r"(\d{4}-\d{2}-\d{2})GMT(?=\d)")  # "2025-01-15GMT19:57+00:00"
# JS "GMT+0100" means UTC+1; dateutil would read it POSIX-style, as UTC-1.
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC)(?=[+-]\d{2}:?\d{2}\b)")
_AM_PM = re.compile(r"\b([ap])\.\s?m\.", re.IGNORECASE)


def _iso_date(text: str) -> str | None:
    match = _ISO_DATETIME.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        if hour is None:
            return _date_text(dt.date(int(year), int(month), int(day)))
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        stamp = dt.datetime(int(year), int(month), int(day), int(hour), int(minute),
                            int(second or 0), micro, tzinfo=_offset(offset))
    except ValueError:
        return None
    return _datetime_text(stamp)


def _offset(text: str | None) -> dt.tzinfo | None:
    if text is None:
        return None
    if text.upper() == "Z":
        return dt.UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if int(digits[2:4] or 0) >= 60 or minutes >= 24 * 60:
        raise ValueError(f"offset out of range: {text}")
    return dt.timezone(dt.timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _loose_date(text: str) -> str | None:
    """Dates in other forms, read by dateutil; missing fields are refused, not filled in."""
    numeric = _NUMERIC_DMY.match(text)
    dayfirst = numeric is not None and numeric.group(2) != "/"
    readings = _readings(text, dayfirst, not numeric)
    if readings is None:
        return None
    first, second = readings
    if first.date() != second.date() or not 1900 <= first.year <= 2200:
        return None
    if first.hour != second.hour:  # no time of day given
        return _date_text(first.date())
    try:
        return _datetime_text(first)
    except ValueError:  # an offset of a day or more ("+2500"): no real time zone
        return None


# Two different defaults reveal which fields the text really gave.
_DEFAULTS = (dt.datetime(2000, 1, 1), dt.datetime(2001, 2, 2, 1))
_PARSER = dateparser.parser()
# dateutil's parse() is a read of the text, then a datetime built from what was read
# over the default: with these, the text is read once for both defaults.
_READ = getattr(_PARSER, "_parse", None)
_NAIVE = getattr(_PARSER, "_build_naive", None)
_AWARE = getattr(_PARSER, "_build_tzaware", None)


# What dateutil raises on a text it cannot read: ValueError, or an ArithmeticError for a
# number too large (OverflowError, or decimal.InvalidOperation from its seconds).
_UNREADABLE = (ValueError, ArithmeticError)


def _readings(text: str, dayfirst: bool, yearfirst: bool) -> list[dt.datetime] | None:
    """``text`` as dateutil's ``parse()`` reads it over each of :data:`_DEFAULTS`; ``None``
    when it cannot, or when it names a timezone it does not know (it would drop it
    silently)."""
    if not _READ_ONCE_WORKS:
        return _parsed_twice(text, dayfirst, yearfirst)
    return _read_once(text, dayfirst, yearfirst)


def _read_once(text: str, dayfirst: bool, yearfirst: bool) -> list[dt.datetime] | None:
    """:func:`_readings` through the steps of ``parse()``, the text read once."""
    assert _READ is not None and _NAIVE is not None and _AWARE is not None
    readings = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # parse()'s own steps: a text it cannot read, or with no date in it, fails.
            read, _ = _READ(text, dayfirst=dayfirst, yearfirst=yearfirst)
            if read is None or len(read) == 0:
                return None
            for default in _DEFAULTS:
                readings.append(_AWARE(_NAIVE(read, default), read, _TZINFOS))
                if caught:
                    return None
        except _UNREADABLE:
            return None
    return readings


def _parsed_twice(text: str, dayfirst: bool, yearfirst: bool) -> list[dt.datetime] | None:
    """:func:`_readings` through dateutil's ``parse()``, the text read once per default."""
    readings = []
    for default in _DEFAULTS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                readings.append(dateparser.parse(
                    text, default=default, dayfirst=dayfirst, yearfirst=yearfirst,
                    tzinfos=_TZINFOS))
            except _UNREADABLE:
                return None
        if caught:  # an unknown timezone name: dateutil would drop it silently
            return None
    return readings


def _read_once_works() -> bool:
    """Whether ``parse()``'s own steps are there and answer as ``parse()`` does (they
    are dateutil's private methods: a release that changes them is read the public
    way, twice)."""
    if _READ is None or _NAIVE is None or _AWARE is None:
        return False
    samples = ("March 5, 2024 10:30 PM EST", "5.3.2024", "2024", "Tue Jan 14 2025 19:57:00 GMT")
    try:
        return all(_read_once(text, first, False) == _parsed_twice(text, first, False)
                   for text in samples for first in (False, True))
    except Exception:  # any failure of a changed private method: use the public one
        return False


_READ_ONCE_WORKS = _read_once_works()


def _date_text(day: dt.date) -> str | None:
    return day.isoformat() if 1900 <= day.year <= 2200 else None


def _datetime_text(stamp: dt.datetime) -> str | None:
    if not 1900 <= stamp.year <= 2200:
        return None
    text = stamp.isoformat()
    if stamp.microsecond:
        head, _, tail = text.partition(".")
        digits = tail[:6].rstrip("0")
        text = f"{head}.{digits}{tail[6:]}"
    return text
