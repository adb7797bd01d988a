"""Checks made for instances of one type: what a schema asks of a text, a number,
``null`` or an object, with what concerns other types answered in advance.

A record's values are mostly texts, and a text need not be asked whether it is
an array with enough items or an object with the required keys: the typed
check of a subschema (:meth:`TypedChecks.typed`) answers those keywords when it
is made, picks ``if`` branches and ``anyOf`` members whose answer is then known,
and leaves only the checks that can fail.  For an object, the rules that read
only its keys (``required``, ``propertyNames`` ...) are asked once per tuple of
keys while a bounded table keeps the answer.  The promise: a typed check gives
the general check's answer for every value of its type.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

from harvester.extract.schema_predicates import (
    ANNOTATIONS,
    KEPT_CHARS,
    TYPES,
    Answers,
    Check,
    Kept,
    Memo,
    Spec,
    all_of,
    always,
    any_of,
    never,
)

__all__ = ["TypedChecks"]


class TypedChecks(ABC):
    """The typed checks of a build (:class:`~harvester.extract.schema_compile.Build`
    mixes this in): it gives :meth:`schema`, :meth:`keyword` and :meth:`resolve`."""

    root: Mapping[str, Any]
    kept: list[Any]

    def init_typed(self, known: Mapping[tuple[int, type], Spec]) -> None:
        """Start with what an earlier build made (``known``), read-only."""
        self.known_typed = known
        self.typed_checks: dict[tuple[int, type], Spec] = {}
        self._text_patterns: dict[str, Check] = {}
        self._text_searches: dict[Check, Callable[[str], Any]] = {}
        self._keys_only: set[Check] = set()
        self._typing: set[tuple[int, type]] = set()
        self._non_ascii_only: set[Check] = set()  # text patterns no ASCII text matches
        #: The ``properties`` checks made: their (name, check, checks by type).
        self.property_lists: dict[Check, list[Property]] = {}

    @abstractmethod
    def schema(self, schema: Any) -> Check:
        """The general check of ``schema`` (the build's)."""

    @abstractmethod
    def keyword(self, schema: Mapping[str, Any], name: str) -> Check | None:
        """The general check of one keyword of ``schema`` (the build's)."""

    @abstractmethod
    def resolve(self, ref: str) -> Any:
        """The subschema a ``$ref`` names (the build's)."""

    def typed(self, schema: Any, kind: type) -> Spec:
        """What ``schema`` asks of an instance whose ``type()`` is ``kind`` (one of
        :data:`~harvester.extract.schema_predicates.SCALAR_TYPES`, or ``dict``): the
        keywords that only concern other types (``items``, ``required``, ``type`` ...)
        answered now, ``if`` branches and ``anyOf`` members
        chosen when their answer is known, so that such a value runs only the checks
        that can fail it.  The same answer as :meth:`schema`'s check, for any value
        of that type.
        """
        key = (id(schema), kind)
        found = self.known_typed.get(key)
        if found is None:
            found = self.typed_checks.get(key)
        if found is not None:
            return found
        if key in self._typing:
            return self.schema(schema)  # a schema that reaches itself: the general check
        self._typing.add(key)
        try:
            found = self._typed(schema, kind)
        finally:
            self._typing.discard(key)
        self.typed_checks[key] = found
        self.kept.append(schema)
        return found

    def object_check(self, schema: Any) -> Spec:
        """:meth:`typed` for objects, as an entry: a check that reads only the keys is
        asked once per tuple of keys (its parts that do are, in any case)."""
        spec = self.typed(schema, dict)
        if callable(spec) and spec in self._keys_only:
            spec = self.typed_checks[(id(schema), dict)] = _by_keys(spec)
        return spec

    def typed_check(self, schema: Any, kind: type) -> Check:
        """:meth:`typed` as a check (a constant answer becomes a check that gives it)."""
        spec = self.typed(schema, kind)
        return spec if callable(spec) else (always if spec else never)

    def _typed(self, schema: Any, kind: type) -> Spec:
        if schema is True or schema is False:
            return bool(schema)
        if not isinstance(schema, Mapping) or (schema is not self.root and "$id" in schema):
            return self.schema(schema)
        parts: list[Check] = []
        # "if" last: a condition another keyword of this schema already requires is
        # known to hold wherever the "if" is reached (url: pattern P, if P then ...).
        names = [name for name in schema if name not in ANNOTATIONS
                 and not name.startswith("x-") and name != "if"]
        for name in [*names, "if"] if "if" in schema else names:
            if name == "if":
                spec: Spec | None = self._typed_if(schema, kind, parts)
            else:
                spec = self._typed_keyword(schema, name, kind)
            if spec is None:
                return self.schema(schema)  # a keyword with no typed form: the general check
            if spec is False:
                return False
            if spec is not True:
                parts.append(spec)
        return self._conjunction(parts, kind) if parts else True

    def _typed_keyword(self, schema: Mapping[str, Any], name: str, kind: type) -> Spec | None:
        """One keyword's :meth:`typed` answer; ``None`` when it has no typed form."""
        value = schema[name]
        if name in _ARRAY_ONLY or (name in _OBJECT_ONLY and kind is not dict) \
                or (name in _NUMBER_ONLY and kind not in (int, float)) \
                or (name in _STRING_ONLY and kind is not str):
            # Only about another type: a value of this one passes it whatever it says.
            return True if self.keyword(schema, name) is not None else None
        if name in _KEYS_ONLY:
            check = self.keyword(schema, name)
            if check is not None:
                self._keys_only.add(check)
            return check
        if name == "type":
            return _typed_type(value, kind)
        if name in ("allOf", "anyOf") and isinstance(value, list):
            specs = [self.typed(sub, kind) for sub in value]
            decided = name == "anyOf"  # the answer one member can settle
            if decided in specs:
                return decided
            checks = [spec for spec in specs if callable(spec)]
            if not checks:
                return not decided
            if name == "allOf":
                if kind is dict:
                    checks = self._key_rules_grouped(checks)
                return self._conjunction(checks, kind)
            return self._keys_only_if(any_of(checks), checks)
        if name == "not":
            spec = self.typed(value, kind)
            if not callable(spec):
                return not spec
            search = self._text_searches.get(spec)
            if search is not None:  # not {"pattern": ...}, for a text
                if spec in self._non_ascii_only:
                    # It finds only characters beyond ASCII: an ASCII text (most URLs)
                    # passes without a search (isascii() reads a flag of the string).
                    return lambda v, _: v.isascii() or search(v) is None
                return lambda v, _: search(v) is None
            return self._keys_only_if(lambda v, memo: not spec(v, memo), [spec])
        if kind is str and name == "pattern" and isinstance(value, str):
            return self.text_pattern(value)
        if kind is str and name == "minLength" and isinstance(value, int):
            return lambda v, _: len(v) >= value
        if name == "$ref":
            target = self.resolve(value) if isinstance(value, str) else None
            return None if target is None else self.typed(target, kind)
        return self.keyword(schema, name)  # format ...: as compiled

    def _key_rules_grouped(self, checks: list[Check]) -> list[Check]:
        """``checks`` (all of which must pass), with its ``propertyNames`` rules made one
        check that reads the keys once (:meth:`group_key_rules`)."""
        grouped = self.group_key_rules(checks)
        if grouped is None:
            return checks
        group, others = grouped
        self._keys_only.add(group)
        return [*others, group]

    def group_key_rules(self, checks: list[Check]) -> tuple[Check, list[Check]] | None:
        """One check for those of ``checks`` that are ``propertyNames`` rules, and the
        others; ``None`` when there are not two such rules to group."""
        return None

    def text_pattern(self, pattern: str) -> Check:
        """``{"pattern": pattern}`` for a text; one check per pattern, so that a schema
        asking for the same pattern twice is seen to (:meth:`_typed_if`)."""
        found = self._text_patterns.get(pattern)
        if found is None:
            search = re.compile(pattern).search
            found = self._text_patterns[pattern] = lambda v, _: search(v) is not None
            self._text_searches[found] = search
            if _NON_ASCII_CLASS.fullmatch(pattern):
                self._non_ascii_only.add(found)
        return found

    def _typed_if(self, schema: Mapping[str, Any], kind: type, required: list[Check]) -> Spec:
        cond = self.typed(schema["if"], kind)
        then = self.typed(schema["then"], kind) if "then" in schema else True
        else_ = self.typed(schema["else"], kind) if "else" in schema else True
        if cond in required:
            return then  # reached only where its condition holds
        if not callable(cond):
            return then if cond else else_
        then_check = then if callable(then) else (always if then else never)
        else_check = else_ if callable(else_) else (always if else_ else never)
        return self._keys_only_if(
            lambda v, memo: then_check(v, memo) if cond(v, memo) else else_check(v, memo),
            [cond, then_check, else_check])

    def _keys_only_if(self, check: Check, parts: list[Check]) -> Check:
        """``check``, marked as answering from an object's keys alone when its parts do."""
        if all(part in self._keys_only or part is always or part is never for part in parts):
            self._keys_only.add(check)
        return check

    def _conjunction(self, parts: list[Check], kind: type) -> Check:
        """All of ``parts``; for an object, those that read only its keys are asked once
        per set of keys (in order) while a bounded table keeps the answer."""
        if kind is not dict:
            return all_of(parts)
        shape = [part for part in parts if part in self._keys_only]
        if len(shape) == len(parts):
            return self._keys_only_if(all_of(parts), parts)
        if not shape:
            return all_of(parts)
        others = [part for part in parts if part not in shape]
        if len(others) == 1 and others[0] in self.property_lists:
            return _shaped(all_of(shape), self.property_lists[others[0]])
        return all_of([_by_keys(all_of(shape)), *others])


# A pattern that is one character, or a class of characters, all beyond ASCII (written
# as themselves: no range, escape or negation, which would take an ASCII character):
# each of its matches is one of those characters, so an ASCII text has none.
_NON_ASCII_CLASS = re.compile(r"[^\x00-\x7f]|\[[^\x00-\x7f]+\]")


# Keywords that only concern arrays, objects, numbers, or strings.
_ARRAY_ONLY = frozenset({"minItems", "items", "contains"})
_OBJECT_ONLY = frozenset({"required", "properties", "maxProperties", "propertyNames"})
# Those whose answer for an object depends on its keys alone.
_KEYS_ONLY = frozenset({"required", "maxProperties", "propertyNames"})
_NUMBER_ONLY = frozenset({"minimum", "maximum"})
_STRING_ONLY = frozenset({"pattern", "minLength"})
# The JSON types an instance of each scalar Python type is: (certainly, possibly).
_JSON_TYPES: dict[type, frozenset[str]] = {
    str: frozenset({"string"}), bool: frozenset({"boolean"}), type(None): frozenset({"null"}),
    int: frozenset({"integer", "number"}), float: frozenset({"number"}),
    dict: frozenset({"object"}),
}


def _by_keys(check: Check) -> Check:
    """``check`` (which reads only an object's keys), asked once per tuple of keys while a
    bounded table keeps the answer: the records of a page share a few shapes."""
    answers = Answers()

    def by_keys(v: Any, memo: Memo) -> bool:
        keys = tuple(v)
        found = answers.get(keys)
        if found is None:
            found = answers.keep(keys, check(v, memo))
        return found

    return by_keys


def _shaped(shape: Check, props: list[Property]) -> Check:
    """``shape`` (which reads only an object's keys) and one ``properties`` check
    (``props``), with what depends on the keys alone worked out once per tuple of
    keys: ``shape``'s answer and which of ``props`` the object holds.  The records of
    a page share a few shapes, so a record then costs a lookup and the checks of the
    values it holds."""
    plans: Kept[_Plan] = Kept()
    # Per property, what a plan holds for it: its checks, and its table of answers for
    # short texts (the properties check's).
    entries = [(name, check, by_type, None if by_type[str] is always else by_type[str], answers)
               for name, check, by_type, answers in props]

    def plan_of(v: dict[Any, Any], keys: tuple[Any, ...], memo: Memo) -> _Plan:
        return plans.keep(keys, (shape(v, memo), [entry for entry in entries if entry[0] in v]))

    def shaped(v: Any, memo: Memo) -> bool:
        keys = tuple(v)
        plan = plans.get(keys)
        if plan is None:
            plan = plan_of(v, keys, memo)
        if not plan[0]:
            return False
        for name, prop_check, by_type, text_check, answers in plan[1]:
            item = v[name]
            if type(item) is str:
                if text_check is None:
                    continue  # every text passes it (a description: type string)
                if len(item) <= KEPT_CHARS:
                    found = answers.get(item)
                    if found is None:
                        found = answers.keep(item, text_check(item, memo))
                    if not found:
                        return False
                elif not text_check(item, memo):
                    return False
            elif not by_type.get(type(item), prop_check)(item, memo):
                return False
        return True

    return shaped


#: One property of a ``properties`` check: its name, its check, its checks by type, and
#: its table of answers for short texts.
Property = tuple[str, Check, dict[type, Check], Answers]
#: What :func:`_shaped` works out for one tuple of keys: the shape's answer, and the
#: properties held, each with its check of a text (``None``: every text passes) and
#: its table of answers for texts.
_Plan = tuple[bool, list[tuple[str, Check, dict[type, Check], Check | None, Answers]]]


def _typed_type(value: Any, kind: type) -> Spec | None:
    """The ``type`` keyword for an instance of ``kind``: known, except a float that may
    be an integer (``1.0``)."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n in TYPES for n in names):
        return None
    if _JSON_TYPES[kind].intersection(names):
        return True
    if kind is float and "integer" in names:
        return TYPES["integer"]
    return False
