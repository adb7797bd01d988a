"""Check one VideoObject against the packaged JSON Schema and explain what is wrong.

``validate(candidate)`` returns a :class:`~harvester.records.Validation`:
errors come from ``schemas/videoobject.schema.json`` itself, warnings from its
``$defs/recommended`` subschema, so the schema file is the single source of the
rules and of their wording (``x-messages``).  Each finding carries an RFC 6901
JSON pointer into the video's data and a sentence a person can act on, with a
suggested fix where :mod:`harvester.extract.normalize` can read what was meant
(``T1M30S`` -> ``PT1M30S``).  It never raises: bad markup is a finding.

The schema is self-contained: references resolve inside it only, nothing is
ever fetched.  Its validators and compiled checks are built once per process
and never change after, so threads share them; whatever one check learns
along the way belongs to that call alone.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any, NamedTuple

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from harvester.extract.nodes import is_flat
from harvester.extract.normalize import absolute_url, parse_date, parse_duration
from harvester.extract.schema_check import Check, Memo, SchemaCompiler, Step
from harvester.extract.schema_predicates import KEPT_CHARS, Kept
from harvester.records import Candidate, Finding, Syntax, Validation

__all__ = ["iso_duration", "validate", "validate_data", "videoobject_schema"]

SCHEMA_FILE = "videoobject.schema.json"
MAX_VALUE_CHARS = 80
MAX_FINDINGS = 50  # per kind; a list of 10,000 bad thumbnails is one problem, not 10,000
PARTIAL_MESSAGE = (
    "the JSON was cut off before its end (the page holds only part of it): "
    "properties after the cut are missing and the values read may be incomplete"
)


def videoobject_schema() -> dict[str, Any]:
    """The VideoObject JSON Schema (a fresh copy: callers may change it freely)."""
    return copy.deepcopy(_schema())


def validate(candidate: Candidate) -> Validation:
    """Errors and warnings for ``candidate.data``; ``valid`` means no errors.

    Open Graph records are held to the Open Graph protocol (``$defs/opengraph``),
    since Google's VideoObject rules were never theirs to follow.
    """
    opengraph = getattr(candidate.blob, "syntax", None) == Syntax.OPENGRAPH
    data = candidate.data
    if type(data) is dict and not candidate.partial and is_flat(data):
        # Flat (nothing nested, so not too deep to check): the errors check's answer
        # and what it learnt serve the report too, when there is one to make.
        memo: Memo = {}
        failing = _failing(data, opengraph, memo)
        if failing == _NONE:
            return _CLEAN  # most records: an object of texts and numbers that passes
        errors, warnings = _guarded(_object_walks, data, opengraph, memo, failing)
    else:
        errors, warnings = validate_data(data, opengraph=opengraph)
    if candidate.partial:
        errors = (Finding("", PARTIAL_MESSAGE), *errors)
    if not errors and not warnings:
        return _CLEAN  # most records: one shared answer
    return Validation(valid=not errors, errors=errors, warnings=warnings)


_CLEAN = Validation(valid=True)


# What :func:`_failing` found: no rule set fails, the errors' does (the warnings' not
# asked yet), only the warnings' does, or a check could not answer.
_NONE, _ERRORS, _WARNINGS, _UNKNOWN = range(4)


def _failing(data: dict[Any, Any], opengraph: bool, memo: Memo) -> int:
    """Which rule set's check an object fails first (``memo``: what the checks learn)."""
    try:
        errors, warnings = _rules().object_checks[opengraph]
        if not errors(data, memo):
            return _ERRORS
        return _NONE if warnings(data, memo) else _WARNINGS
    except Exception:  # _object_walks() reports it
        return _UNKNOWN


MAX_DEPTH = 100
DEEP_MESSAGE = "the data is nested too deeply to be checked"


def _deeper_than(value: Any, limit: int) -> bool:
    """True when lists/objects nest more than ``limit`` levels (iterative, no recursion)."""
    if not isinstance(value, dict | list):
        return False
    if limit > 0 and type(value) is dict and is_flat(value):
        return False  # most records: nothing to walk
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth >= limit:
            return True
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, dict | list):  # only containers go on the stack
                stack.append((child, depth + 1))
    return False


