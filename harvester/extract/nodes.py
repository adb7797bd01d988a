"""Find every VideoObject node inside a parsed blob, wherever it is nested.

The promise of :func:`video_nodes`: each object whose type names a
VideoObject is yielded once, as a :class:`~harvester.records.Candidate`
with its JSON pointer, in document order.  A type is read from ``@type``
(or ``type`` when ``@type`` is absent) as a string or a list, as a full IRI
(``http://schema.org/VideoObject``, ``schema:VideoObject``), in any case
(``videoObject``), and includes subtypes named ``…VideoObject…``
(``VideoObjectSnapshot``).  The walk covers top-level lists, ``@graph`` as
an array or as an object keyed ``"0"``..``"n"``, and every property
(``video``, ``itemListElement[].item``, ``hasPart``, ``subjectOf`` ...); a
VideoObject inside another is its own record.  ``null`` entries are skipped.
A blob whose ``data`` an extractor built (microdata, RDFa, Open Graph) gives
its root only: a video item nested in it is found as a blob of its own.
The walk is iterative and depth-capped, so hostile nesting cannot crash it.
In a blob that was cut off and closed by the ``truncated`` repair, only the
nodes still open at the cut are ``partial``; the whole ones before it are not.

>>> from harvester.records import Blob, Parsed, Syntax
>>> blob = Blob("p", Syntax.JSON_LD, 0, "")
>>> value = {"@graph": [{"@type": "WebPage"}, {"@type": "VideoObject", "name": "x"}]}
>>> [c.pointer for c in video_nodes(Parsed(blob, value))]
['/@graph/1']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from harvester.extract.frozen import maker
from harvester.records import Candidate, Parsed

__all__ = ["MAX_WALK_DEPTH", "is_flat", "is_video_type", "video_nodes"]

# Leaves of parsed JSON: skipped without the (slower) Mapping test.
_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({dict, list})
# Real JSON-LD is rarely ten levels deep; anything past this is not looked into.
MAX_WALK_DEPTH = 100


def video_nodes(parsed: Parsed) -> Iterator[Candidate]:
    """Yield a Candidate for each VideoObject node of ``parsed.value``."""
    if parsed.value is None:
        return
    if parsed.blob.data is not None:
        # An item an extractor built (microdata, RDFa, Open Graph): each video item
        # on the page, nested or not, is a blob of its own, so only the root counts
        # here; its nested video items are the blobs that follow it.
        if isinstance(parsed.value, Mapping) and _is_video(parsed.value):
            yield _CANDIDATE(parsed.blob, parsed.value, parsed.repairs, False, "",
                             parsed.notes)
        return
    blob, repairs, notes = parsed.blob, parsed.repairs, parsed.notes
    if type(parsed.value) is dict and not parsed.partial and is_flat(parsed.value):
        # One object of texts and numbers (a script per video): nothing to walk into.
        if _is_video(parsed.value):
            yield _CANDIDATE(blob, parsed.value, repairs, False, "", notes)
        return
    cut = _right_spine(parsed.value) if parsed.partial else _NONE_CUT
    # Each entry: (value, depth, where): ``where`` is (parent's where, key), turned
    # into a JSON pointer only for the nodes that are videos.
    stack: list[tuple[Any, int, _Where]] = [(parsed.value, 0, None)]
    pop = stack.pop
    while stack:
        value, depth, where = pop()
        kind_of_value = type(value)
        if kind_of_value is dict or isinstance(value, Mapping):
            kind = value.get("@type")
            # _is_video(value), without the calls for the common "@type": "..." text.
            if "videoobject" in kind.lower() if type(kind) is str else _is_video(value):
                yield _CANDIDATE(blob, value, repairs, id(value) in cut, _pointer(where),
                                 notes)
            items: Iterable[tuple[Any, Any]] = value.items()
        elif kind_of_value is list or isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        if depth < MAX_WALK_DEPTH:
            # Only containers can hold a node (parsed JSON's are dicts and lists: no
            # isinstance call for them); reversed onto the stack so that nodes come
            # out in document order.
            deeper = depth + 1
            children = [(v, deeper, (where, k)) for k, v in items
                        if type(v) in _CONTAINERS
                        or (type(v) not in _SCALARS and isinstance(v, Mapping | list))]
            if children:
                children.reverse()
                stack.extend(children)


def is_flat(node: dict[Any, Any]) -> bool:
    """Whether every value of ``node`` is a string, number, boolean or null (no container
    to walk into: most video nodes)."""
    for value in node.values():  # noqa: SIM110 - a plain loop: no generator frame
        if type(value) not in _SCALARS:
            return False
    return True


_Where = tuple[Any, Any] | None
# Candidate(*fields) without the frozen dataclass's per-field setattr calls.
_CANDIDATE = maker(Candidate)
_NONE_CUT: frozenset[int] = frozenset()


def _pointer(where: _Where) -> str:
    """The JSON pointer of a (parent, key) chain."""
    keys: list[str] = []
    while where is not None:
        where, key = where
        if type(key) is str:
            keys.append(_escape(key) if "~" in key or "/" in key else key)
        else:
            keys.append(str(key) if type(key) is int else _escape(str(key)))
    keys.append("")
    return "/".join(reversed(keys))


def _right_spine(value: Any) -> set[int]:
    """Ids of the containers a truncation repair closed: the last child, recursively.

    A cut-off blob loses its end, so only the nodes still open at the cut
    (the last one at each level) are partial; earlier siblings are whole.
    """
    spine: set[int] = set()
    for _ in range(MAX_WALK_DEPTH + 1):
        if isinstance(value, Mapping) and value:
            spine.add(id(value))
            value = list(value.values())[-1]
        elif isinstance(value, list) and value:
            spine.add(id(value))
            value = value[-1]
        else:
            if isinstance(value, Mapping | list):
                spine.add(id(value))
            break
    return spine


def _is_video(node: Mapping[str, Any]) -> bool:
    types = node.get("@type")
    if types is None:
        types = node.get("type")
    if isinstance(types, str):
        return is_video_type(types)
    if isinstance(types, list):
        return any(isinstance(t, str) and is_video_type(t) for t in types)
    return False


def is_video_type(name: str) -> bool:
    """True for ``VideoObject``, its IRIs, case variants and ``…VideoObject…`` subtypes."""
    return "videoobject" in name.lower()


def _escape(key: str) -> str:
    """RFC 6901 escaping of one reference token."""
    if "~" not in key and "/" not in key:
        return key  # most keys
    return key.replace("~", "~0").replace("/", "~1")
