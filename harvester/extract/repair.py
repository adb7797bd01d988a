"""Parse a blob's JSON, leniently when it must be, and say exactly what was repaired.

The promise of :func:`repair`: strict ``json.loads`` first, so well-formed
JSON costs one parse.  Only when that fails are small, named repairs tried,
in a fixed order, each applied only where its damage is actually present:

=======================  ==================================================
``cdata``                ``<![CDATA[ ]]>`` or ``<!-- -->`` around the JSON
``html-tags``            ``<br />``, ``<p>`` ... inside a text blob
``html-entities``        ``&#8220;``, ``&quot;`` ... standing for quotes
``untexturize-quotes``   “ ” ″ used as JSON quotes (WordPress wptexturize)
``untexturize-urls``     – × … inside URLs put back to ``--`` ``x`` ``...``
``comments``             JavaScript ``//`` and ``/* */`` comments
``trailing-comma``       ``,`` before ``}`` or ``]``
``invalid-escapes``      backslash escapes JSON does not know (``\\'``)
``control-chars``        raw newlines, tabs ... inside strings
``concatenated-objects`` several values in one blob, returned as a list
``trailing-text``        one value followed by ``;`` or commas
``truncated``            a cut-off blob: strings and brackets closed,
                         ``partial=True``
``inner-quotes``         quotes inside strings (backslashes stripped, or
                         curled the wrong way) told from delimiters by the
                         structure around them, and escaped
``salvaged-fields``      an object that still cannot be read: the members
                         before and after the damage, ``partial=True``
=======================  ==================================================

The last two are tried only when the others fail, ``inner-quotes`` from the
text as it was before the quote repairs (then the later repairs again), so a
blob the others read is read exactly as before
(:mod:`~harvester.extract.requote`).

Damage that cannot be undone with certainty is left as found: stripped
backslashes (``\\n\\n`` printed as ``nn``; named in ``Parsed.notes`` as
``stripped-backslashes`` when a texturized blob shows them), an en dash that
may have been ``--`` in prose, a duration without its ``P`` (that is a
validation finding).
Nothing here raises on bad input: a blob that cannot be recovered gives
``Parsed(value=None, error=...)`` — too large, too deeply nested, or not
JSON at all.  A number no float or int can hold (``1e999``, ten thousand
digits) is kept as its text, so its field gets a validation finding and the
rest of the record survives.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from harvester.extract.entities import unescape
from harvester.extract.frozen import maker
from harvester.extract.requote import requote, salvage
from harvester.records import Blob, Parsed, Syntax

__all__ = ["MAX_DEPTH", "MAX_PARSE_CHARS", "REPAIRS", "repair"]

# A single blob larger than this is not parsed (json.loads would need several
# times its size in memory); a 50 MB script gives an error, not a stall.
MAX_PARSE_CHARS = 10 * 1024 * 1024
# Deeper than this the truncation scanner gives up (json itself stops near 1000).
MAX_DEPTH = 512

# A JSON string literal; the second form runs to the end of a cut-off blob.
_STR = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_STR_OR_TAIL = r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\Z)'
_MAX_DIGITS = sys.get_int_max_str_digits() or 4300
_LONG_NUMBER = re.compile(rf"\d{{{_MAX_DIGITS + 1},}}")


def _read_float(text: str) -> float | str:
    """A JSON number with a fraction or exponent; one too large for a float is kept as
    its text, so that it is a finding on its field rather than an infinity no JSON
    document can hold."""
    value = float(text)
    return value if math.isfinite(value) else text


def _read_int(text: str) -> int | str:
    """A JSON integer; one longer than Python converts is kept as its text."""
    return int(text) if len(text) <= _MAX_DIGITS else text


class _Decoder:
    """``json.JSONDecoder`` whose numbers never fail a blob: NaN/Infinity read as null,
    numbers out of a float's range or past Python's digit limit kept as text.

    The fast decoder converts integers in C; only a blob it refuses for a too-long
    integer is read again with the integer hook.
    """

    def __init__(self) -> None:
        self._fast = json.JSONDecoder(parse_constant=lambda _: None, parse_float=_read_float)
        self._long = json.JSONDecoder(parse_constant=lambda _: None, parse_float=_read_float,
                                      parse_int=_read_int)

    def decode(self, text: str) -> Any:
        try:
            if text[:1] in _JSON_SPACE:
                return self._fast.decode(text)
            # decode() without its look for white space before the value (a blob's
            # text is stripped); a value followed by more is read again by decode(),
            # whose error says what follows.
            value, end = self._fast.raw_decode(text, 0)
            return value if end == len(text) else self._fast.decode(text)
        except json.JSONDecodeError:
            raise
        except ValueError:
            return self._long.decode(text)

    def raw_decode(self, text: str, pos: int) -> tuple[Any, int]:
        try:
            return self._fast.raw_decode(text, pos)
        except json.JSONDecodeError:
            raise
        except ValueError:
            return self._long.raw_decode(text, pos)


_DECODER = _Decoder()
# What JSON counts as white space (and "", so that an empty text goes to decode()).
_JSON_SPACE = " \t\n\r"
# Parsed(*fields) without the frozen dataclass's per-field setattr calls: a page may
# hold thousands of scripts.
_PARSED = maker(Parsed)


def repair(blob: Blob) -> Parsed:
    """Return the blob's JSON value and the repairs it needed; never raises."""
    if blob.data is not None:
        return Parsed(blob, blob.data)
    if len(blob.raw) > MAX_PARSE_CHARS:
        return Parsed(blob, None, error=f"blob too large to parse: {len(blob.raw):,} characters "
                                        f"(limit {MAX_PARSE_CHARS:,})")
    text = blob.raw.strip()
    if not text:
        return Parsed(blob, None, error="empty blob")
    try:
        return _PARSED(blob, _DECODER.decode(text), (), False, None, ())
    except RecursionError:
        return Parsed(blob, None, error="JSON nested too deeply to parse")
    except json.JSONDecodeError as exc:
        first_error = exc
    except ValueError as exc:  # e.g. Python's 4300-digit limit on int()
        why = (f"a number longer than Python reads ({_MAX_DIGITS} digits)"
               if _LONG_NUMBER.search(text) else str(exc))
        return Parsed(blob, None, error=f"JSON value cannot be read: {why}")
    return _lenient(blob, text, first_error)


