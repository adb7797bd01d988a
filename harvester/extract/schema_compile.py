"""Compile the keywords of a JSON Schema into plain predicates.

:class:`Build` turns a (sub)schema into a :data:`Check`: ``check(instance,
memo)`` is True exactly when jsonschema would find no error in ``instance``.
It compiles the keywords the packaged schema uses (:data:`COMPILED`); a
subschema with any other keyword, a ``$ref`` it cannot resolve inside the
root schema, or a subschema with its own ``$id`` is answered by jsonschema
itself, so a keyword is never skipped.  Formats are checked by the
validator's own ``FormatChecker``, patterns with :func:`re.search`, as
jsonschema does.

A check keeps almost nothing from one call to the next: what it learns while
it runs (a format's answer for one string, whether an object's keys pass a
group of ``propertyNames`` rules) goes into the ``memo`` its caller passes, one
per document.  The exception: the answer for a short text (a format's, a
property's), which depends on that text alone, stays in a bounded table of
the check's own.  Apart from those tables, a :class:`Build` is used once, by
one thread; what it made is then only read
(:mod:`harvester.extract.schema_check` keeps it).
"""

# The checks run a great many times per document, and all()/any() over a
# generator costs a frame each time: the loops here stay plain loops.
# ruff: noqa: SIM110

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from harvester.extract.schema_predicates import (
    ANNOTATIONS,
    KEPT_CHARS,
    SCALAR_TYPES,
    TYPES,
    Answers,
    Check,
    Child,
    Memo,
    Spec,
    all_of,
    always,
    any_of,
    is_number,
    never,
)
from harvester.extract.schema_typed import TypedChecks

__all__ = ["COMPILED", "NOTHING", "SCALAR_TYPES", "Build", "Check", "Child", "Known", "Memo",
           "Spec", "never", "property_names_in"]

class Known(NamedTuple):
    """What a build made, by ``id()`` of the (sub)schema, or by the ``$ref`` text;
    ``typed``: by ``(id(subschema), type of the instance)`` (:meth:`Build.typed`)."""

    checks: Mapping[int, Check]
    children: Mapping[int, list[Child]]
    resolved: Mapping[str, Any]
    typed: Mapping[tuple[int, type], Spec] = MappingProxyType({})


NOTHING = Known(MappingProxyType({}), MappingProxyType({}), MappingProxyType({}))


class _StillBuilding(Exception):
    """A check was asked for an answer before the build of a schema it reaches ended."""


