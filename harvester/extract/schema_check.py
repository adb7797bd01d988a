"""A fast yes/no JSON Schema check, and error reports that walk only what fails.

jsonschema explains *why* data is invalid, but it pays for that on valid data
too: every keyword of every subschema builds a validator and an error path.
Most of a VideoObject is valid, so :class:`SchemaCompiler` compiles each
subschema into a plain predicate (:mod:`harvester.extract.schema_compile`),
and :meth:`SchemaCompiler.iter_errors` walks the schema itself, only into the
parts whose predicate fails, and asks jsonschema's keyword functions for the
errors there, placed as jsonschema would place them.

Everything is compiled when the compiler is made: the root schema, every
subschema it reaches, and the entry schemas given (a ``$ref`` into the root's
``$defs``, say).  After that nothing in the compiler changes, so threads
share it as they share a compiled regex.  What a check learns while it runs
goes into a :data:`Memo` that belongs to one call:
:meth:`~SchemaCompiler.is_valid` and :meth:`~SchemaCompiler.iter_errors` make
a fresh one unless the caller passes its own, to share between the calls that
check one document.

The promise: a compiled predicate answers exactly as jsonschema would
(``True`` = no error), and :meth:`~SchemaCompiler.iter_errors` yields the
errors jsonschema yields, in the same order and places.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from harvester.extract.schema_compile import (
    COMPILED,
    SCALAR_TYPES,
    Build,
    Check,
    Child,
    Memo,
    never,
    property_names_in,
)
from harvester.extract.schema_predicates import KEPT_CHARS, Answers

__all__ = ["Check", "KeyRule", "Memo", "SchemaCompiler", "Step"]

# One keyword of the error walk: (name, value, walk, keyword function, passes).
_Step = tuple[str, Any, Any, Any, Check]
Errors = Iterator[ValidationError]
Path = tuple[Any, ...]


class KeyRule(NamedTuple):
    """What the errors of a keyword depend on, for an object, when that is its keys
    alone: whether it holds each of ``names``, and which of its keys fail one of
    ``key_checks`` (the ``propertyNames`` rules reached), in their order."""

    names: tuple[str, ...]
    key_checks: tuple[Check, ...]
    #: Whether a key passes every one of ``key_checks`` (its answer depends on it alone).
    good: Answers

    def signature(self, instance: dict[Any, Any], memo: Memo) -> tuple[Any, ...]:
        """Equal for two objects exactly when the keyword's errors for them are made
        from the same keys (the same ones missing, the same ones failing)."""
        present = tuple([name in instance for name in self.names])
        if not self.key_checks:
            return present
        good = self.good
        bad = []
        for key in instance:
            passes = good.get(key)
            if passes is None:
                passes = good.keep(key, self._passes(key, memo))
            if not passes:
                bad.append(key)
        return present, tuple(bad)

    def member_signature(self, instance: dict[Any, Any], bad: tuple[Any, ...],
                         memo: Memo) -> tuple[Any, ...]:
        """:meth:`signature` for a member of a step, given the step's keys that fail
        (those failing the member's own checks are among them)."""
        present = tuple([name in instance for name in self.names])
        if not self.key_checks or not bad:
            return present
        return present, tuple([key for key in bad if not self._passes(key, memo)])

    def _passes(self, key: Any, memo: Memo) -> bool:
        for check in self.key_checks:  # a plain loop: any() over a generator costs a frame
            if not check(key, memo):
                return False
        return True


class Step(NamedTuple):
    """One keyword of the error walk of an object, from :meth:`SchemaCompiler.steps`:
    the schema it is in, the keyword, and its :class:`KeyRule` (``None``: its errors
    may depend on the object's values)."""

    schema: Mapping[str, Any]
    step: _Step
    keys: KeyRule | None
    #: For an ``allOf`` of members that each read only keys: each member's
    #: :class:`KeyRule` (its errors are :meth:`SchemaCompiler.member_errors`).
    members: tuple[KeyRule, ...] = ()


class SchemaCompiler:
    """The compiled checks of one root schema: built once, then only read.

    ``fallback`` is a validator on ``root``; it answers what is not compiled
    and lends its format checker.  ``entries`` are other schemas the checks
    and reports start from (a ``{"$ref": ...}`` into ``root``).  Neither
    ``root`` nor ``entries`` may change afterwards.  ``names`` are keys that
    data is often written with: each ``propertyNames`` rule answers them (and
    the property names the schema lists) once, here, and checks only the
    other keys it meets.
    """

    def __init__(self, root: Mapping[str, Any], fallback: Validator,
                 entries: Iterable[Any] = (), names: Iterable[str] = ()) -> None:
        self._root = root
        self._fallback = fallback
        self._names = frozenset(names) | property_names_in(root)
        self._keywords = type(fallback).VALIDATORS
        build = Build(root, fallback, self._names)
        for schema in (root, *entries):
            build.schema(schema)
        for schema in (root, *entries):
            build.object_check(schema)  # what is checked first: the record, an object
        plans = {id(schema): _plan(build, self._keywords, schema) for schema in build.compiled
                 if _walked(schema, root)}
        # Per properties object: each property's checks by the type of its value, so
        # that the walk asks a text only what concerns texts.
        typed = {id(schema["properties"]): _by_type(build, schema) for schema in build.compiled
                 if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping)
                 and _walked(schema, root)}
        self._typed_properties: Mapping[int, dict[str, tuple[dict[type, Check], Answers]]] = \
            MappingProxyType(typed)
        self._known = build.made()
        self._plans: Mapping[int, list[_Step]] = MappingProxyType(plans)
        # Every object a table is keyed by stays alive with the compiler, so no
        # other object can come to have its id().
        self._kept = (*build.compiled, *build.kept)

    def schema(self, schema: Any) -> Check:
        """The predicate for a whole (sub)schema; one not compiled yet is compiled
        for this caller alone."""
        found = self._known.checks.get(id(schema))
        return found if found is not None else self._more().schema(schema)

    def typed_check(self, schema: Any, kind: type) -> Check:
        """The predicate for ``schema`` on instances whose ``type()`` is ``kind`` (one of
        :data:`~harvester.extract.schema_compile.SCALAR_TYPES`): the same answers as
        :meth:`schema`'s, with what concerns other types already answered."""
        return self._more().typed_check(schema, kind)

    def object_check(self, schema: Any) -> Check:
        """The predicate for ``schema`` on objects (``dict``) only: the same answers as
        :meth:`schema`'s for them, its rules that read only keys answered once per
        tuple of keys."""
        found = self._known.typed.get((id(schema), dict))
        if found is None:
            return self._more().typed_check(schema, dict)
        return found if callable(found) else self._more().typed_check(schema, dict)

    def is_valid(self, schema: Any, instance: Any, memo: Memo | None = None) -> bool:
        """Whether ``instance`` passes ``schema``, as ``validator.is_valid(instance)``."""
        if type(instance) is dict:
            found = self._known.typed.get((id(schema), dict))
            if callable(found):
                return found(instance, {} if memo is None else memo)
            if found is not None:
                return bool(found)
        return self.schema(schema)(instance, {} if memo is None else memo)

    def keyword(self, schema: Mapping[str, Any], name: str) -> Check:
        """The predicate for one keyword in its schema; one that always fails when unknown."""
        return self._more().keyword(schema, name) or never

    def iter_errors(self, validator: Validator, instance: Any,
                    memo: Memo | None = None, *, failing: bool = False) -> Errors:
        """``validator.iter_errors(instance)``: the same errors, in the same order.

        The walk goes only into the subschemas and keywords whose compiled
        check fails; each error itself is made by jsonschema's own keyword
        function, then placed (path, schema path, details) as jsonschema's
        walk would place it.  One difference: an ``anyOf`` error has no
        ``context`` (the branches' own errors are not computed).  ``validator``
        must be built on this compiler's root (or a ``$ref`` into it).  ``failing``:
        the caller knows ``instance`` fails the validator's schema (it need not be
        checked again before the walk).
        """
        return self._errors(validator, validator.schema, instance, (), (),
                            {} if memo is None else memo, failing=failing)

    def _errors(self, validator: Any, schema: Any, instance: Any, path: Path,
                schema_path: Path, memo: Memo, *, failing: bool = False) -> Errors:
        """The errors of ``schema`` at this spot; ``failing``: its check already failed."""
        if schema is True:
            return
        if not _walked(schema, self._root):
            # False, or a subschema with its own base URI: jsonschema walks it.
            yield from _placed(validator.descend(instance, schema), path, schema_path)
            return
        if not failing and self.schema(schema)(instance, memo):
            return
        for name, value, walk, keyword, passes in self._plan(validator, schema):
            if walk is not None:
                yield from walk(self, validator, value, instance, schema, path, schema_path, memo)
            elif not passes(instance, memo):
                yield from _keyword_errors(validator, name, value, keyword, instance, schema,
                                           path, schema_path)

    def steps(self, validator: Validator) -> list[Step] | None:
        """The keywords the error walk of an object failing ``validator``'s schema goes
        through, in order (past a schema that is only a ``$ref`` inside the root):
        their errors, from :meth:`step_errors`, are :meth:`iter_errors`'s.  ``None``
        when that walk is jsonschema's own."""
        schema = validator.schema
        if not _walked(schema, self._root):
            return None
        plan = self._plan(validator, schema)
        while len(plan) == 1 and plan[0][0] == "$ref" and isinstance(plan[0][1], str):
            # The walk goes on into the target, which fails as the reference does.
            target = self.resolve(plan[0][1])
            if not _walked(target, self._root):
                break
            schema = target
            plan = self._plan(validator, schema)
        return [self._step(schema, step) for step in plan]

    def failing_properties(self, step: Step, instance: Any, memo: Memo
                           ) -> Iterator[tuple[str, Any, Any]] | None:
        """For a ``properties`` step: ``(name, subschema, value)`` for each property of
        ``instance`` that fails, whose errors are :meth:`property_errors`; ``None``
        for another step."""
        if step.step[2] is not _walk_properties:
            return None
        return _failing_properties(self, step.step[1], instance, memo)

    def property_errors(self, validator: Validator, name: str, subschema: Any, value: Any,
                        memo: Memo) -> Errors:
        """The errors of a property from :meth:`failing_properties`, as the step yields them."""
        return self._errors(validator, subschema, value, (name,), ("properties", name), memo,
                            failing=True)

    def _step(self, schema: Mapping[str, Any], step: _Step) -> Step:
        name, value = step[0], step[1]
        keys = self._key_rule(schema, name, value, set())
        if keys is None or name != "allOf":
            return Step(schema, step, keys)
        members = [self._schema_key_rule(sub, set()) for _, sub, _ in self.children(value)]
        return Step(schema, step, keys, tuple(rule for rule in members if rule is not None))

    def member_errors(self, validator: Validator, step: Step, index: int, instance: Any,
                      memo: Memo) -> Errors:
        """The errors of member ``index`` of an ``allOf`` step, as the step yields them."""
        _, subschema, check = self.children(step.step[1])[index]
        if not check(instance, memo):
            yield from self._errors(validator, subschema, instance, (), ("allOf", index), memo,
                                    failing=True)

    def step_errors(self, validator: Validator, step: Step, instance: Any,
                    memo: Memo) -> Errors:
        """The errors of one of :meth:`steps` for ``instance``, as :meth:`iter_errors`
        yields them."""
        name, value, walk, keyword, passes = step.step
        if walk is not None:
            yield from walk(self, validator, value, instance, step.schema, (), (), memo)
        elif not passes(instance, memo):
            yield from _keyword_errors(validator, name, value, keyword, instance, step.schema,
                                       (), ())

    def _key_rule(self, schema: Any, name: str, value: Any, seen: set[int]) -> KeyRule | None:
        """The :class:`KeyRule` of keyword ``name`` (``value``) of ``schema``, for an
        object; ``None`` when its errors may depend on more than the keys."""
        if name == "required":
            if isinstance(value, list) and all(isinstance(n, str) for n in value):
                return _key_rule(tuple(value), ())
            return None
        if name == "propertyNames":
            return _key_rule((), (self.schema(value),))
        if name == "type":
            return _key_rule((), ())  # an object's type is known
        if name in ("allOf", "anyOf") and isinstance(value, list):
            return _joined([self._schema_key_rule(sub, seen) for sub in value])
        if name == "not":
            return self._schema_key_rule(value, seen)
        if name == "if":
            return _joined([self._schema_key_rule(schema.get(part, True), seen)
                            for part in ("if", "then", "else")])
        if name == "$ref" and isinstance(value, str):
            return self._schema_key_rule(self.resolve(value), seen)
        return None

    def _schema_key_rule(self, schema: Any, seen: set[int]) -> KeyRule | None:
        """:meth:`_key_rule` for every keyword of a whole subschema."""
        if schema is True:
            return _key_rule((), ())
        if not _walked(schema, self._root) or id(schema) in seen:
            return None  # jsonschema's walk, or a schema that reaches itself
        seen.add(id(schema))
        try:
            return _joined([self._key_rule(schema, name, value, seen)
                            for name, value in schema.items()
                            if name in self._keywords and name not in ("then", "else")])
        finally:
            seen.discard(id(schema))

    def children(self, value: Any) -> list[Child]:
        """``(name or index, subschema, its check)`` for a ``properties`` object or an
        ``allOf`` list."""
        found = self._known.children.get(id(value))
        return found if found is not None else self._more().children(value)

    def resolve(self, ref: str) -> Any:
        """The subschema a ``$ref`` names inside the root, or ``None``."""
        if ref in self._known.resolved:
            return self._known.resolved[ref]
        return self._more().resolve(ref)

    def _plan(self, validator: Any, schema: Mapping[str, Any]) -> list[_Step]:
        """What the error walk does with each keyword of ``schema``."""
        if validator.VALIDATORS is self._keywords:
            found = self._plans.get(id(schema))
            if found is not None:
                return found
        return _plan(self._more(), validator.VALIDATORS, schema)

    def _more(self) -> Build:
        """A compile of what the tables lack, for one caller: its results are not kept."""
        return Build(self._root, self._fallback, self._names, self._known)


