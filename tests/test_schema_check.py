"""The compiled schema check answers exactly as jsonschema does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from harvester.extract.schema_check import Memo, SchemaCompiler
from harvester.extract.schema_compile import _CERTAINLY, _POSSIBLY
from harvester.extract.validate import _compiler, _schema, _validators

VALUES = st.sampled_from([
    "", " ", "PT1M30S", "T1M30S", "P1Y", "PT0S", "2020-01-01", "2020-01-01T10:00+0100",
    "//x.org/a", "/rel", "https://x.org/a b", "https://x.org/“a”", "x&amp;y", "480px",
    "VideoObject", "videoObject", "https://example.org/v.mp4", None, 0, -1, 2.5, True,
])
KEYS = st.sampled_from([
    "name", "Name", "description", "thumbnailUrl", "thumbnailURL", "thumbnail", "contentUrl",
    "embedUrl", "uploadDate", "duration", "width", "height", "@type", "url", "@id", "value",
])
JSON: st.SearchStrategy[Any] = st.recursive(
    VALUES, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_every_rule_set_agrees_with_jsonschema(data: Any) -> None:
    for validator in _validators().values():
        plain = Draft202012Validator(validator.schema, registry=validator._registry,
                                     format_checker=validator.format_checker)
        assert _compiler().is_valid(validator.schema, data) == plain.is_valid(data)
        assert [e.message for e in validator.iter_errors(data)] == [
            e.message for e in plain.iter_errors(data)]
        # The compiler's own error walk: jsonschema's errors, placed where jsonschema puts them.
        assert [_placement(e) for e in _compiler().iter_errors(validator, data)] == [
            _placement(e) for e in plain.iter_errors(data)]


def _placement(error: ValidationError) -> tuple[Any, ...]:
    return (error.message, list(error.absolute_path), list(error.absolute_schema_path),
            error.validator, error.validator_value, error.instance, id(error.schema))


def test_unknown_keyword_is_left_to_jsonschema() -> None:
    schema = {"enum": [1, 2], "type": "integer"}
    compiler = SchemaCompiler(schema, Draft202012Validator(schema))
    assert compiler.is_valid(schema, 1) is True
    assert compiler.is_valid(schema, 3) is False
    assert compiler.keyword(schema, "enum")(1, {}) is False  # never skipped


def test_local_refs_resolve_and_foreign_refs_fall_back() -> None:
    schema = {"$id": "urn:t", "$defs": {"s": {"type": "string"}},
              "properties": {"a": {"$ref": "#/$defs/s"}, "b": {"$ref": "urn:t#/$defs/s"}}}
    compiler = SchemaCompiler(schema, Draft202012Validator(schema))
    assert compiler.is_valid(schema, {"a": "x", "b": "y"}) is True
    assert compiler.is_valid(schema, {"a": 1}) is False
    assert compiler.is_valid(schema, {"b": 1}) is False
    assert _schema()["$id"]


def _agrees(schema: dict[str, Any], instances: list[Any], names: tuple[str, ...] = ()) -> None:
    plain = Draft202012Validator(schema)
    compiler = SchemaCompiler(schema, plain, names=names)
    for instance in instances:
        assert compiler.is_valid(schema, instance) == plain.is_valid(instance), instance
        assert [_placement(e) for e in compiler.iter_errors(plain, instance)] == [
            _placement(e) for e in plain.iter_errors(instance)], instance


def test_property_name_rules_agree_for_known_and_unknown_keys() -> None:
    schema = {"$id": "urn:k", "properties": {"name": {"type": "string"}}, "allOf": [
        {"propertyNames": {"not": {"pattern": "^(?!name$)[Nn]ame$"}}},
        {"propertyNames": {"not": {"pattern": "^(?!url$)[Uu][Rr][Ll]$"}}},
        {"propertyNames": {"maxLength": 8}},
        {"required": ["name"]},
    ]}
    _agrees(schema, [{"name": "a"}, {"name": "a", "Name": "b"}, {"URL": 1, "name": "x"},
                     {"name": "x", "a-long-key": 1}, {"@context": 1}, [], "Name"],
            names=("@context", "Name"))


def test_a_key_rule_that_reaches_back_to_the_root_is_checked_when_met() -> None:
    # Keys are checked against the root itself, which is still being built when
    # the propertyNames rule is: the names it knows are then asked at run time.
    schema = {"$id": "urn:r", "type": ["object", "string"], "pattern": "^a",
              "propertyNames": {"$ref": "#"}}
    _agrees(schema, [{"ab": 1}, {"b": 1}, {"ab": {"ac": 1, "b": 2}}, "ab", "b"],
            names=("ab", "b"))


def test_checking_changes_nothing_in_the_compiler() -> None:
    """Threads share the compiler: what one call learns stays in that call's memo."""
    compiler = _compiler()
    sizes = [len(table) for table in (*compiler._known, compiler._plans)]
    memo: Memo = {}
    data = {"@type": "VideoObject", "Name": "x", "duration": "T1M", "uploadDate": "2020-01-01",
            "thumbnailUrl": ["//a.example/t.jpg", "https://a.example/t.jpg"]}
    for validator in _validators().values():
        assert list(compiler.iter_errors(validator, data, memo))
    assert memo
    assert [len(table) for table in (*compiler._known, compiler._plans)] == sizes
    with pytest.raises(TypeError):
        compiler._known.checks[0] = compiler.keyword({}, "enum")  # type: ignore[index]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(_CERTAINLY)).flatmap(
    lambda fmt: st.tuples(st.just(fmt), st.from_regex(_CERTAINLY[fmt], fullmatch=True))))