class Build(TypedChecks):
    """One compile of subschemas of ``root``, over what ``known`` already holds.

    ``fallback`` is a validator on ``root``: it answers what is not compiled
    and lends its format checker.  ``names`` are keys each ``propertyNames``
    rule answers here, once, so that at run time it checks only other keys.
    """

    def __init__(self, root: Mapping[str, Any], fallback: Any, names: frozenset[str],
                 known: Known = NOTHING) -> None:
        self.root = root
        self.root_id = str(root.get("$id", ""))
        self.fallback = fallback
        self.names = names
        self.known = known
        self.checks: dict[int, Check] = {}
        self.children_of: dict[int, list[Child]] = {}
        self.resolved: dict[str, Any] = {}
        self.key_rules: dict[Check, tuple[frozenset[str], Check]] = {}
        #: Per ``properties`` object (by ``id()``): each property's table of answers for
        #: short texts, one for every check made of it.
        self.property_tables: dict[int, dict[str, Answers]] = {}
        self.compiled: list[Any] = []  # the schemas checked, in the order compiled
        self.kept: list[Any] = []  # the other objects a table is keyed by
        self._pending: dict[int, list[Check]] = {}
        self.init_typed(known.typed)

    def made(self) -> Known:
        """What this build made, read-only."""
        return Known(MappingProxyType(self.checks), MappingProxyType(self.children_of),
                     MappingProxyType(self.resolved), MappingProxyType(self.typed_checks))

    def schema(self, schema: Any) -> Check:
        """The predicate for ``schema``, compiled at most once in this build."""
        key = id(schema)
        found = self.known.checks.get(key) or self.checks.get(key)
        if found is not None:
            return found
        pending = self._pending.get(key)
        if pending is not None:
            return _forward(pending)  # being built further up: a recursive schema
        cell: list[Check] = []
        self._pending[key] = cell
        try:
            cell.append(self._compile(schema))
        finally:
            del self._pending[key]
        self.checks[key] = cell[0]
        self.compiled.append(schema)
        return cell[0]

    def _compile(self, schema: Any) -> Check:
        if schema is True:
            return always
        if schema is False:
            return never
        if not isinstance(schema, Mapping) or (schema is not self.root and "$id" in schema):
            return self.slow(schema)
        checks: list[Check] = []
        for name in schema:
            if name in ANNOTATIONS or name.startswith("x-"):
                continue
            check = self.keyword(schema, name)
            if check is None:
                return self.slow(schema)
            checks.append(check)
        return all_of(checks)

    def keyword(self, schema: Mapping[str, Any], name: str) -> Check | None:
        """The predicate for one keyword of ``schema``; ``None`` when not compiled."""
        builder = _BUILDERS.get(name)
        return None if builder is None else builder(self, schema[name], schema)

    def slow(self, schema: Any) -> Check:
        """jsonschema's own answer, for what is not compiled."""
        validator = self.fallback.evolve(schema=schema)
        return lambda value, _: bool(validator.is_valid(value))

    def children(self, value: Any) -> list[Child]:
        """The members of a ``properties`` object or an ``allOf`` list, with their checks."""
        key = id(value)
        found = self.known.children.get(key) or self.children_of.get(key)
        if found is None:
            pairs = value.items() if isinstance(value, Mapping) else enumerate(value)
            found = self.children_of[key] = [(name, sub, self.schema(sub)) for name, sub in pairs]
            self.kept.append(value)
        return found

    def resolve(self, ref: str) -> Any:
        """The subschema a ``$ref`` names inside the root, or ``None``."""
        if ref in self.known.resolved:
            return self.known.resolved[ref]
        if ref not in self.resolved:
            self.resolved[ref] = _resolve(self.root, self.root_id, ref)
        return self.resolved[ref]

    def group_key_rules(self, checks: list[Check]) -> tuple[Check, list[Check]] | None:
        """One check for the ``propertyNames`` rules among ``checks`` (an ``allOf``'s
        members), which reads an object's keys once for all of them; and the others."""
        rules = [self.key_rules[check] for check in checks if check in self.key_rules]
        if len(rules) < 2:
            return None
        return _no_bad_key(rules), [check for check in checks if check not in self.key_rules]

    def passing_names(self, check: Check) -> frozenset[str]:
        """Which of :attr:`names` pass ``check`` (a check of one key), worked out now."""
        try:
            return frozenset(name for name in self.names if check(name, {}))
        except _StillBuilding:  # it reaches a schema still being built: ask at run time
            return frozenset()


def _forward(cell: list[Check]) -> Check:
    """A stand-in for a check still being built; used once built."""

    def forward(value: Any, memo: Memo) -> bool:
        if not cell:
            raise _StillBuilding
        return cell[0](value, memo)

    return forward


def _resolve(root: Mapping[str, Any], root_id: str, ref: str) -> Any:
    """The subschema ``ref`` names inside ``root``, or ``None``."""
    base, _, fragment = ref.partition("#")
    if base not in ("", root_id) or (fragment and not fragment.startswith("/")):
        return None
    node: Any = root
    for part in fragment.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def property_names_in(schema: Any) -> frozenset[str]:
    """Every name a ``properties`` object or a ``required`` list in ``schema`` holds."""
    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for key in ("properties", "required"):
                if isinstance(node.get(key), Mapping | list):
                    names.update(name for name in node[key] if isinstance(name, str))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


Builder = Callable[[Build, Any, Mapping[str, Any]], Check | None]


def _type(_: Build, value: Any, __: Mapping[str, Any]) -> Check | None:
    names = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(n, str) and n in TYPES for n in names):
        return None
    return any_of([TYPES[n] for n in names])