def _by_type(build: Build, schema: Mapping[str, Any]
             ) -> dict[str, tuple[dict[type, Check], Answers]]:
    """Per property of ``schema``, its checks for values of each scalar type (the same
    answers as the property's check) and the table of answers for short texts that
    its ``properties`` checks keep."""
    value = schema["properties"]
    tables = build.property_tables.get(id(value), {})
    return {name: ({kind: build.typed_check(sub, kind) for kind in SCALAR_TYPES}, tables[name])
            for name, sub, _ in build.children(value) if name in tables}


def _joined(rules: list[KeyRule | None]) -> KeyRule | None:
    """One :class:`KeyRule` for keywords together; ``None`` when one of them has none."""
    names: list[str] = []
    checks: list[Check] = []
    for rule in rules:
        if rule is None:
            return None
        names += [name for name in rule.names if name not in names]
        checks += [check for check in rule.key_checks if check not in checks]
    return _key_rule(tuple(names), tuple(checks))


def _key_rule(names: tuple[str, ...], key_checks: tuple[Check, ...]) -> KeyRule:
    return KeyRule(names, key_checks, Answers())


def _walked(schema: Any, root: Mapping[str, Any]) -> bool:
    """Whether the error walk goes through ``schema`` itself (else jsonschema does)."""
    return isinstance(schema, Mapping) and (schema is root or "$id" not in schema)