def _lenient(blob: Blob, text: str, first_error: json.JSONDecodeError) -> Parsed:
    """Apply the textual repairs in order, trying to parse after each one that changed text."""
    done: list[str] = []
    before_quotes: tuple[str, tuple[str, ...]] = (text, ())
    for name, fix, needs in REPAIRS:
        if name == "untexturize-quotes":
            before_quotes = (text, tuple(done))
        if needs and needs not in done:
            continue
        fixed = fix(text, blob.syntax)
        if fixed == text:
            continue
        text = fixed
        done.append(name)
        if any(n == name for _, _, n in REPAIRS):
            continue  # a follow-up repair belongs with this one: run it before parsing
        found = _decode(text)
        if found is not None:
            return Parsed(blob, found[0], repairs=_names(done, found[1]), notes=_notes(done, text))
    if (found := _decode(text)) is not None:
        return Parsed(blob, found[0], repairs=_names(done, found[1]), notes=_notes(done, text))
    requoted = _requoted(blob, *before_quotes)
    if isinstance(requoted, Parsed):
        return requoted
    closed = _close_truncated(text)
    if closed is not None:
        return Parsed(blob, closed[0], repairs=_names(done, closed[1]), partial=True,
                      notes=_notes(done, text))
    if _LONG_NUMBER.search(text):
        return Parsed(blob, None, error=f"JSON holds a number longer than Python reads "
                                        f"({_MAX_DIGITS} digits)")
    if requoted is not None:
        text, done = requoted
    fields = salvage(text, _DECODER.raw_decode)
    if fields is not None:
        return Parsed(blob, fields, repairs=_names(done, ("salvaged-fields",)), partial=True,
                      notes=_notes(done, text))
    return Parsed(blob, None, error=f"not JSON, and no repair helped: {first_error}")


def _requoted(blob: Blob, text: str, done: tuple[str, ...]
              ) -> Parsed | tuple[str, list[str]] | None:
    """Read the blob again with the quotes inside its strings told from its delimiters by
    structure (:func:`~harvester.extract.requote.requote`), from the text as it was
    before the quote repairs; then the repairs that follow those.  The value when it
    parses (or closes as a truncated blob), else the text and repairs for
    :func:`~harvester.extract.requote.salvage`; ``None`` when the structure changes
    nothing the punctuation rule had not."""
    texturized = bool(_TEXTURIZED_HEAD.match(text))
    fixed, curled = requote(text, texturized)
    if fixed == untexturize_quotes(text, blob.syntax):
        return None
    names = [*done, *(("untexturize-quotes",) if curled else ()), "inner-quotes"]
    later = [r for r in REPAIRS if r[0] not in ("cdata", "html-tags", "html-entities",
                                                "untexturize-quotes")]
    for name, fix, needs in later:
        if needs and needs not in names:
            continue
        changed = fix(fixed, blob.syntax)
        if changed != fixed:
            fixed = changed
            names.append(name)
    if (found := _decode(fixed)) is not None:
        return Parsed(blob, found[0], repairs=_names(names, found[1]), notes=_notes(names, fixed))
    closed = _close_truncated(fixed)
    if closed is not None:
        return Parsed(blob, closed[0], repairs=_names(names, closed[1]), partial=True,
                      notes=_notes(names, fixed))
    return fixed, names