def test_a_plainly_valid_spelling_is_one_the_format_checker_accepts(case: tuple[str, str]) -> None:
    fmt, value = case
    assert Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(_POSSIBLY)), st.lists(st.sampled_from(
    ["2024", "0000", "-", "05", "5", "31", "T", "10:00", "Z", "\n", " ", "٣", "1"]),
    max_size=8).map("".join))
def test_a_value_the_format_checker_accepts_is_one_its_pattern_allows(fmt: str, value: str
                                                                      ) -> None:
    if Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt):
        assert _POSSIBLY[fmt].fullmatch(value)
    assert _compiler().keyword({"format": fmt}, "format")(value, {}) == (
        Draft202012Validator.FORMAT_CHECKER.conforms(value, fmt))


SCALAR_VALUES = [
    "", " ", "PT1M30S", "T1M30S", "P1Y", "2020-01-01", "2024-05-01T10:00:00+00:00",
    "2020-01-01T10:00+0100", "//x.org/a", "https://x.org/a b", "https://x.org/“a”", "x&amp;y",
    "480px", " 0480 ", "VideoObject", "https://example.org/v.mp4", None, 0, -1, 7, 2.5, 1.0,
    -0.0, 1e300, 100001, True, False,
]


def _subschemas(schema: Any) -> list[Any]:
    """``schema`` and every schema inside it, read by keyword."""
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        found.append(node)
        for key, value in node.items():
            if key in ("properties", "$defs"):
                stack.extend(value.values())
            elif key in ("allOf", "anyOf"):
                stack.extend(value)
            elif key in ("not", "if", "then", "else", "items", "contains", "propertyNames"):
                stack.append(value)
    return found


def test_a_scalar_gets_the_same_answer_from_its_types_own_check() -> None:
    # Every subschema, every scalar: the check for the value's type (keywords about
    # other types answered in advance) agrees with the general check and jsonschema.
    compiler = _compiler()
    validator = _validators()[""]
    checked = 0
    for schema in _subschemas(_schema()):
        general = compiler.schema(schema)
        plain = validator.evolve(schema=schema)
        for value in SCALAR_VALUES:
            typed = compiler.typed_check(schema, type(value))
            assert typed(value, {}) == general(value, {}) == plain.is_valid(value), (
                schema, value)
            checked += 1
    assert checked > 1000


def test_a_float_may_be_an_integer_and_a_bool_is_no_number() -> None:
    root = {"$id": "urn:test", "properties": {"n": {"type": "integer"}, "m": {"minimum": 3}}}
    plain = Draft202012Validator(root)
    compiler = SchemaCompiler(root, plain)
    for value in (1.0, 1.5, 2, True, None, "4", 5.0, -2.0):
        for key in ("n", "m"):
            assert compiler.is_valid(root, {key: value}) == plain.is_valid({key: value}), (
                key, value)


OBJECTS = st.dictionaries(KEYS, JSON, max_size=6)
# A record every rule set passes, so that one other value can make the difference.
VALID = {"@type": "VideoObject", "name": "x", "description": "d", "duration": "PT1M",
         "thumbnailUrl": "https://example.org/t.jpg", "uploadDate": "2020-01-01T10:00:00Z",
         "contentUrl": "https://example.org/v.mp4"}