def _plan(build: Build, keywords: Mapping[str, Any], schema: Mapping[str, Any]) -> list[_Step]:
    """What the error walk does with each keyword of ``schema``."""
    plan: list[_Step] = []
    for name, value in schema.items():
        walk = _WALKS.get(name)
        if walk is not None and not (name == "items" and "prefixItems" in schema):
            plan.append((name, value, walk, None, never))
            continue
        keyword = keywords.get(name)
        if keyword is None:
            continue  # an annotation (title, x-messages ...): never an error
        if name == "anyOf":
            # Every branch failed (the check says so): jsonschema's error, minus
            # the sub-errors of each branch in ``context``, which cost the most
            # and are not read here.
            keyword = _any_of_failed
        passes = (build.keyword(schema, name) or never) if name in COMPILED else never
        plan.append((name, value, None, keyword, passes))
    return plan


def _placed(errors: Iterable[ValidationError], path: Path, schema_path: Path) -> Errors:
    """``errors`` (relative to a subschema) moved to where that subschema sits."""
    for error in errors:
        error.path.extendleft(reversed(path))
        error.schema_path.extendleft(reversed(schema_path))
        yield error


def _keyword_errors(validator: Any, name: str, value: Any, keyword: Any, instance: Any,
                    schema: Any, path: Path, schema_path: Path) -> Errors:
    """jsonschema's errors for one failing keyword, placed as its own walk places them."""
    for error in keyword(validator, value, instance, schema) or ():
        error._set(validator=name, validator_value=value, instance=instance,
                   schema=schema, type_checker=validator.TYPE_CHECKER)
        if name not in ("if", "$ref"):
            error.schema_path.appendleft(name)
        yield from _placed((error,), path, schema_path)


