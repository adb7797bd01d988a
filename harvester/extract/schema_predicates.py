"""The predicates compiled schemas are made of, and the types that describe them.

A :data:`Check` answers one (sub)schema for one instance: ``check(instance,
memo)`` is True when jsonschema would find no error.  The helpers here combine
checks (:func:`all_of`, :func:`any_of`) and answer JSON Schema's types as
jsonschema's Draft 2020-12 type checker does (:data:`TYPES`).
"""

# The checks run a great many times per document, and all()/any() over a
# generator costs a frame each time: the loops here stay plain loops.
# ruff: noqa: SIM110

from __future__ import annotations

import numbers
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["ANNOTATIONS", "KEPT_ANSWERS", "KEPT_CHARS", "SCALAR_TYPES", "TYPES", "Answers",
           "Check", "Child", "Kept", "Memo", "Spec", "all_of", "always", "any_of", "forget_answers",
           "is_number", "never"]

#: Answers one call has worked out, kept for the rest of that call only.
Memo = dict[Any, bool]
#: A compiled (sub)schema: ``check(instance, memo)`` is True when jsonschema finds no error.
Check = Callable[[Any, Memo], bool]
#: One member of a ``properties`` object or an ``allOf`` list: (name or index, subschema, check).
Child = tuple[Any, Any, Check]

# Keywords that only annotate: they never fail (then/else are read by "if").
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description",
                         "default", "examples", "then", "else"})

# Answers for short texts are kept across documents (dates, durations, types recur
# across the records of a page), up to this many per table, then forgotten.
KEPT_ANSWERS = 4096
KEPT_CHARS = 256


V = TypeVar("V")


class Kept(dict[Any, V], Generic[V]):
    """A table a check keeps across documents (:data:`KEPT_ANSWERS` entries at most:
    :meth:`keep` empties it when full); every table alive can be emptied at once
    (:func:`forget_answers`)."""

    def __init__(self) -> None:
        super().__init__()
        _TABLES[id(self)] = self  # a table is a dict, so not hashable: known by its id

    def keep(self, key: Any, value: V) -> V:
        """Keep ``value`` under ``key`` (emptying the table first when it is full);
        returns ``value``."""
        if len(self) >= KEPT_ANSWERS:
            self.clear()
        self[key] = value
        return value


class Answers(Kept[bool]):
    """One check's table of answers, by the value (or tuple of keys) checked."""


# Every table alive (one goes with the check that made it).
_TABLES: weakref.WeakValueDictionary[int, dict[Any, Any]] = weakref.WeakValueDictionary()


def forget_answers() -> None:
    """Empty every table of kept answers (a benchmark's passes over the same pages
    should not reuse what the earlier ones learnt)."""
    for table in list(_TABLES.values()):
        table.clear()


#: What a subschema asks of instances of one type: always True, always False, or a check.
Spec = bool | Check
#: The scalar types of parsed JSON: a value of one of these is checked by its type's own
#: check (:mod:`harvester.extract.schema_typed`: keywords about other types answered).
SCALAR_TYPES: tuple[type, ...] = (str, int, float, bool, type(None))


def is_number(value: Any, _: Memo | None = None) -> bool:
    """JSON Schema's "number": any number but a boolean."""
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def is_integer(value: Any, _: Memo | None = None) -> bool:
    """JSON Schema's "integer": an int, or a float with no fraction (``1.0``)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# Draft 2020-12's type checker, as jsonschema defines it.
TYPES: dict[str, Check] = {
    "array": lambda v, _: isinstance(v, list), "boolean": lambda v, _: isinstance(v, bool),
    "integer": is_integer, "null": lambda v, _: v is None, "number": is_number,
    "object": lambda v, _: isinstance(v, dict), "string": lambda v, _: isinstance(v, str),
}


def always(_: Any, __: Memo) -> bool:
    """The check that always passes."""
    return True


def never(_: Any, __: Memo) -> bool:
    """The check that always fails."""
    return False


def all_of(checks: list[Check]) -> Check:
    if not checks:
        return always
    if len(checks) == 1:
        return checks[0]

    def every(value: Any, memo: Memo) -> bool:
        for check in checks:
            if not check(value, memo):
                return False
        return True

    return every


def any_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def some(value: Any, memo: Memo) -> bool:
        for check in checks:
            if check(value, memo):
                return True
        return False

    return some