def validate_data(
    data: Any, *, opengraph: bool = False
) -> tuple[tuple[Finding, ...], tuple[Finding, ...]]:
    """(errors, warnings) for one VideoObject given as plain JSON data."""
    if type(data) is not dict and isinstance(data, Mapping):
        data = dict(data)
    if _deeper_than(data, MAX_DEPTH):
        # Checked before jsonschema sees it: deep recursion inside its compiled
        # helpers can abort the interpreter rather than raise RecursionError.
        return (Finding("", DEEP_MESSAGE),), ()
    if type(data) is not dict:
        return _guarded(_other_findings, data, opengraph)
    return _guarded(_object_walks, data, opengraph, {}, _UNKNOWN)


Findings = tuple[tuple[Finding, ...], tuple[Finding, ...]]


def _guarded(find: Callable[..., Findings], *args: Any) -> Findings:
    """``find(*args)``, with what stopped it as the finding instead."""
    try:
        return find(*args)
    except RecursionError:
        return (Finding("", DEEP_MESSAGE),), ()
    except Exception as exc:  # a validator bug or pathological input must not stop a harvest
        return (Finding("", f"the data could not be checked ({type(exc).__name__})"),), ()


def _other_findings(data: Any, opengraph: bool) -> Findings:
    """The findings for data that is not an object (a list, a text ...)."""
    memo: Memo = {}  # what the checks learn about this document, for both rule sets
    validators = _rules().validators
    errors, warnings = _OPENGRAPH_RULES if opengraph else _VIDEOOBJECT_RULES
    return (_findings(validators[errors], data, memo),
            _findings(validators[warnings], data, memo))


def _object_walks(data: dict[Any, Any], opengraph: bool, memo: Memo, failing: int) -> Findings:
    """The findings for an object: each rule set walked only when its check fails.
    ``failing``: what :func:`_failing` found (``memo``: what it learnt), or ``_UNKNOWN``."""
    rules = _rules()
    validators = rules.validators
    errors, warnings = _OPENGRAPH_RULES if opengraph else _VIDEOOBJECT_RULES
    checks = rules.object_checks[opengraph]
    # Most records pass both rule sets: nothing to report, no error walk to start.
    errors_pass = failing == _WARNINGS or (failing != _ERRORS and checks[0](data, memo))
    return (() if errors_pass else _walk(validators[errors], data, memo),
            () if failing != _WARNINGS and checks[1](data, memo)
            else _walk(validators[warnings], data, memo))


class _Rules(NamedTuple):
    """The shipped schema and what is compiled from it: made once, then only read."""

    schema: dict[str, Any]
    validators: dict[str, Draft202012Validator]
    compiler: SchemaCompiler
    #: By ``opengraph``: the (errors, warnings) rule sets' checks for an object.
    object_checks: dict[bool, tuple[Check, Check]]
    #: By ``id()`` of a validator: the steps of its error walk for an object.
    steps: dict[int, list[Step] | None]
    #: The findings of the steps that read only keys, made when built for objects
    #: of every signature without a misspelt key (as :data:`_BY_KEYS` keeps them).
    key_findings: Mapping[tuple[Any, ...], tuple[Finding, ...]]


_built: _Rules | None = None
_BUILD_LOCK = threading.Lock()


def _rules() -> _Rules:
    """The schema, its validators and their compiler, built once per process.

    Under a lock: pages are validated from several threads, and two first
    calls racing must not build two schemas that the others then mix.
    """
    global _built
    if _built is None:
        with _BUILD_LOCK:
            if _built is None:
                _built = _build_rules()
    return _built


def _schema() -> dict[str, Any]:
    return _rules().schema


def _validators() -> dict[str, Draft202012Validator]:
    return _rules().validators


def _compiler() -> SchemaCompiler:
    return _rules().compiler


# Keys most JSON-LD objects carry besides the schema's own property names: the
# propertyNames rules answer them once, when built, instead of for every document.
_JSON_LD_KEYWORDS = ("@context", "@id", "@type", "@graph", "@value", "@language", "@list",
                     "@reverse", "@index")

# (errors, warnings) rule sets: "" is the schema's root, other names are its $defs.
_VIDEOOBJECT_RULES = ("", "recommended")
_OPENGRAPH_RULES = ("opengraph", "opengraphRecommended")


