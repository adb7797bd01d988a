"""The compiled schema check answers exactly as jsonschema does."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from harvester.extract.schema_check import SchemaCompiler
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
        assert _compiler().schema(validator.schema)(data) == plain.is_valid(data)
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
    assert compiler.schema(schema)(1) is True
    assert compiler.schema(schema)(3) is False
    assert compiler.keyword(schema, "enum")(1) is False  # never skipped


def test_local_refs_resolve_and_foreign_refs_fall_back() -> None:
    schema = {"$id": "urn:t", "$defs": {"s": {"type": "string"}},
              "properties": {"a": {"$ref": "#/$defs/s"}, "b": {"$ref": "urn:t#/$defs/s"}}}
    check = SchemaCompiler(schema, Draft202012Validator(schema)).schema(schema)
    assert check({"a": "x", "b": "y"}) is True
    assert check({"a": 1}) is False
    assert check({"b": 1}) is False
    assert _schema()["$id"]
