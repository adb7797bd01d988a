"""A fast yes/no JSON Schema check, and error reports that walk only what fails.

jsonschema explains *why* data is invalid, but it pays for that on valid data
too: every keyword of every subschema builds a validator and an error path.
Most of a VideoObject is valid, so :class:`SchemaCompiler` compiles each
subschema into a plain predicate, and :meth:`SchemaCompiler.iter_errors`
walks the schema itself, only into the parts whose predicate fails, and asks
jsonschema's keyword functions for the errors there, placed as jsonschema
would place them.

Compiling happens once per subschema, under a lock (pages are validated from
several threads); answers are read without one.

The promise: a compiled predicate answers exactly as jsonschema would
(``True`` = no error).  It is built for the keywords the packaged schema uses;
a subschema with any other keyword, or a ``$ref`` it cannot resolve inside
the root schema, is answered by jsonschema itself, and a keyword it does not
know is never skipped.  Formats are checked by the validator's own
``FormatChecker``, patterns with :func:`re.search`, as jsonschema does.
"""

from __future__ import annotations

import numbers
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

__all__ = ["Check", "SchemaCompiler"]

Check = Callable[[Any], bool]

# Keywords that only annotate: they never fail (then/else are read by "if").
_ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description",
                          "default", "examples", "then", "else"})


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


# Draft 2020-12's type checker, as jsonschema defines it.
_TYPES: dict[str, Check] = {
    "array": lambda v: isinstance(v, list), "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer, "null": lambda v: v is None, "number": _is_number,
    "object": lambda v: isinstance(v, dict), "string": lambda v: isinstance(v, str),
}


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    # Plain loops rather than all(<generator>) here and below: these run a great
    # many times per document, and a generator costs a frame each time.
    def every(value: Any) -> bool:
        for check in checks:
            if not check(value):
                return False
        return True

    return every


# One keyword of the error walk: (name, value, walk, keyword function, passes).
_Step = tuple[str, Any, Any, Any, Check]