def _required(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    names = list(value)

    def present(v: Any, _: Memo) -> bool:
        if not isinstance(v, dict):
            return True
        for name in names:
            if name not in v:
                return False
        return True

    return present


def _properties(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    # Each property's check, and its checks for values of each scalar type, so that a
    # text runs only what concerns texts; and its table of answers for short texts,
    # kept across documents: a text's answer depends on it alone, and dates,
    # durations, types and thumbnails recur across a page's records.  The typed
    # checks of a record's shape and the error walk read the same tables.
    tables = b.property_tables.setdefault(id(value), {})
    props = [(name, check, {kind: b.typed_check(sub, kind) for kind in SCALAR_TYPES},
              tables.setdefault(name, Answers())) for name, sub, check in b.children(value)]

    def check(v: Any, memo: Memo) -> bool:
        if not isinstance(v, dict):
            return True
        for name, prop_check, by_type, answers in props:
            if name in v:
                item = v[name]
                if type(item) is str and len(item) <= KEPT_CHARS:
                    found = answers.get(item)
                    if found is None:
                        found = answers.keep(item, by_type[str](item, memo))
                    if not found:
                        return False
                elif not by_type.get(type(item), prop_check)(item, memo):
                    return False
        return True

    b.property_lists[check] = props
    return check


def _all_of(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    children = b.children(value)
    rules = [b.key_rules[check] for _, _, check in children if check in b.key_rules]
    if len(rules) < 2:
        return all_of([check for _, _, check in children])
    group = _no_bad_key(rules)
    others = [check for _, _, check in children if check not in b.key_rules]
    # The error walk asks each member on its own: a key rule asks the group first,
    # whose answer for this document is then in the memo.
    b.children_of[id(value)] = [
        (index, sub, _either(group, check) if check in b.key_rules else check)
        for index, sub, check in children]
    return all_of([*others, group])


def _either(first: Check, second: Check) -> Check:
    """``second``'s answer, asked only when the cheaper ``first`` (which implies it) fails."""
    return lambda v, memo: first(v, memo) or second(v, memo)


def _any_of(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    return any_of([b.schema(sub) for sub in value])


def _not(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    check = b.schema(value)
    return lambda v, memo: not check(v, memo)


def _if(b: Build, value: Any, schema: Mapping[str, Any]) -> Check:
    cond = b.schema(value)
    then = b.schema(schema["then"]) if "then" in schema else always
    else_ = b.schema(schema["else"]) if "else" in schema else always
    return lambda v, memo: then(v, memo) if cond(v, memo) else else_(v, memo)


def _pattern(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    search = re.compile(value).search
    return lambda v, _: not isinstance(v, str) or search(v) is not None


def _min_length(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v, _: not isinstance(v, str) or len(v) >= value


def _min_items(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v, _: not isinstance(v, list) or len(v) >= value


def _max_properties(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v, _: not isinstance(v, dict) or len(v) <= value


def _minimum(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v, _: not is_number(v) or v >= value


def _maximum(_: Build, value: Any, __: Mapping[str, Any]) -> Check:
    return lambda v, _: not is_number(v) or v <= value


def _items(b: Build, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if "prefixItems" in schema:
        return None
    check = b.schema(value)

    def every_item(v: Any, memo: Memo) -> bool:
        if not isinstance(v, list):
            return True
        for item in v:
            if not check(item, memo):
                return False
        return True

    return every_item


def _contains(b: Build, value: Any, schema: Mapping[str, Any]) -> Check | None:
    if "minContains" in schema or "maxContains" in schema:
        return None
    check = b.schema(value)
    return lambda v, memo: not isinstance(v, list) or any(check(item, memo) for item in v)


def _property_names(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    check = b.schema(value)
    # Most keys are names the build knows, answered once there; only the others
    # are checked each time.
    good = b.passing_names(check)

    def every_key(v: Any, memo: Memo) -> bool:
        if not isinstance(v, dict):
            return True
        for key in v.keys() - good:
            if not check(key, memo):
                return False
        return True

    b.key_rules[every_key] = (good, check)
    return every_key


def _no_bad_key(rules: list[tuple[frozenset[str], Check]]) -> Check:
    """The ``propertyNames`` rules of one ``allOf``, checked in one pass over the keys."""
    common = frozenset.intersection(*(good for good, _ in rules))
    # Whether a key (a text) passes every rule depends on it alone, and the keys the
    # build did not know (publisher, author ...) recur across documents: kept.
    answers = Answers()

    def no_bad_key(v: Any, memo: Memo) -> bool:
        if not isinstance(v, dict):
            return True
        seen = (no_bad_key, tuple(v))
        found = memo.get(seen)
        if found is None:
            found = memo[seen] = _keys_pass(v.keys() - common, rules, memo, answers)
        return found

    return no_bad_key


def _keys_pass(keys: Iterable[Any], rules: list[tuple[frozenset[str], Check]],
               memo: Memo, answers: Answers) -> bool:
    """Whether every key passes every rule (each rule's known good names need no check);
    ``answers``: each text key's answer, kept."""
    for key in keys:
        if type(key) is str:
            found = answers.get(key)
            if found is None:
                found = answers.keep(key, _key_passes(key, rules, memo))
            if not found:
                return False
        elif not _key_passes(key, rules, memo):
            return False
    return True


def _key_passes(key: Any, rules: list[tuple[frozenset[str], Check]], memo: Memo) -> bool:
    for good, check in rules:
        if key not in good and not check(key, memo):
            return False
    return True


# Plain URL characters, then any number of %-escapes each followed by more of them (the
# same text as a repeated choice between a character and an escape, matched faster).
_URL_CHARS = r"[A-Za-z0-9._~!$&'()*+,;=:@/-]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9._~!$&'()*+,;=:@/-]*)*"
_QUERY_CHARS = _URL_CHARS.replace("@/-]", "@/?-]")
# Per format, a pattern only values the format checker accepts can match: the common,
# plainly valid spellings (an http URL of plain characters, PT1M30S, a date-time with
# a day that exists in every month) pass without the checker's full grammar; any
# other value is still asked of the checker.
_CERTAINLY = {
    "iri": re.compile(
        r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,250}[A-Za-z0-9])?(?::[0-9]{1,5})?"
        rf"(?:/{_URL_CHARS})?(?:\?{_QUERY_CHARS})?(?:#{_QUERY_CHARS})?"),
    "duration": re.compile(r"PT(?=[0-9])(?:[0-9]{1,9}H)?(?:[0-9]{1,9}M)?(?:[0-9]{1,9}S)?"),
    "date": re.compile(r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"),
    "date-time": re.compile(
        r"(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])T(?:[01][0-9]|2[0-3]):"
        r"[0-5][0-9]"
        r":[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"),
}


# Per format, a pattern every value the format checker accepts matches: the others are
# refused without asking it (jsonschema's "date" is such a pattern, then a calendar check).
_POSSIBLY = {"date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")}


def _format(b: Build, value: Any, _: Mapping[str, Any]) -> Check:
    checker = b.fallback.format_checker
    if checker is None:
        return always
    fmt = value
    certainly = _CERTAINLY.get(fmt) if isinstance(fmt, str) else None
    plainly_valid = certainly.fullmatch if certainly is not None else None
    possibly = _POSSIBLY.get(fmt) if isinstance(fmt, str) else None
    maybe_valid = possibly.fullmatch if possibly is not None else None
    # A format checker's answer depends on the text alone: kept for every later document.
    answers = Answers()

    def conforms(v: Any, memo: Memo) -> bool:
        # A format checker can be costly (an IRI grammar), and an error report
        # asks about the same value at every level it descends: each string is
        # checked once per document, and a short one once while it is kept.
        if type(v) is not str:
            return bool(checker.conforms(v, fmt))
        if plainly_valid is not None and plainly_valid(v) is not None:
            return True
        if maybe_valid is not None and maybe_valid(v) is None:
            return False
        found = answers.get(v)
        if found is not None:
            return found
        seen = (fmt, v)
        found = memo.get(seen)
        if found is None:
            found = memo[seen] = bool(checker.conforms(v, fmt))
            if len(v) <= KEPT_CHARS:
                answers.keep(v, found)
        return found

    return conforms


def _ref(b: Build, value: Any, _: Mapping[str, Any]) -> Check | None:
    target = b.resolve(value) if isinstance(value, str) else None
    if target is None:
        return None
    # The target's own check (a stand-in only while it is still being built
    # further up: a reference to an ancestor).
    return b.schema(target)


_BUILDERS: dict[str, Builder] = {
    "type": _type, "required": _required, "properties": _properties, "allOf": _all_of,
    "anyOf": _any_of, "not": _not, "if": _if, "pattern": _pattern, "minLength": _min_length,
    "minItems": _min_items, "maxProperties": _max_properties, "minimum": _minimum,
    "maximum": _maximum,
    "items": _items, "contains": _contains, "propertyNames": _property_names,
    "format": _format, "$ref": _ref,
}
#: The keywords compiled here; a schema with any other is left to jsonschema.
COMPILED = frozenset(_BUILDERS)
