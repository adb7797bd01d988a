"""Make frozen, slotted dataclass records quickly, for pages of thousands of records.

A frozen dataclass's generated ``__init__`` sets each field through
``object.__setattr__`` (its own ``__setattr__`` refuses), a lookup and a call per
field.  :func:`maker` gives a function that takes every field positionally, in the
class's field order, and stores them through the slots' own descriptors, fetched
once: the same object ``cls(*values)`` makes (equal, hashable, picklable), with
less work per record.  It refuses a class whose ``__init__``
does more than store its arguments (``__post_init__``, ``init=False`` fields), so
it can never build what the class would not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["maker"]

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """``make(*values)``, equal to ``cls(*values)`` with every field given in order."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # checked below
    params = getattr(cls, "__dataclass_params__", None)
    if (params is None or not params.frozen or "__slots__" not in cls.__dict__
            or hasattr(cls, "__post_init__") or not all(f.init for f in fields)):
        raise TypeError(f"{cls.__name__} is not a frozen slotted dataclass that only "
                        "stores its fields")
    names = [f"v{i}" for i in range(len(fields))]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make({', '.join(names)}):", "    o = _new(_cls)"]
    for i, field in enumerate(fields):
        scope[f"s{i}"] = cls.__dict__[field.name].__set__
        lines.append(f"    s{i}(o, v{i})")
    lines.append("    return o")
    exec("\n".join(lines), scope)  # generated from field names only, as dataclasses does
    made: Callable[..., T] = scope["make"]
    return made