def _build_rules() -> _Rules:
    text = resources.files("harvester").joinpath("schemas", SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema_id = schema["$id"]
    # A Registry with no retrieve function: a $ref outside the schema fails, never fetches.
    resource = DRAFT202012.create_resource(schema)
    registry: Registry[Any] = Registry().with_resource(schema_id, resource)
    checker = Draft202012Validator.FORMAT_CHECKER
    validators = {"": Draft202012Validator(schema, registry=registry, format_checker=checker)}
    for name in (*_VIDEOOBJECT_RULES[1:], *_OPENGRAPH_RULES):
        ref = {"$ref": f"{schema_id}#/$defs/{name}"}
        validators[name] = Draft202012Validator(ref, registry=registry, format_checker=checker)
    entries = [validator.schema for validator in validators.values()]
    compiler = SchemaCompiler(schema, validators[""], entries, names=_JSON_LD_KEYWORDS)
    object_checks = {
        opengraph: (compiler.object_check(validators[errors].schema),
                    compiler.object_check(validators[warnings].schema))
        for opengraph, (errors, warnings) in ((False, _VIDEOOBJECT_RULES),
                                              (True, _OPENGRAPH_RULES))}
    steps = {id(validator): compiler.steps(validator) for validator in validators.values()}
    return _Rules(schema, validators, compiler, object_checks, steps,
                  MappingProxyType(_made_for_names(compiler, validators.values(), steps)))


# Signatures are made in advance for steps that read at most this many names (2**6
# objects to check at most, each once per process).
_MOST_NAMES = 6


def _made_for_names(compiler: SchemaCompiler, validators: Iterable[Draft202012Validator],
                    steps: Mapping[int, list[Step] | None]
                    ) -> dict[tuple[Any, ...], tuple[Finding, ...]]:
    """The findings of each step (and allOf member) that reads only keys, for an object
    holding each set of the names it reads and no other key: their findings are those
    of every object with the same signature, so most objects need none made."""
    made: dict[tuple[Any, ...], tuple[Finding, ...]] = {}
    for validator in validators:
        for index, step in enumerate(steps.get(id(validator)) or ()):
            if step.keys is None:
                continue
            for data in _objects_naming(step.keys.names):
                memo: Memo = {}
                _make_for(made, (id(validator), index, step.keys.signature(data, memo)),
                          compiler.step_errors(validator, step, data, memo), data)
            for number, member in enumerate(step.members):
                for data in _objects_naming(member.names):
                    memo = {}
                    _make_for(made, (id(validator), index, number,
                                     member.member_signature(data, (), memo)),
                              compiler.member_errors(validator, step, number, data, memo),
                              data)
    return made


def _make_for(made: dict[tuple[Any, ...], tuple[Finding, ...]], seen: tuple[Any, ...],
              errors: Iterable[ValidationError], data: dict[str, Any]) -> None:
    """``made[seen]``: the findings of ``errors`` (a walk not started yet), when every
    object with that signature has them; left to be made when first met if not, or
    if they cannot be made."""
    try:
        found, same = _key_findings(errors, data)
    except Exception:  # a check that fails to answer says so on the object that needs it
        return
    if same:
        made[seen] = found


def _objects_naming(names: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """An object for each set of ``names`` (none when there are too many)."""
    if len(names) > _MOST_NAMES:
        return
    for chosen in range(2 ** len(names)):
        yield {name: None for bit, name in enumerate(names) if chosen >> bit & 1}


def _findings(validator: Draft202012Validator, data: Any, memo: Memo) -> tuple[Finding, ...]:
    """One finding per location (the first, most basic rule the schema lists), capped."""
    if _compiler().is_valid(validator.schema, data, memo):
        return ()  # most records: no error to walk for
    return _walk(validator, data, memo)


def _walk(validator: Draft202012Validator, data: Any, memo: Memo) -> tuple[Finding, ...]:
    """:func:`_findings` for ``data`` known to fail ``validator``'s schema."""
    found: dict[Finding, None] = {}
    places: set[str] = set()
    extra = 0
    for finding in _all_findings(validator, data, memo):
        if finding.pointer in places:
            continue  # "empty" already said it; "not a URL" would only repeat it
        if finding in found:
            continue
        if len(found) >= MAX_FINDINGS:
            extra += 1
            continue
        found.setdefault(finding)
        if finding.pointer:  # the root collects one finding per missing property
            places.add(finding.pointer)
    if extra:
        found.setdefault(Finding("", f"... and {extra} more findings like these"))
    return tuple(found)


def _all_findings(validator: Draft202012Validator, data: Any, memo: Memo) -> Iterator[Finding]:
    """A finding for each of jsonschema's errors, in its order (some may repeat others)."""
    rules = _rules()
    compiler = rules.compiler
    steps = rules.steps.get(id(validator)) if type(data) is dict else None
    if steps is None:
        # jsonschema's errors, found by walking only into what the compiled checks fail.
        yield from _made(compiler.iter_errors(validator, data, memo, failing=True))
        return
    for index, step in enumerate(steps):
        if step.keys is None:
            failing = compiler.failing_properties(step, data, memo)
            if failing is None:
                yield from _made(compiler.step_errors(validator, step, data, memo))
                continue
            for name, subschema, value in failing:
                yield from _property_findings(rules, validator, index, name, subschema, value,
                                              memo)
            continue
        # What depends on the keys alone (a property missing, a key misspelt): the
        # records of a page share a few shapes, so their findings are made once.
        signature = step.keys.signature(data, memo)
        seen = (id(validator), index, signature)
        made = _known_findings(rules, seen)
        if made is not None:
            yield from made
            continue
        if not step.members:
            made, same = _key_findings(compiler.step_errors(validator, step, data, memo), data)
        else:
            # A shape not met yet: each member of the allOf on its own (one reads only
            # a name or two, so objects of other shapes have made its findings already).
            bad = signature[1] if step.keys.key_checks else ()
            made, same = (), True
            for number, member in enumerate(step.members):
                more, alike = _member_findings(
                    rules, validator, step, number,
                    (id(validator), index, number, member.member_signature(data, bad, memo)),
                    data, memo)
                made += more
                same = same and alike
        if same:
            _BY_KEYS.keep(seen, made)
        yield from made


def _property_findings(rules: _Rules, validator: Draft202012Validator, index: int, name: str,
                       subschema: Any, value: Any, memo: Memo) -> tuple[Finding, ...]:
    """The findings for a property that fails: those of a text, whole number, boolean
    or null depend on it and its name alone, and are kept (values recur across the
    records of a page)."""
    errors = rules.compiler.property_errors(validator, name, subschema, value, memo)
    kind = type(value)
    if kind not in _KEPT_VALUES or (kind is str and len(value) > KEPT_CHARS):
        return tuple(_made(errors))
    seen = (id(validator), index, name, kind, value)
    made = _BY_VALUE.get(seen)
    if made is None:
        made = _BY_VALUE.keep(seen, tuple(_made(errors)))
    return made


# Values whose findings are kept: not floats, whose equal values are written apart
# (0.0 and -0.0).
_KEPT_VALUES = frozenset({str, int, bool, type(None)})
# The findings of properties that fail, by step, name and value.
_BY_VALUE: Kept[tuple[Finding, ...]] = Kept()


def _member_findings(rules: _Rules, validator: Draft202012Validator, step: Step,
                     number: int, seen: tuple[Any, ...], data: dict[Any, Any], memo: Memo
                     ) -> tuple[tuple[Finding, ...], bool]:
    """The findings of member ``number`` of an allOf step, kept for ``seen``, and
    whether they are the same for every object with its signature."""
    made = _known_findings(rules, seen)
    if made is not None:
        return made, True
    made, same = _key_findings(
        rules.compiler.member_errors(validator, step, number, data, memo), data)
    if same:
        _BY_KEYS.keep(seen, made)
    return made, same


# The findings of the steps that read only an object's keys, by step and signature.
_BY_KEYS: Kept[tuple[Finding, ...]] = Kept()


def _known_findings(rules: _Rules, seen: tuple[Any, ...]) -> tuple[Finding, ...] | None:
    """The findings kept for ``seen`` (a step's or member's signature): made when the
    rules were built, or met since; ``None`` when not known yet."""
    made = rules.key_findings.get(seen)
    return made if made is not None else _BY_KEYS.get(seen)


def _made(errors: Iterable[ValidationError]) -> Iterator[Finding]:
    """The finding for each error."""
    for error in errors:
        yield _finding_of(error)


def _finding_of(error: ValidationError) -> Finding:
    """The finding for one error, at the place in the video's data it is about."""
    path = _error_path(error)
    return _finding(error, path, pointer(path))


def _key_findings(errors: Iterable[ValidationError], data: dict[Any, Any]
                  ) -> tuple[tuple[Finding, ...], bool]:
    """The findings for the errors of a step that reads only the keys of ``data``, and
    whether they would be the same for every object with the same signature: each
    is about a key, or about the object with a message that does not show it."""
    made = []
    same = True
    for error in errors:
        made.append(_finding_of(error))
        if error.instance is data:
            schema = error.schema if isinstance(error.schema, Mapping) else {}
            messages = schema.get("x-messages", {})
            template = messages.get(error.validator) if isinstance(messages, Mapping) else None
            same = same and isinstance(template, str) and "{value}" not in template \
                and "x-hint" not in schema
        elif not (type(error.instance) is str and error.instance in data):
            same = False
    return tuple(made), same


def _error_path(error: ValidationError) -> list[str | int]:
    """Where the error is, as keys and indexes into the video's data."""
    path: list[str | int] = list(error.absolute_path)
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        path.append(error.instance)  # the failing thing is a key: point at it
    return path


def _finding(error: ValidationError, path: list[str | int], where: str) -> Finding:
    """The finding for ``error`` at ``path`` (``where`` is its JSON pointer)."""
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    messages = schema.get("x-messages", {})
    template = messages.get(error.validator) if isinstance(messages, Mapping) else None
    key = _clip(_location(path))
    if error.instance is None and path:
        message = f"{key} is null: give it a value or leave the property out"
    elif isinstance(template, str):
        # The value is only shown when the template asks for it (it may be the whole object).
        value = short(error.instance) if "{value}" in template else ""
        message = template.format_map({"key": key, "value": value,
                                       "kind": _kind(error.instance)})
    else:
        message = f"{key or 'the VideoObject'}: {_clip(error.message, 160)}"
    hint = _HINTS.get(str(schema.get("x-hint")))
    if hint is not None:
        message += hint(error.instance)
    return Finding(where, message)


# -- wording ----------------------------------------------------------------


def pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a path of keys and indexes (``""`` is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _location(path: list[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short(value: Any) -> str:
    """A value as a message shows it: quoted, and never longer than about 80 characters."""
    if isinstance(value, str):
        return "'" + _clip(value) + "'"
    try:
        # Encoded piece by piece, and only as far as the message shows.
        pieces = _ENCODER.iterencode(value)
        text = ""
        for piece in pieces:
            text += piece
            if len(text) > MAX_VALUE_CHARS:
                break
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return _clip(text)


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=repr)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    return "an object" if isinstance(value, Mapping) else f"a {type(value).__name__}"


def iso_duration(seconds: float) -> str:
    """``90.5`` -> ``'PT1M30.5S'``: the ISO 8601 form used in suggestions."""
    whole = math.floor(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    fraction = round(seconds - whole, 3)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if secs or fraction or text == "PT":
        text += f"{secs + fraction:g}S" if fraction else f"{secs}S"
    return text


def _duration_hint(value: Any) -> str:
    seconds = parse_duration(value)
    if seconds is None:
        return ""
    if isinstance(value, str) and value.strip().upper().startswith("T"):
        return f" (it lacks the leading 'P'; did you mean 'P{_clip(value.strip().upper())}'?)"
    return f" (did you mean '{iso_duration(seconds)}'?)"


def _date_hint(value: Any) -> str:
    fixed = parse_date(value)
    return f" (did you mean '{fixed}'?)" if fixed and fixed != value else ""


def _url_hint(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    text = value.strip()
    if text.startswith("//"):
        return f" (it lacks its scheme; did you mean '{_clip(absolute_url(text, None) or text)}'?)"
    if text and ":" not in text.split("/")[0]:
        return " (a relative URL: write it in full, starting with https://)"
    return ""


_HINTS: dict[str, Callable[[Any], str]] = {
    "duration": _duration_hint,
    "date": _date_hint,
    "url": _url_hint,
}