def _any(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def some(value: Any) -> bool:
        for check in checks:
            if check(value):
                return True
        return False

    return some


class SchemaCompiler:
    """Compiles the subschemas of one root schema into predicates, each once."""

    def __init__(self, root: Mapping[str, Any], fallback: Validator) -> None:
        self._root = root
        self._root_id = str(root.get("$id", ""))
        self._fallback = fallback
        # Keyed by id(); each entry also holds its schema, so that the id cannot be
        # reused by another object while the entry lives (a temporary schema would
        # otherwise hand its answers to whatever is allocated in its place).
        self._schemas: dict[int, tuple[Any, Check]] = {}
        self._keywords: dict[tuple[int, str], tuple[Any, Check]] = {}
        self._formats_known: dict[tuple[str, str], bool] = {}
        self._plans: dict[int, tuple[Any, list[_Step]]] = {}
        self._children: dict[int, tuple[Any, list[tuple[Any, Any, Check]]]] = {}
        self._resolved: dict[str, Any] = {}
        # Cache hits need no lock; building does (pages are checked from several
        # threads, and a compile in progress leaves a placeholder behind).
        self._building = threading.RLock()
        self._pending: dict[int, tuple[Any, list[Check]]] = {}

    def schema(self, schema: Any) -> Check:
        """The predicate for a whole (sub)schema."""
        key = id(schema)
        entry = self._schemas.get(key)
        if entry is not None and entry[0] is schema:
            return entry[1]
        with self._building:
            entry = self._schemas.get(key)
            if entry is not None and entry[0] is schema:
                return entry[1]  # built by another thread meanwhile
            pending = self._pending.get(key)
            if pending is not None and pending[0] is schema:
                # This thread is building it further up: a recursive schema. The
                # check is looked up when first used, by which time it is built.
                cell = pending[1]
                return lambda value: cell[0](value)
            cell = []
            self._pending[key] = (schema, cell)
            try:
                cell.append(self._build(schema))
            finally:
                del self._pending[key]
            # Only finished checks are published: other threads read without the lock.
            self._schemas[key] = (schema, cell[0])
            return cell[0]

    def keyword(self, schema: Mapping[str, Any], name: str) -> Check:
        """The predicate for one keyword in its schema; ``_never`` when unknown."""
        key = (id(schema), name)
        entry = self._keywords.get(key)
        if entry is not None and entry[0] is schema:
            return entry[1]
        with self._building:
            found = self._build_keyword(schema, name) or _never
            self._keywords[key] = (schema, found)
        return found

    def iter_errors(self, validator: Validator, instance: Any) -> Iterator[ValidationError]:
        """``validator.iter_errors(instance)``: the same errors, in the same order.

        The walk goes only into the subschemas and keywords whose compiled
        check fails; each error itself is made by jsonschema's own keyword
        function, then placed (path, schema path, details) as jsonschema's
        walk would place it.  One difference: an ``anyOf`` error has no
        ``context`` (the branches' own errors are not computed).  ``validator``
        must be built on this compiler's root (or a ``$ref`` into it).
        """
        return self._errors(validator, validator.schema, instance, (), ())

    def _errors(self, validator: Any, schema: Any, instance: Any, path: tuple[Any, ...],
                schema_path: tuple[Any, ...], *, failing: bool = False
                ) -> Iterator[ValidationError]:
        """The errors of ``schema`` at this spot; ``failing``: its check already failed."""
        if schema is True:
            return
        if not isinstance(schema, Mapping) or (schema is not self._root and "$id" in schema):
            # False, or a subschema with its own base URI: jsonschema walks it.
            yield from _placed(validator.descend(instance, schema), path, schema_path)
            return
        if not failing and self.schema(schema)(instance):
            return
        for name, value, walk, keyword, passes in self._plan(validator, schema):
            if walk is not None:
                yield from walk(self, validator, value, instance, schema, path, schema_path)
                continue
            if passes(instance):
                continue
            for error in keyword(validator, value, instance, schema) or ():
                error._set(validator=name, validator_value=value, instance=instance,
                           schema=schema, type_checker=validator.TYPE_CHECKER)
                if name not in ("if", "$ref"):
                    error.schema_path.appendleft(name)
                yield from _placed((error,), path, schema_path)

    def children(self, value: Any) -> list[tuple[Any, Any, Check]]:
        """``(name or index, subschema, its check)`` for a ``properties`` object or an
        ``allOf`` list, worked out once."""
        key = id(value)
        entry = self._children.get(key)
        if entry is not None and entry[0] is value:
            return entry[1]
        with self._building:
            pairs = value.items() if isinstance(value, Mapping) else enumerate(value)
            found = [(name, sub, self.schema(sub)) for name, sub in pairs]
            self._children[key] = (value, found)
        return found

    def _plan(self, validator: Any, schema: Mapping[str, Any]) -> list[_Step]:
        """What the error walk does with each keyword of ``schema``, worked out once."""
        key = id(schema)
        entry = self._plans.get(key)
        if entry is not None and entry[0] is schema:
            return entry[1]
        with self._building:
            plan = self._new_plan(validator, schema)
            self._plans[key] = (schema, plan)
        return plan

    def _new_plan(self, validator: Any, schema: Mapping[str, Any]) -> list[_Step]:
        plan: list[_Step] = []
        for name, value in schema.items():
            walk = _WALKS.get(name)
            if walk is not None and not (name == "items" and "prefixItems" in schema):
                plan.append((name, value, walk, None, _never))
                continue
            keyword = validator.VALIDATORS.get(name)
            if keyword is None:
                continue  # an annotation (title, x-messages ...): never an error
            if name == "anyOf":
                # Every branch failed (the check says so): jsonschema's error, minus
                # the sub-errors of each branch in ``context``, which cost the most
                # and are not read here.
                keyword = _any_of_failed
            passes = self.keyword(schema, name) if name in _BUILDERS else _never
            plan.append((name, value, None, keyword, passes))
        return plan

    def _build(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, Mapping) or (schema is not self._root and "$id" in schema):
            return self._slow(schema)
        checks: list[Check] = []
        for name in schema:
            if name in _ANNOTATIONS or name.startswith("x-"):
                continue
            check = self._build_keyword(schema, name)
            if check is None:
                return self._slow(schema)
            checks.append(check)
        return _all(checks)

    def _slow(self, schema: Any) -> Check:
        validator = self._fallback.evolve(schema=schema)
        return lambda value: bool(validator.is_valid(value))

    def _build_keyword(self, schema: Mapping[str, Any], name: str) -> Check | None:
        builder = _BUILDERS.get(name)
        return None if builder is None else builder(self, schema[name], schema)

    def resolve(self, ref: str) -> Any:
        """The subschema a ``$ref`` names inside the root, or ``None``."""
        if ref not in self._resolved:
            self._resolved[ref] = self._resolve(ref)
        return self._resolved[ref]

    def _resolve(self, ref: str) -> Any:
        base, _, fragment = ref.partition("#")
        if base not in ("", self._root_id) or (fragment and not fragment.startswith("/")):
            return None
        node: Any = self._root
        for part in fragment.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return None
            node = node[part]
        return node

    def format_check(self, fmt: str) -> Check:
        checker = self._fallback.format_checker
        if checker is None:
            return _always
        known = self._formats_known

        def conforms(value: Any) -> bool:
            # Format checkers cost microseconds (an IRI grammar), and an error
            # report asks about the same value at every level it descends.
            if type(value) is not str:
                return bool(checker.conforms(value, fmt))
            key = (fmt, value)
            found = known.get(key)
            if found is None:
                found = known[key] = bool(checker.conforms(value, fmt))
            return found

        return conforms

    def forget(self) -> None:
        """Drop the format answers remembered so far (call once per document)."""
        self._formats_known.clear()


Builder = Callable[[SchemaCompiler, Any, Mapping[str, Any]], Check | None]
Errors = Iterator[ValidationError]
Path = tuple[Any, ...]


def _placed(errors: Iterable[ValidationError], path: Path, schema_path: Path) -> Errors:
    """``errors`` (relative to a subschema) moved to where that subschema sits."""
    for error in errors:
        error.path.extendleft(reversed(path))
        error.schema_path.extendleft(reversed(schema_path))
        yield error


# The applicator keywords the error walk goes through itself (as jsonschema's
# keyword functions would, with the same paths); every other keyword's errors
# come from jsonschema's own function for it.
def _walk_properties(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                     _: Any, path: Path, schema_path: Path) -> Errors:
    if isinstance(instance, dict):
        for name, subschema, check in c.children(value):
            if name in instance and not check(instance[name]):
                yield from c._errors(validator, subschema, instance[name], (*path, name),
                                     (*schema_path, "properties", name), failing=True)


def _walk_all_of(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                 _: Any, path: Path, schema_path: Path) -> Errors:
    for index, subschema, check in c.children(value):
        if not check(instance):
            yield from c._errors(validator, subschema, instance, path,
                                 (*schema_path, "allOf", index), failing=True)


def _walk_items(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                _: Any, path: Path, schema_path: Path) -> Errors:
    if isinstance(instance, list):
        check = c.schema(value)
        for index, item in enumerate(instance):
            if not check(item):
                yield from c._errors(validator, value, item, (*path, index),
                                     (*schema_path, "items"), failing=True)


def _walk_ref(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
              schema: Any, path: Path, schema_path: Path) -> Errors:
    target = c.resolve(value) if isinstance(value, str) else None
    if target is None:  # outside the root: jsonschema resolves it (or says why it cannot)
        errors = Draft202012Validator.VALIDATORS["$ref"](validator, value, instance, schema)
        for error in errors:
            error._set(validator="$ref", validator_value=value, instance=instance,
                       schema=schema, type_checker=validator.TYPE_CHECKER)
            yield from _placed((error,), path, schema_path)
        return
    yield from c._errors(validator, target, instance, path, schema_path)


def _walk_if(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
             schema: Any, path: Path, schema_path: Path) -> Errors:
    branch = "then" if c.schema(value)(instance) else "else"
    if branch in schema:
        yield from c._errors(validator, schema[branch], instance, path, (*schema_path, branch))


def _walk_property_names(c: SchemaCompiler, validator: Any, value: Any, instance: Any,
                         _: Any, path: Path, schema_path: Path) -> Errors:
    if isinstance(instance, dict):
        check = c.schema(value)
        for key in instance:
            if not check(key):
                yield from c._errors(validator, value, key, path,
                                     (*schema_path, "propertyNames"), failing=True)


def _any_of_failed(_: Any, __: Any, instance: Any, ___: Any) -> Errors:
    yield ValidationError(f"{instance!r} is not valid under any of the given schemas")


Walk = Callable[[SchemaCompiler, Any, Any, Any, Any, Path, Path], Errors]
_WALKS: dict[str, Walk] = {
    "properties": _walk_properties, "allOf": _walk_all_of, "items": _walk_items,
    "$ref": _walk_ref, "if": _walk_if, "propertyNames": _walk_property_names,
}


def _type(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check | None:
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) and n in _TYPES for n in names):
        return None
    return _any([_TYPES[n] for n in names])