# The applicator keywords the error walk goes through itself (as jsonschema's
# keyword functions would, with the same paths); every other keyword's errors
# come from jsonschema's own function for it.
def _walk_properties(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                     _: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    for name, subschema, item in _failing_properties(c, value, instance, memo):
        yield from c._errors(validator, subschema, item, (*path, name),
                             (*schema_path, "properties", name), memo, failing=True)


def _failing_properties(c: SchemaCompiler, value: Any, instance: Any, memo: Memo
                        ) -> Iterator[tuple[str, Any, Any]]:
    """``(name, subschema, value)`` for each property of ``instance`` that fails its
    subschema in ``properties`` (``value``), in the schema's order."""
    if isinstance(instance, dict):
        typed = c._typed_properties.get(id(value))
        for name, subschema, check in c.children(value):
            if name not in instance:
                continue
            item = instance[name]
            typed_checks = typed.get(name) if typed is not None else None
            if typed_checks is None:
                passes = check(item, memo)
            elif type(item) is str and len(item) <= KEPT_CHARS:
                # The answer the record's own check may have found already.
                by_type, answers = typed_checks
                found = answers.get(item)
                if found is None:
                    found = answers.keep(item, by_type[str](item, memo))
                passes = found
            else:
                passes = typed_checks[0].get(type(item), check)(item, memo)
            if not passes:
                yield name, subschema, item


def _walk_all_of(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                 _: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    for index, subschema, check in c.children(value):
        if not check(instance, memo):
            yield from c._errors(validator, subschema, instance, path,
                                 (*schema_path, "allOf", index), memo, failing=True)


def _walk_items(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                _: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    if isinstance(instance, list):
        check = c.schema(value)
        for index, item in enumerate(instance):
            if not check(item, memo):
                yield from c._errors(validator, value, item, (*path, index),
                                     (*schema_path, "items"), memo, failing=True)


def _walk_ref(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
              schema: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    target = c.resolve(value) if isinstance(value, str) else None
    if target is None:  # outside the root: jsonschema resolves it (or says why it cannot)
        keyword = Draft202012Validator.VALIDATORS["$ref"]
        yield from _keyword_errors(validator, "$ref", value, keyword, instance, schema,
                                   path, schema_path)
        return
    yield from c._errors(validator, target, instance, path, schema_path, memo)


def _walk_if(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
             schema: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    branch = "then" if c.schema(value)(instance, memo) else "else"
    if branch in schema:
        yield from c._errors(validator, schema[branch], instance, path, (*schema_path, branch),
                             memo)


def _walk_property_names(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                         _: Any, path: Path, schema_path: Path, memo: Memo) -> Errors:
    if isinstance(instance, dict):
        check = c.schema(value)
        for key in instance:
            if not check(key, memo):
                yield from c._errors(validator, value, key, path,
                                     (*schema_path, "propertyNames"), memo, failing=True)


def _any_of_failed(_: Any, __: Any, instance: Any, ___: Any) -> Errors:
    yield ValidationError(f"{instance!r} is not valid under any of the given schemas")


Walk = Callable[[SchemaCompiler, Any, Any, Any, Any, Path, Path, Memo], Errors]
_WALKS: dict[str, Walk] = {
    "properties": _walk_properties, "allOf": _walk_all_of, "items": _walk_items,
    "$ref": _walk_ref, "if": _walk_if, "propertyNames": _walk_property_names,
}