def _names(done: list[str], extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*done, *extra)))


# Traces of escapes whose backslash a filter removed: "\n\n" after a sentence
# printed as "nn", "\u00e9" as "u00e9".  Seen only in texturized blobs, where
# the same filter ran; the text is left as found because "nn" may be real.
_STRIPPED_ESCAPE = re.compile(r"(?<=[.!?:;)\]])nn(?=[A-Z])|u(?:00|20)[0-9a-fA-F]{2}")


def _notes(done: list[str], text: str) -> tuple[str, ...]:
    """Damage seen but not undone, for the validator to report."""
    if "untexturize-quotes" in done and "\\" not in text and _STRIPPED_ESCAPE.search(text):
        return ("stripped-backslashes",)
    return ()


# --- the textual repairs, each str -> str (unchanged when its damage is absent) ---

_HEAD_CDATA = re.compile(r"\A(?:/\*\s*)?(?://[ \t]*)?<!\[CDATA\[(?:\s*\*/)?")
_TAIL_WRAP = re.compile(r"(?:/\*\s*)?(?://[ \t]*)?(?:\]\]>|-->)(?:\s*\*/)?\s*\Z")


def strip_wrappers(text: str, syntax: Syntax) -> str:
    """Remove CDATA sections and HTML comments around (or before) the JSON."""
    for _ in range(4):  # wrappers nest at most a few deep (<!-- //<![CDATA[ ...)
        before = text
        text = _HEAD_CDATA.sub("", text).lstrip()
        if text.startswith("<!--"):
            end = text.find("-->")
            rest = text[end + 3:].lstrip() if end >= 0 else ""
            # A whole comment before the JSON, or an opening comment wrapping it.
            text = rest if rest[:1] in ("{", "[") else text[4:].lstrip()
        text = _TAIL_WRAP.sub("", text).rstrip()
        if text == before:
            break
    return text


_TAG = re.compile(r"<[a-zA-Z/][^>]*>")


def strip_tags(text: str, syntax: Syntax) -> str:
    """Drop markup from a blob pasted into HTML text (line breaks, paragraphs, links)."""
    return _TAG.sub("", text) if syntax is Syntax.TEXT else text


_ENTITY_QUOTE = re.compile(r"[{\[,:]\s*&(?:quot|#0*34|#[xX]0*22|#822[01]|[lr]dquo);")


def unescape_entities(text: str, syntax: Syntax) -> str:
    """Decode HTML entities: always in text blobs, in scripts only when quotes are entities."""
    if "&" not in text:
        return text
    if syntax is Syntax.TEXT or _ENTITY_QUOTE.search(text):
        return unescape(text)
    return text


_TEXTURIZED_HEAD = re.compile(r"\A[\s\[{]*[“”″„]")
_QUOTE_AFTER_PUNCT = re.compile(r"([{\[,:]\s*)[“”″„]")
_QUOTE_BEFORE_PUNCT = re.compile(r"[“”″„](\s*[:,}\]])")


def untexturize_quotes(text: str, syntax: Syntax) -> str:
    """Turn typographic quotes back into JSON quotes where they delimit keys and values.

    Applied only when the first key is quoted typographically; a curly quote
    inside a value (not next to ``{ [ , :`` or ``: , } ]``) is kept as written.
    """
    if not _TEXTURIZED_HEAD.match(text):
        return text
    text = _QUOTE_AFTER_PUNCT.sub(r'\1"', text)
    return _QUOTE_BEFORE_PUNCT.sub(r'"\1', text)


_URL_STRING = re.compile(r'"(?:https?:)?//[^"\s]*"')
_URL_TEXTURE = str.maketrans({"–": "--", "—": "---", "×": "x", "…": "...", "’": "'"})


def untexturize_urls(text: str, syntax: Syntax) -> str:
    """Undo wptexturize inside URL values, where typographic characters never belong."""
    if not any(ch in text for ch in "–—×…’"):
        return text
    return _URL_STRING.sub(lambda m: m.group().translate(_URL_TEXTURE), text)


