"""Quotes inside JSON strings, told from the quotes that delimit them by the structure
around them; and the fields of an object that still cannot be read.

A description holding ``"quoted words"`` whose backslashes a filter stripped,
or whose closing quote WordPress's wptexturize curled the wrong way (``…
Middleton. “,``), ends its string too early for any parser.  What follows a
delimiting quote tells where the string really ends:

- a key's quote is followed by ``:``;
- a value's quote in an object by ``}``, or by ``,`` and a quoted key, its
  ``:`` and the start of a value;
- a value's quote in an array by ``]``, or by ``,`` and the start of a value;
- either by a closing bracket of the wrong kind, where the brackets are the
  damage.

Any other quote is content: a straight one is escaped, a typographic one kept
as written.  :func:`requote` reads the blob once, left to right; each quote
looks ahead a bounded stretch (plus the blank space after it), so the cost is
linear in the blob's size.

:func:`salvage` is the last resort for an object that still does not parse: it
reads the object's members one by one and, past a member it cannot read, goes
on at the next ``, "key":`` -- the fields before and after the damage survive.
Its parsing is bounded by a budget of a few times the blob's size.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["requote", "salvage"]

_STRAIGHT = '"'
_CURLY = '"“”″„'
# Blank space between tokens (each stretch is looked at by the one quote before it).
_WS = r"[ \t\r\n]*"


def _closers(quotes: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    q = re.escape(quotes)
    value = rf"[{q}{{\[\-\dtfn]"
    # A key, its ":" and a value's start; or any part of that cut off by the blob's end.
    key = rf"[{q}][^{q}\\\n]{{0,100}}(?:\Z|[{q}]{_WS}(?:\Z|:{_WS}(?:\Z|{value})))"
    # A bracket of the wrong kind closes a string too: the brackets are what is damaged.
    in_object = re.compile(rf"{_WS}(?:[}}\]]|\Z|,{_WS}(?:\}}|\Z|{key}))")
    in_array = re.compile(rf"{_WS}(?:[\]}}]|\Z|,{_WS}(?:\]|\Z|{value}))")
    return in_object, in_array


_CLOSERS = {_STRAIGHT: _closers(_STRAIGHT), _CURLY: _closers(_CURLY)}
_TOKENS = {quotes: re.compile(rf"\\.|[{re.escape(quotes)}{{}}\[\],:]", re.DOTALL)
           for quotes in (_STRAIGHT, _CURLY)}
# What may follow the end of the top-level value: more values, or nothing.
_MORE = re.compile(rf"{_WS}(?:[,;{{\[]|\Z)")


def requote(text: str, curly: bool) -> tuple[str, bool]:
    """``text`` with its delimiting quotes straight and its content quotes escaped (or
    kept, if typographic), cut after the top-level value when prose follows it; and
    whether a typographic quote was taken as a delimiter.

    ``curly``: the blob was texturized, so “ ” ″ „ may delimit too.
    """
    quotes = _CURLY if curly else _STRAIGHT
    in_object, in_array = _CLOSERS[quotes]
    out: list[str] = []
    stack: list[str] = []
    copied = 0
    in_string = is_key = expect_key = curled = False
    for match in _TOKENS[quotes].finditer(text):
        ch = match.group()
        at = match.start()
        if in_string:
            if ch not in quotes:
                continue
            top = stack[-1] if stack else ""
            closer = in_object if top == "{" else in_array
            if is_key or not top or closer.match(text, at + 1):
                in_string = False
                replacement = '"'
            else:
                replacement = '\\"' if ch == '"' else ch
        elif ch in quotes:
            in_string = True
            is_key = expect_key and bool(stack) and stack[-1] == "{"
            expect_key = False
            replacement = '"'
        else:
            if ch in "{[":
                stack.append(ch)
                expect_key = ch == "{"
            elif ch in "}]":
                if stack:
                    stack.pop()
                expect_key = False
                if not stack and not _MORE.match(text, match.end()):
                    out.append(text[copied:match.end()])
                    return "".join(out), curled
            else:
                expect_key = ch == "," and bool(stack) and stack[-1] == "{"
            continue
        if replacement != ch:
            curled = curled or ch != '"'
            out.append(text[copied:at])
            out.append(replacement)
            copied = match.end()
    out.append(text[copied:])
    return "".join(out), curled


_MEMBER = re.compile(rf"[ \t\r\n,]*(\"(?:[^\"\\\n]|\\.){{0,100}}\"){_WS}:{_WS}")
_AFTER = re.compile(rf"{_WS}([,}}]|\Z)")
_END = re.compile(r"[ \t\r\n,]*(?:\}|\Z)")
_NEXT_MEMBER = re.compile(r',[ \t\r\n]{0,200}"(?:[^"\\\n]|\\.){1,100}"[ \t\r\n]{0,200}:')
RawDecode = Callable[[str, int], tuple[Any, int]]


def salvage(text: str, raw_decode: RawDecode) -> dict[str, Any] | None:
    """The members of the object ``text`` that can be read, skipping damaged ones
    (the first of a repeated key wins); ``None`` when there is no object, no
    damage, or no field after the damage could be read (a blob that merely stops
    is a truncated one, not this)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    budget = 8 * len(text) + 65536
    found: dict[str, Any] = {}
    after_damage = -1  # how many fields were read before the first damage
    pos = 1
    while pos < len(text) and budget > 0:
        end, cost = _member(text, pos, raw_decode, found)
        budget -= cost
        if end < 0:
            break  # the object's "}"
        if end > pos:
            pos = end
            continue
        if after_damage < 0:
            after_damage = len(found)
        resync = _NEXT_MEMBER.search(text, pos + 1)
        if resync is None:
            break
        budget -= resync.start() - pos
        pos = resync.start()
    return found if 0 <= after_damage < len(found) else None


def _member(text: str, pos: int, raw_decode: RawDecode, found: dict[str, Any]
            ) -> tuple[int, int]:
    """Read one ``"key": value`` at ``pos`` into ``found``: where the next member
    starts (``pos`` itself when it cannot be read, ``-1`` at the object's end), and
    what reading it cost.

    A parse that fails costs its position in the blob, however short the value:
    the error it raises counts the lines before that position.
    """
    member = _MEMBER.match(text, pos)
    if member is None:
        return (-1 if _END.match(text, pos) else pos), 1
    try:
        key = json.loads(member.group(1))
        value, end = raw_decode(text, member.end())
    except json.JSONDecodeError as exc:
        return pos, max(member.end(), exc.pos) + 1
    except (ValueError, RecursionError):
        return pos, len(text)
    after = _AFTER.match(text, end)
    if after is None:
        return pos, end
    found.setdefault(key, value)
    return (-1 if after.group(1) in ("}", "") else after.start(1)), end - pos