def _required(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    names = list(value)

    def present(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name in names:
            if name not in v:
                return False
        return True

    return present


def _properties(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    props = [(name, c.schema(sub)) for name, sub in value.items()]

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name, prop_check in props:
            if name in v and not prop_check(v[name]):
                return False
        return True

    return check


def _all_of(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    return _all([c.schema(sub) for sub in value])


def _any_of(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    return _any([c.schema(sub) for sub in value])


def _not(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    check = c.schema(value)
    return lambda v: not check(v)


def _if(c: SchemaCompiler, value: Any, schema: Mapping[str, Any]) -> Check:
    cond = c.schema(value)
    then = c.schema(schema["then"]) if "then" in schema else _always
    else_ = c.schema(schema["else"]) if "else" in schema else _always
    return lambda v: then(v) if cond(v) else else_(v)


def _pattern(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    search = re.compile(value).search
    return lambda v: not isinstance(v, str) or search(v) is not None


def _min_length(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v: not isinstance(v, str) or len(v) >= value


def _min_items(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v: not isinstance(v, list) or len(v) >= value


def _max_properties(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v: not isinstance(v, dict) or len(v) <= value


def _minimum(_: SchemaCompiler, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v: not _is_number(v) or v >= value


def _items(c: SchemaCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if "prefixItems" in schema:
        return None
    check = c.schema(value)

    def every_item(v: Any) -> bool:
        if not isinstance(v, list):
            return True
        for item in v:
            if not check(item):
                return False
        return True

    return every_item


def _contains(c: SchemaCompiler, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if "minContains" in schema or "maxContains" in schema:
        return None
    check = c.schema(value)
    return lambda v: not isinstance(v, list) or any(check(item) for item in v)


def _property_names(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    check = c.schema(value)
    # The answer depends only on the keys, and objects repeat the same few key
    # sets: answer each set once (bounded; keys are strings, which cannot change).
    known: dict[tuple[Any, ...], bool] = {}

    def every_key(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        keys = tuple(v)
        found = known.get(keys)
        if found is None:
            if len(known) >= _MAX_REMEMBERED:
                known.clear()
            found = known[keys] = all(check(key) for key in keys)
        return found

    return every_key


_MAX_REMEMBERED = 4096


def _format(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check:
    return c.format_check(value)


def _ref(c: SchemaCompiler, value: Any, _: Mapping[str, Any]) -> Check | None:
    target = c.resolve(value) if isinstance(value, str) else None
    if target is None:
        return None
    # The target's own check (a stand-in only while it is still being built
    # further up: a reference to an ancestor).
    return c.schema(target)




_BUILDERS: dict[str, Builder] = {
    "type": _type, "required": _required, "properties": _properties, "allOf": _all_of,
    "anyOf": _any_of, "not": _not, "if": _if, "pattern": _pattern, "minLength": _min_length,
    "minItems": _min_items, "maxProperties": _max_properties, "minimum": _minimum,
    "items": _items, "contains": _contains, "propertyNames": _property_names,
    "format": _format, "$ref": _ref,
}