_COMMENT_SCAN = re.compile(_STR_OR_TAIL + r"|//[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)


def strip_comments(text: str, syntax: Syntax) -> str:
    """Remove ``//`` and ``/* */`` comments outside strings."""
    if "/" not in text:
        return text
    return _COMMENT_SCAN.sub(lambda m: m.group() if m.group()[0] == '"' else " ", text)


_TRAILING_SCAN = re.compile(_STR_OR_TAIL + r"|,(?=\s*[}\]])", re.DOTALL)


def drop_trailing_commas(text: str, syntax: Syntax) -> str:
    """Remove a comma that directly precedes ``}`` or ``]`` (outside strings)."""
    return _TRAILING_SCAN.sub(lambda m: m.group() if m.group()[0] == '"' else "", text)


_BAD_ESCAPE = re.compile(r'\\(?:(\')|([^"\\/bfnrtu\']|u(?![0-9a-fA-F]{4})))')
_STRING_SCAN = re.compile(_STR_OR_TAIL, re.DOTALL)


def fix_escapes(text: str, syntax: Syntax) -> str:
    r"""``\'`` becomes ``'``; any other unknown escape keeps its backslash as ``\\``."""
    if "\\" not in text:
        return text

    def fix(match: re.Match[str]) -> str:
        return "'" if match.group(1) else "\\" + match.group()

    return _STRING_SCAN.sub(lambda m: _BAD_ESCAPE.sub(fix, m.group()), text)


_CONTROL = re.compile(r"[\x00-\x1f]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def escape_control_chars(text: str, syntax: Syntax) -> str:
    """Escape raw control characters (newlines, tabs ...) inside strings."""
    if not _CONTROL.search(text):
        return text

    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return _STRING_SCAN.sub(lambda m: _CONTROL.sub(escape, m.group()), text)


Repair = Callable[[str, Syntax], str]
# (name, function, the earlier repair it follows up on, if any), in the order tried.
REPAIRS: tuple[tuple[str, Repair, str | None], ...] = (
    ("cdata", strip_wrappers, None),
    ("html-tags", strip_tags, None),
    ("html-entities", unescape_entities, None),
    ("untexturize-quotes", untexturize_quotes, None),
    # The same filter that curled the quotes put dashes and × into URLs: undo it
    # there (and only there) even when the JSON already parses.
    ("untexturize-urls", untexturize_urls, "untexturize-quotes"),
    ("comments", strip_comments, None),
    ("trailing-comma", drop_trailing_commas, None),
    ("invalid-escapes", fix_escapes, None),
    ("control-chars", escape_control_chars, None),
)


# --- whole-value repairs: several values, a cut-off blob ---

def _decode(text: str) -> tuple[Any, tuple[str, ...]] | None:
    """Parse ``text`` as one value, or as several values in a row; ``None`` if neither."""
    try:
        return _DECODER.decode(text), ()
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            return None
    except (ValueError, RecursionError):
        return None
    return _decode_sequence(text)


_SEPARATORS = re.compile(r"[\s,;]*")


def _decode_sequence(text: str) -> tuple[Any, tuple[str, ...]] | None:
    values: list[Any] = []
    pos = 0
    while pos < len(text):
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            return None
        values.append(value)
        pos = _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]
    if len(values) > 1:
        return values, ("concatenated-objects",)
    return (values[0], ("trailing-text",)) if values else None


_TRUNC_SCAN = re.compile(_STR + r'|(?P<tail>"[^"\\]*(?:\\.[^"\\]*)*\\?\Z)|[{}\[\],]', re.DOTALL)
_CLOSERS = {"{": "}", "[": "]"}


def _close_truncated(text: str) -> tuple[Any, tuple[str, ...]] | None:
    """Close a cut-off string and the open brackets; back off to the last comma if needed."""
    stack: list[str] = []
    last_comma: tuple[int, str] | None = None
    open_string = False
    for match in _TRUNC_SCAN.finditer(text):
        ch = match.group()[0]
        if match.group("tail") is not None:
            open_string = True
        elif ch in _CLOSERS:
            stack.append(_CLOSERS[ch])
            if len(stack) > MAX_DEPTH:
                return None
        elif ch in "}]":
            if not stack or stack.pop() != ch:
                return None  # mismatched brackets: not a simple truncation
        elif ch == ",":
            last_comma = (match.start(), "".join(reversed(stack)))
    if not stack and not open_string:
        return None
    head = text.rstrip()
    if open_string:
        head = (head[:-1] if head.endswith("\\") and not head.endswith("\\\\") else head) + '"'
    attempts = [head.rstrip(",: \t\r\n") + "".join(reversed(stack))]
    if last_comma is not None:
        attempts.append(text[:last_comma[0]] + last_comma[1])
    for attempt in attempts:
        escaped = escape_control_chars(attempt, Syntax.JSON_LD)
        found = _decode(escaped)
        if found is not None:
            extra = ("control-chars",) if escaped != attempt else ()
            return found[0], (*extra, *found[1], "truncated")
    return None