@settings(max_examples=300, deadline=None)
@given(OBJECTS, st.lists(JSON, min_size=13, max_size=13), st.booleans())
def test_an_object_gets_the_same_answer_from_the_objects_own_check(
        changed: dict[str, Any], values: list[Any], whole: bool) -> None:
    # Two objects with the same keys and other values, so that an answer kept for a
    # tuple of keys is put to the test; most share the keys of a valid record.
    first = {**VALID, **changed} if whole else changed
    second = {key: values[i] if i % 2 else value for i, (key, value) in enumerate(first.items())}
    compiler = _compiler()
    validator = _validators()[""]
    for schema in _subschemas(_schema()):
        plain = validator.evolve(schema=schema)
        typed = compiler.typed_check(schema, dict)
        for data in (first, second):
            assert typed(data, {}) == plain.is_valid(data), (schema, data)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, JSON, max_size=8))
def test_an_objects_walk_step_by_step_is_jsonschemas(data: dict[str, Any]) -> None:
    # The steps of an object's walk, each on its own, give jsonschema's errors in order.
    for validator in _validators().values():
        plain = Draft202012Validator(validator.schema, registry=validator._registry,
                                     format_checker=validator.format_checker)
        steps = _compiler().steps(validator)
        assert steps is not None
        memo: Memo = {}
        found = [_placement(e) for step in steps
                 for e in _compiler().step_errors(validator, step, data, memo)]
        assert found == [_placement(e) for e in plain.iter_errors(data)]


def _key_placement(error: ValidationError) -> tuple[Any, ...]:
    # All but what shows the object's values: a key the error is about is kept.
    return (list(error.absolute_path), list(error.absolute_schema_path), error.validator,
            error.instance if isinstance(error.instance, str) else None, id(error.schema))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=8), st.dictionaries(KEYS, VALUES, max_size=8))
def test_objects_with_one_key_signature_get_the_same_key_errors(
        first: dict[str, Any], second: dict[str, Any]) -> None:
    # A step that reads only the keys gives the same errors (but for the values they
    # may show) to two objects whose signatures are equal, whatever their values.
    for validator in _validators().values():
        for step in _compiler().steps(validator) or ():
            if step.keys is None:
                continue
            errors = [[_key_placement(e) for e in
                       _compiler().step_errors(validator, step, data, {})]
                      for data in (first, second)]
            if step.keys.signature(first, {}) == step.keys.signature(second, {}):
                assert errors[0] == errors[1]
            second_keys = dict.fromkeys(first, "")  # the same keys, other values
            assert step.keys.signature(second_keys, {}) == step.keys.signature(first, {})


def test_the_walk_of_an_object_has_its_key_rules_apart() -> None:
    # The root's allOf (required names, anyOf of two) reads only keys; its properties not.
    steps = _compiler().steps(_validators()[""])
    assert steps is not None
    rules = {step.step[0]: step.keys for step in steps}
    assert rules["properties"] is None
    assert rules["allOf"] is not None
    assert set(rules["allOf"].names) == {"name", "thumbnailUrl", "uploadDate", "contentUrl",
                                         "embedUrl"}
    # The warnings' rule set is reached through a $ref: its own keywords are the steps.
    recommended = _compiler().steps(_validators()["recommended"])
    assert recommended is not None
    assert [step.step[0] for step in recommended] == ["allOf", "properties"]
    assert recommended[0].keys is not None and recommended[0].keys.key_checks
    assert recommended[0].keys.signature({"Name": "x", "name": "y"}, {}) \
        != recommended[0].keys.signature({"nAme": "x", "name": "y"}, {})


def test_a_key_rule_is_not_made_for_what_reads_values() -> None:
    schema = {"$id": "urn:t", "allOf": [{"required": ["a"]}, {"maxProperties": 2}],
              "anyOf": [{"required": ["b"]}, {"properties": {"b": {"type": "string"}}}],
              "not": {"required": ["c"]}}
    plain = Draft202012Validator(schema)
    compiler = SchemaCompiler(schema, plain)
    steps = compiler.steps(plain)
    assert steps is not None
    rules = {step.step[0]: step.keys for step in steps}
    assert rules["allOf"] is None  # maxProperties reads how many keys: not a key rule here
    assert rules["anyOf"] is None  # a properties member reads a value
    assert rules["not"] is not None and rules["not"].names == ("c",)
    for data in ({"a": 1, "c": 2}, {"b": 1}, {"a": 1, "b": "x", "d": 3}):
        assert [_placement(e) for step in steps
                for e in compiler.step_errors(plain, step, data, {})] == [
            _placement(e) for e in plain.iter_errors(data)]
