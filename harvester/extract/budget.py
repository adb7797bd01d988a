"""Bounds on what the records of one page may hold, so output stays a small multiple
of the page whatever the page does.

Two things could make it grow faster than the page: a page of very many videos,
and videos nested in videos, whose records would each hold their enclosing
video's text and data again.  The promises:

* a nested video's ``raw`` is its own node (the JSON of that node), never the
  whole blob it was found in; a top-level record's ``raw`` is its blob as found;
* at most :data:`MAX_VIDEOS` records per page, and no more than one per
  :data:`CHARS_PER_VIDEO` characters of it (a record holds about a kilobyte
  whatever its node), though any page may have :data:`MIN_VIDEOS`; the last
  one kept carries the warning ``too_many_videos``;
* the records' ``raw`` and ``data`` together are charged against a budget of
  twice the page's size (plus a floor), the data as the manifest writes it.
  Once it is spent, a record's ``data`` names each nested video by its pointer
  (``{"@type": ..., "@ref": "/video"}``) instead of holding a copy, holds
  nothing deeper than :data:`CUT_DEPTH` levels, and is normalised and validated
  so; its ``raw`` is that node's JSON, or for markup the first
  :data:`RAW_PREFIX` characters of it.  Such a record carries the warning
  ``raw_truncated``.  Pages that nest nothing never come near the budget: their
  blobs do not overlap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from harvester.extract.nodes import is_video_type
from harvester.records import Candidate, Finding, Syntax, Validation

__all__ = ["MAX_VIDEOS", "MIN_VIDEOS", "RAW_PREFIX", "PageBudget", "too_many", "truncated"]

MAX_VIDEOS = 12_000
MIN_VIDEOS = 1024
RAW_PREFIX = 256
# The budget: this many times the page's characters, plus a floor for tiny pages.
BUDGET_PER_CHAR = 2
BUDGET_FLOOR = 64 * 1024
# A record costs about a kilobyte however small its node (id, claims, findings), so a
# page may not have more records than one per this many of its characters.
CHARS_PER_VIDEO = 64
# Past the budget, data nested deeper than this is cut (indentation alone would make
# deep data take space quadratic in its depth).
CUT_DEPTH = 16

TOO_MANY = "too_many_videos"
TRUNCATED = "raw_truncated"
_JSON_SYNTAXES = (Syntax.JSON_LD, Syntax.TEXT)


class PageBudget:
    """What the records of one page may still take (one per page; not thread-safe)."""

    def __init__(self, page_chars: int) -> None:
        self.left = BUDGET_PER_CHAR * page_chars + BUDGET_FLOOR
        self.videos = 0
        self.max_videos = min(MAX_VIDEOS, max(MIN_VIDEOS, page_chars // CHARS_PER_VIDEO))

    def full(self) -> bool:
        """Whether the page already has as many records as it may."""
        return self.videos >= self.max_videos

    def take(self, cand: Candidate) -> tuple[Candidate, str, bool]:
        """The candidate a record is built from, the ``raw`` it keeps, and whether it
        was cut down (nested videos referenced, deep data or long text cut).

        Each record is charged for its text and for its data as the manifest
        writes it (indented, so deep nesting costs what it will take on disk).
        Once the budget is spent a record's work and output no longer grow with
        what it nests, so the whole page costs time and space linear in its size.
        """
        self.videos += 1
        if self.left > 0:
            raw = own_raw(cand)
            cost = len(raw) + written_size(cand.data, self.left)
            if cost <= self.left:
                self.left -= cost
                return cand, raw, False
            self.left = 0
        data, changed = referencing(cand.data)
        cand = replace(cand, data=data)
        # JSON: a top-level blob as found, or its (now small) own node; markup: its start.
        json_like = cand.blob.syntax in _JSON_SYNTAXES
        raw = own_raw(cand) if json_like else cand.blob.raw[:RAW_PREFIX]
        return cand, raw, changed or (len(raw) < len(cand.blob.raw) and not json_like)


def own_raw(cand: Candidate) -> str:
    """The text a record of ``cand`` keeps: its blob as found, or for a video nested
    in a parsed blob, the JSON of its own node."""
    if not cand.pointer or cand.blob.syntax not in _JSON_SYNTAXES:
        return cand.blob.raw
    try:
        return _COMPACT(cand.data)
    except (ValueError, RecursionError, TypeError):
        return cand.blob.raw[:RAW_PREFIX]


# json.dumps with these options, made once: dumps() builds an encoder per call otherwise.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_COMPACT: Callable[[Any], str] = _ENCODER.encode
if c_make_encoder is not None:
    # encode() makes its C encoder anew on each call; a page of thousands of nested
    # videos encodes one node per record, so the C encoder is made once here.
    _C_COMPACT = c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",",
                                False, False, True)

    def _compact(value: Any) -> str:
        return "".join(_C_COMPACT(value, 0))

    _COMPACT = _compact
_FLAT_SCALARS = frozenset({int, float, bool, type(None)})


def written_size(value: Any, limit: int) -> int:
    """About how many characters ``value`` takes in the manifest (two-space indent);
    stops counting past ``limit``, so the cost of asking is bounded too."""
    if type(value) is dict:
        flat = _flat_size(value)
        if flat is not None:
            return flat
    return _nested_size(value, limit)


def _flat_size(node: dict[Any, Any]) -> int | None:
    """:func:`written_size` of an object of texts and numbers only (most video nodes),
    in one pass; ``None`` when it holds a list or an object."""
    total = 2 + len(node) * 6
    for key, item in node.items():
        total += len(key) if type(key) is str else len(str(key))
        if type(item) is str:
            total += len(item) + 2
        elif type(item) in _FLAT_SCALARS:
            total += 8
        else:
            return None
    return total


def _nested_size(value: Any, limit: int) -> int:
    # Texts and numbers are counted where they are met, only containers go on the
    # stack: the same sum, and past ``limit`` (where the walk may stop sooner) still
    # more than ``limit``.
    total = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack and total <= limit:
        node, depth = stack.pop()
        items: Iterable[Any]
        if type(node) is dict or isinstance(node, Mapping):
            total += 2 + len(node) * (2 * depth + 4)
            total += sum(len(key) if type(key) is str else len(str(key)) for key in node)
            items = node.values()
        elif isinstance(node, list):
            total += 2 + len(node) * (2 * depth + 2)
            items = node
        else:
            total += len(node) + 2 if isinstance(node, str) else 8
            continue
        for item in items:
            kind = type(item)
            if kind is str:
                total += len(item) + 2
            elif kind in _FLAT_SCALARS:
                total += 8
            else:
                stack.append((item, depth + 1))
    return total


def referencing(data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """A copy of ``data`` whose nested video nodes are replaced by references to their
    records (``{"@type": ..., "@ref": pointer}``, the pointer relative to ``data``)
    and whose containers deeper than :data:`CUT_DEPTH` are replaced by ``"…"``; and
    whether anything was replaced."""
    out: dict[str, Any] = {}
    changed = [False]
    stack: list[tuple[Any, Any, Any, str, int]] = [
        (value, out, key, "/" + _escape(str(key)), 1) for key, value in data.items()]
    while stack:
        value, parent, key, pointer, depth = stack.pop()
        parent[key] = _copy_node(value, pointer, depth, stack, changed)
    return out, changed[0]


def _copy_node(value: Any, pointer: str, depth: int,
               stack: list[tuple[Any, Any, Any, str, int]], changed: list[bool]) -> Any:
    """One node of :func:`referencing`'s copy; its children go on ``stack``."""
    if not isinstance(value, Mapping | list):
        return value
    if depth >= CUT_DEPTH:
        changed[0] = True
        return "…"
    if isinstance(value, list):
        copy_list: list[Any] = [None] * len(value)
        for i, item in enumerate(value):
            stack.append((item, copy_list, i, f"{pointer}/{i}", depth + 1))
        return copy_list
    kind = value.get("@type")
    if isinstance(kind, str) and is_video_type(kind):
        changed[0] = True
        return {"@type": kind, "@ref": pointer}
    copy: dict[str, Any] = {}
    for k, item in value.items():
        stack.append((item, copy, k, f"{pointer}/{_escape(str(k))}", depth + 1))
    return copy


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def with_warning(validation: Validation, code: str, message: str) -> Validation:
    """``validation`` with one more warning, named by ``code``."""
    finding = Finding("", f"{code}: {message}")
    return Validation(valid=validation.valid, errors=validation.errors,
                      warnings=(*validation.warnings, finding))


def truncated(validation: Validation) -> Validation:
    """``validation`` with the ``raw_truncated`` warning."""
    return with_warning(validation, TRUNCATED, "records of this page hold twice its size: "
                        "raw cut, nested videos referenced")


def too_many(validation: Validation) -> Validation:
    """``validation`` with the ``too_many_videos`` warning."""
    return with_warning(validation, TOO_MANY, "the page holds more videos than it may "
                        "have records; the rest were not recorded")
