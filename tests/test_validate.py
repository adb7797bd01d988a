"""validate(): errors and warnings with JSON pointers and plain messages."""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from harvester.extract import forget_values
from harvester.extract.validate import (
    _error_path,
    _finding,
    _key_findings,
    _validators,
    pointer,
    validate,
    videoobject_schema,
)
from harvester.records import Blob, Candidate, Finding, Syntax, Validation

GOOD = {
    "@context": "https://schema.org", "@type": "VideoObject", "name": "A video",
    "description": "What happens in it.", "thumbnailUrl": "https://a.example/t.jpg",
    "uploadDate": "2025-04-08T14:59:27+01:00", "duration": "PT1M30S",
    "contentUrl": "https://a.example/v.mp4", "embedUrl": "https://a.example/embed/1",
    "width": 480, "height": 270,
}


def check(data: Any, partial: bool = False) -> Validation:
    blob = Blob(page="https://a.example/", syntax=Syntax.JSON_LD, offset=0, raw="")
    return validate(Candidate(blob=blob, data=data, partial=partial))


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(videoobject_schema())


def test_good_markup_is_valid_without_findings() -> None:
    result = check(GOOD)
    assert result == Validation(valid=True, errors=(), warnings=())


def test_missing_p_in_duration_is_an_error_that_says_so() -> None:
    result = check({**GOOD, "duration": "T1M30S"})
    assert not result.valid
    assert [f.pointer for f in result.errors] == ["/duration"]
    assert result.errors[0].message == (
        "duration 'T1M30S' is not an ISO 8601 duration "
        "(it lacks the leading 'P'; did you mean 'PT1M30S'?)")


def messages(findings: Any) -> dict[str, str]:
    """pointer -> message, for findings with distinct pointers."""
    return {f.pointer: f.message for f in findings}


def test_texturized_objects() -> None:
    first = {
        "@context": "https://schema.org", "@type": "VideoObject", "name": "Metro.co.uk",
        "duration": "T1M30S", "thumbnailUrl": "https://i.dailymail.co.uk/1s/2025/04/08/t.jpg",
        "uploadDate": "2025-04-08T14:59:27+0100″", "description": "Zelensky said.",
        "contentUrl": "https://videos.metro.co.uk/video/met/480x270_MP4_835.mp4″",
        "height": 270, "width": 480,
    }
    result = check(first)
    found = messages(result.errors)
    assert set(found) == {"/duration", "/uploadDate", "/contentUrl"}
    assert "did you mean 'PT1M30S'?" in found["/duration"]
    assert found["/uploadDate"] == (
        "uploadDate '2025-04-08T14:59:27+0100″' is not an ISO 8601 date or date-time "
        "(did you mean '2025-04-08T14:59:27+01:00'?)")
    assert found["/contentUrl"].startswith("contentUrl 'https://videos.metro.co.uk/")
    assert "contains typographic quote marks" in found["/contentUrl"]
    # the third object, cut off after its description
    third = {k: v for k, v in first.items() if k not in ("contentUrl", "height", "width")}
    third["uploadDate"] = "2025-03-05T14:21:27+0000"
    cut = check(third, partial=True)
    assert not cut.valid
    assert cut.errors[0].pointer == "" and "cut off" in cut.errors[0].message
    assert any("neither 'contentUrl' nor 'embedUrl'" in f.message for f in cut.errors)


@pytest.mark.parametrize(("missing", "wording"), [
    ("name", "'name' is missing"),
    ("thumbnailUrl", "'thumbnailUrl' is missing"),
    ("uploadDate", "'uploadDate' is missing"),
])
def test_required_properties(missing: str, wording: str) -> None:
    result = check({k: v for k, v in GOOD.items() if k != missing})
    assert not result.valid
    assert [(f.pointer, f.message.split(":")[0]) for f in result.errors] == [("", wording)]


def test_neither_content_nor_embed_url() -> None:
    data = {k: v for k, v in GOOD.items() if k not in ("contentUrl", "embedUrl")}
    result = check(data)
    assert [f.pointer for f in result.errors] == [""]
    assert "neither 'contentUrl' nor 'embedUrl'" in result.errors[0].message


@pytest.mark.parametrize(("key", "value", "pointer", "wording"), [
    ("duration", "PT1M30", "/duration", "is not an ISO 8601 duration"),
    ("duration", "1:30", "/duration", "(did you mean 'PT1M30S'?)"),
    ("duration", 90, "/duration", "90 is a number, not an ISO 8601 duration"),
    ("duration", "PY0M0D0TH0M2S20", "/duration", "'PY0M0D0TH0M2S20' is not an ISO 8601"),
    ("uploadDate", "Jun 16, 2023", "/uploadDate", "(did you mean '2023-06-16'?)"),
    ("uploadDate", "2022-07-26 10:51:36 -0400", "/uploadDate",
     "(did you mean '2022-07-26T10:51:36-04:00'?)"),
    ("uploadDate", "2025-02-31", "/uploadDate", "is not an ISO 8601 date or date-time"),
    ("uploadDate", "2025-13-01T10:00:00", "/uploadDate", "is not an ISO 8601 date"),
    ("uploadDate", 20250408, "/uploadDate", "should be an ISO 8601 date written as text"),
    ("width", "wide", "/width", "width 'wide' is not a number of pixels"),
    ("height", {"value": "tall"}, "/height", "is not a number of pixels"),
    ("width", -5, "/width", "is not a number of pixels"),
    ("contentUrl", "//cdn.example/v.mp4", "/contentUrl",
     "(it lacks its scheme; did you mean 'https://cdn.example/v.mp4'?)"),
    ("contentUrl", "/v.mp4", "/contentUrl", "is not an absolute http(s) URL (a relative URL"),
    ("contentUrl", "javascript:alert(1)", "/contentUrl", "is not an absolute http(s) URL"),
    ("embedUrl", {}, "/embedUrl", "is an object with no 'url', 'contentUrl' or '@id'"),
    ("embedUrl", [], "/embedUrl", "embedUrl is an empty list"),
    ("contentUrl", 5, "/contentUrl", "should be a URL written as text, not a number"),
    ("thumbnailUrl", [], "/thumbnailUrl", "thumbnailUrl is an empty list"),
    ("thumbnailUrl", ["https://a.example/t.jpg", "t2.jpg"], "/thumbnailUrl/1",
     "thumbnailUrl[1] 't2.jpg' is not an absolute http(s) URL"),
    ("thumbnailUrl", {"@type": "ImageObject", "url": "/t.jpg"}, "/thumbnailUrl/url",
     "thumbnailUrl.url '/t.jpg' is not an absolute"),
    ("thumbnailUrl", [{"@type": "ImageObject", "caption": "x"}], "/thumbnailUrl/0",
     "thumbnailUrl[0] is an object with no 'url'"),
    ("name", "   ", "/name", "name is empty"),
    ("name", ["a", "b"], "/name", "name should be text, not a list"),
    ("thumbnail", {"@type": "ImageObject"}, "/thumbnail", "image object with no 'url'"),
])
def test_error_findings(key: str, value: Any, pointer: str, wording: str) -> None:
    result = check({**GOOD, key: value})
    assert not result.valid
    assert pointer in messages(result.errors), result.errors
    assert wording in messages(result.errors)[pointer]


@pytest.mark.parametrize(("key", "value"), [
    ("@type", ["VideoObject", "MediaObject"]), ("@type", "https://schema.org/VideoObject"),
    ("@type", "schema:VideoObject"),
    ("thumbnailUrl", ["https://a.example/1.jpg", "https://a.example/2.jpg"]),
    ("thumbnailUrl", {"@type": "ImageObject", "url": "https://a.example/1.jpg"}),
    ("thumbnailUrl", [{"@type": "ImageObject", "contentUrl": "https://a.example/1.jpg"}]),
    ("thumbnail", {"@id": "#primaryimage"}), ("thumbnail", "https://a.example/t.jpg"),
    ("width", "480"), ("width", "480px"), ("width", 480.5),
    ("width", {"@type": "QuantitativeValue", "value": "480"}), ("width", {"value": 480}),
    ("width", [{"@id": "#sso/qv-width-px-1280"}]),
    ("duration", "PT1M30.5S"), ("duration", "P0DT0H1M30S"), ("duration", "PT0H12M23S"),
    ("uploadDate", "2025-04-08"), ("uploadDate", "2018-07-02T14:30:41.987Z"),
    ("contentUrl", ["https://a.example/v.mp4", "https://a.example/v.webm"]),
    ("contentUrl", {"@id": "https://a.example/v.mp4"}), ("embedUrl", "HTTP://A.example/e"),
    ("contentUrl", "https://a.example/vidéo.mp4"),
])
def test_schema_org_reality_is_accepted(key: str, value: Any) -> None:
    result = check({**GOOD, key: value})
    assert result.valid, result.errors


@pytest.mark.parametrize(("change", "pointer", "wording"), [
    ({"description": None}, "", "'description' is missing"),
    ({"duration": None}, "", "'duration' is missing"),
    ({"contentUrl": None}, "", "'contentUrl' is missing: only 'embedUrl'"),
    ({"@type": None}, "", "'@type' is missing"),
    ({"@type": "videoObject"}, "/@type", "@type 'videoObject' is not 'VideoObject'"),
    ({"uploadDate": "2019-03-16T02:00:34"}, "/uploadDate", "has no timezone"),
    ({"uploadDate": "2025-04-08T14:59:27+0100"}, "/uploadDate", "offset without a colon"),
    ({"name": "Tom &amp; Jerry"}, "/name", "contains an HTML entity"),
    ({"contentUrl": "https://a.example/v?a=1&amp;b=2"}, "/contentUrl", "HTML entity"),
    ({"thumbnailUrl": ["https://a.example/t?a=1&amp;b=2"]}, "/thumbnailUrl/0", "HTML entity"),
    ({"duration": "PT0S"}, "/duration", "lasts no time at all"),
    ({"duration": "P1Y"}, "/duration", "counts years or months"),
    ({"contentURL": "https://a.example/v.mp4"}, "/contentURL",
     "key 'contentURL' is not the schema.org property 'contentUrl'"),
    ({"EmbedUrl": "https://a.example/e"}, "/EmbedUrl", "rename it to 'embedUrl'"),
])
def test_warning_findings(change: dict[str, Any], pointer: str, wording: str) -> None:
    data = {**GOOD, **change}
    data = {k: v for k, v in data.items() if v is not None}
    result = check(data)
    assert result.valid, result.errors
    assert pointer in messages(result.warnings), result.warnings
    assert wording in messages(result.warnings)[pointer]


def test_wrong_case_thumbnail_key_warns_and_missing_canonical_is_an_error() -> None:
    data = {k: v for k, v in GOOD.items() if k != "thumbnailUrl"}
    result = check({**data, "thumbnailURL": "https://a.example/t.jpg"})
    assert [f.message.split(":")[0] for f in result.errors] == ["'thumbnailUrl' is missing"]
    assert "rename it to 'thumbnailUrl'" in messages(result.warnings)["/thumbnailURL"]


def test_pointer_escapes_per_rfc_6901() -> None:
    result = check({**GOOD, "thumbnail/URL": 1, "duration~x": 1, "Duration": "PT1S"})
    assert "/Duration" in messages(result.warnings)
    assert pointer_of(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"


def pointer_of(path: list[str | int]) -> str:
    from harvester.extract.validate import pointer
    return pointer(path)


def test_huge_values_are_truncated_in_messages() -> None:
    huge = "T" + "1" * 100_000 + "S"
    result = check({**GOOD, "duration": huge, "uploadDate": "x" * 10_000,
                    "contentUrl": "//" + "a" * 50_000, "width": "w" * 5_000})
    assert not result.valid
    assert len(result.errors) == 4
    for finding in result.errors:
        assert len(finding.message) < 300, finding


def test_many_bad_items_are_capped() -> None:
    result = check({**GOOD, "thumbnailUrl": ["bad"] * 5_000})
    assert 10 < len(result.errors) <= 51
    assert result.errors[-1].message.startswith("... and ")


@pytest.mark.parametrize("data", [
    None, [], [GOOD], "VideoObject", 42, 3.5, True, b"bytes", {"x": {1, 2}},
    {1: "int key", None: "none key"}, {"name": object()}, {"thumbnailUrl": [[[[["deep"]]]]]},
])
def test_never_raises_on_odd_data(data: Any) -> None:
    result = check(data)
    assert isinstance(result, Validation)
    assert result.valid == (not result.errors)


def test_non_object_is_one_error_at_root() -> None:
    result = check(["VideoObject"])
    assert [(f.pointer, f.message) for f in result.errors] == [
        ("", "the VideoObject is a list, not a JSON object")]
    assert result.warnings == ()


def test_deep_nesting_does_not_raise() -> None:
    deep: Any = "https://a.example/t.jpg"
    for _ in range(5_000):
        deep = [deep]
    result = check({**GOOD, "thumbnailUrl": deep})
    assert [(f.pointer, f.message) for f in result.errors] == [
        ("", "the data is nested too deeply to be checked")]


def test_mapping_that_is_not_a_dict() -> None:
    assert check(MappingProxyType(dict(GOOD))).valid


def test_validators_are_compiled_once() -> None:
    module = importlib.import_module("harvester.extract.validate")
    assert module._validators() is module._validators()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_schema_is_self_contained() -> None:
    schema = videoobject_schema()
    refs = _refs(schema)
    assert refs and all(ref.startswith("#/$defs/") for ref in refs)
    for ref in refs:
        assert ref.removeprefix("#/$defs/") in schema["$defs"]


def test_schema_copy_is_independent() -> None:
    videoobject_schema()["required"] = ["nonsense"]
    assert "required" not in videoobject_schema()
    assert check(GOOD).valid


def test_every_rule_has_a_message() -> None:
    """Each subschema that can fail on its own carries wording for its keywords."""
    schema = videoobject_schema()
    for name in ("name", "url", "date", "duration", "dimension"):
        assert schema["$defs"][name]["x-messages"], name


@pytest.mark.parametrize(("key", "value", "message"), [
    ("contentUrl", "", "contentUrl is empty"),
    ("uploadDate", "", "uploadDate is empty"),
    ("duration", "", "duration is empty"),
    ("thumbnailUrl", [""], "thumbnailUrl[0] is empty"),
    ("width", None, "width is null: give it a value or leave the property out"),
    ("thumbnailUrl", [None], "thumbnailUrl[0] is null: give it a value or leave the property out"),
])
def test_empty_and_null_values_say_so_once(key: str, value: Any, message: str) -> None:
    result = check({**GOOD, key: value})
    assert [f.message for f in result.errors] == [message]


def test_space_separated_date_is_one_error_not_also_a_warning() -> None:
    result = check({**GOOD, "uploadDate": "2022-07-26 10:51:36 -0400"})
    assert [f.pointer for f in result.errors] == ["/uploadDate"]
    assert "/uploadDate" not in messages(result.warnings)


_KEYS = ["name", "description", "thumbnailUrl", "thumbnail", "contentUrl", "embedUrl",
         "uploadDate", "duration", "width", "height", "@type", "thumbnailURL", "a/b~c"]
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from([*_KEYS, "url", "@id", "value"]), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _json, max_size=8), st.booleans())
def test_any_json_gives_findings_that_point_into_it(data: dict[str, Any], partial: bool) -> None:
    result = check(data, partial)
    assert result.valid == (not result.errors)
    for finding in (*result.errors, *result.warnings):
        assert len(finding.message) < 400
        assert finding.pointer == "" or finding.pointer.startswith("/")
        _resolve(data, finding.pointer)  # every pointer names a place that exists


def _resolve(document: Any, pointer: str) -> Any:
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def check_og(data: Any) -> Validation:
    blob = Blob(page="https://a.example/", syntax=Syntax.OPENGRAPH, offset=0, raw="")
    return validate(Candidate(blob=blob, data=data))


def test_opengraph_follows_open_graph_rules_not_googles() -> None:
    og = {"@type": "VideoObject", "name": "Clip", "contentUrl": "https://a.example/v.mp4",
          "thumbnailUrl": "https://a.example/t.jpg", "duration": "88", "width": "1280",
          "height": "720", "encodingFormat": "video/mp4"}
    assert check_og(og) == Validation(valid=True)
    # the same data as JSON-LD would break Google's rules
    assert not check({**og}).valid


@pytest.mark.parametrize(("change", "pointer", "wording"), [
    ({"duration": "PT1M"}, "/duration", "is not a whole number of seconds"),
    ({"width": "wide"}, "/width", "width 'wide' is not a whole number of pixels"),
    ({"contentUrl": "/v.mp4"}, "/contentUrl", "is not an absolute http(s) URL"),
    ({"uploadDate": "Jun 16, 2023"}, "/uploadDate", "(did you mean '2023-06-16'?)"),
])
def test_opengraph_errors(change: dict[str, Any], pointer: str, wording: str) -> None:
    result = check_og({"contentUrl": "https://a.example/v.mp4", "name": "n",
                       "thumbnailUrl": "https://a.example/t.jpg", **change})
    assert wording in messages(result.errors)[pointer]


def test_opengraph_warnings() -> None:
    result = check_og({"contentUrl": "https://a.example/v.mp4"})
    assert result.valid
    assert [f.message.split(": the")[0] for f in result.warnings] == [
        "og:title is missing", "og:image is missing"]


def test_first_checks_from_many_threads_at_once_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import threading

    module = importlib.import_module("harvester.extract.validate")

    records = [dict(GOOD), {**GOOD, "duration": "T1M"}, {"@type": "VideoObject", "name": ""},
               {**GOOD, "thumbnailUrl": ["//x.org/a.jpg", 3], "Name": "x"}]
    expected = [check(r) for r in records]
    monkeypatch.setattr(module, "_built", None)  # rules built afresh, by racing threads
    barrier = threading.Barrier(8)
    results: list[list[Validation]] = []

    def worker() -> None:
        barrier.wait()
        results.append([check(r) for r in records] + [check(r) for r in reversed(records)])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert len(results) == 8
    for found in results:
        assert found == expected + expected[::-1]


def test_values_learnt_on_one_page_are_forgotten_on_request_and_change_no_record() -> None:
    from harvester.extract import extract, forget_values
    from harvester.extract.schema_predicates import _TABLES
    from harvester.store.serial import video_to_dict
    from tests.support.dense import item_list

    page = item_list(300).encode()
    first = [video_to_dict(v) for v in extract(page, "https://example.org/list")]
    assert sum(len(table) for table in _TABLES.values()) > 0  # texts and shapes were kept
    assert all(record["validation"]["valid"] for record in first)
    forget_values()
    assert sum(len(table) for table in _TABLES.values()) == 0
    assert [video_to_dict(v) for v in extract(page, "https://example.org/list")] == first


_FLAT_VALUES = st.sampled_from([
    "", " ", "x", "x &amp; y", "PT1M30S", "T1M30S", "PT0S", "P1Y", "2024-05-01",
    "2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00", "2024-02-30", "VideoObject",
    "https://a.example/v.mp4", "https://a.example/“v”.mp4", "//a.example/v.mp4", "/v.mp4",
    "https://a.example/a%zz", None, 0, 480, 2.5, -1, True,
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(sorted(GOOD)), unique=True),
       st.lists(st.lists(_FLAT_VALUES, min_size=len(GOOD), max_size=len(GOOD)),
                min_size=2, max_size=6))
def test_records_of_one_shape_get_the_plain_validators_answers(
        keys: list[str], rows: list[list[Any]]) -> None:
    # Records sharing their keys (as on a page of many videos), so that what is worked
    # out once per tuple of keys is put to the test with other values each time.
    schema = videoobject_schema()
    errors = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    warnings = errors.evolve(schema={**schema["$defs"]["recommended"], "$defs": schema["$defs"]})
    for row in [[GOOD[key] for key in keys], *rows]:
        data = dict(zip(keys, row, strict=False))
        result = check(data)
        assert result.valid == errors.is_valid(data), data
        assert (not result.warnings) == warnings.is_valid(data), data


_ODD_KEYS = ["Name", "thumbnailURL", "contentURL", "embedURL", "DURATION", "publisher"]


def _plain_findings(validator: Draft202012Validator, data: Any) -> tuple[Finding, ...]:
    """The findings as made from jsonschema's own error walk (no compiled checks, no
    findings kept from one record to the next)."""
    found: dict[Finding, None] = {}
    places: set[str] = set()
    for error in validator.iter_errors(data):
        path = _error_path(error)
        where = pointer(path)
        if where in places:
            continue
        finding = _finding(error, path, where)
        if finding not in found and len(found) < 50:
            found.setdefault(finding)
            if finding.pointer:
                places.add(finding.pointer)
    return tuple(found)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from([*sorted(GOOD), *_ODD_KEYS]), _FLAT_VALUES,
                                max_size=10), min_size=2, max_size=8), st.booleans())
def test_records_of_one_shape_get_the_plain_walks_findings(
        records: list[dict[str, Any]], opengraph: bool) -> None:
    # Records sharing their keys or some of them, some misspelt (as on a page of many
    # videos): what their keys alone decide is worked out once per signature, and
    # must read as the plain walk's.
    forget_values()
    names = ("opengraph", "opengraphRecommended") if opengraph else ("", "recommended")
    plain = [Draft202012Validator(v.schema, registry=v._registry,
                                  format_checker=v.format_checker)
             for v in (_validators()[name] for name in names)]
    for data in records:
        result = check_og(data) if opengraph else check(data)
        assert result.errors == _plain_findings(plain[0], data), data
        assert result.warnings == _plain_findings(plain[1], data), data


def test_a_message_that_shows_the_object_is_not_kept_for_its_shape() -> None:
    # A rule on keys whose message shows the object: each object gets its own.
    schema = {"required": ["a"], "x-messages": {"required": "{key}{value} lacks a"}}
    validator = Draft202012Validator(schema)
    first, second = {"b": 1}, {"b": 2}
    made = [_key_findings(validator.iter_errors(data), data) for data in (first, second)]
    assert [same for _, same in made] == [False, False]
    assert made[0][0] != made[1][0]
    schema["x-messages"] = {"required": "{key} lacks a ({kind})"}
    assert _key_findings(validator.iter_errors(first), first) == (
        (Finding("", " lacks a (an object)"),), True)


def test_findings_of_missing_properties_are_made_when_built_not_per_pass() -> None:
    # An object with some of the names a key rule reads, and no misspelt key: its
    # findings were made when the rules were built, so nothing is learnt from it.
    from harvester.extract.validate import _BY_KEYS

    forget_values()
    data = {"@type": "VideoObject", "name": "A video", "embedUrl": "https://a.example/e/1"}
    result = check(data)
    assert not result.valid and result.warnings
    assert len(_BY_KEYS) == 0
    plain = Draft202012Validator(_validators()[""].schema, registry=_validators()[""]._registry,
                                 format_checker=_validators()[""].format_checker)
    assert result.errors == _plain_findings(plain, data)
    # A misspelt key: its findings are made when met, then kept.
    check({**data, "thumbnailURL": "https://a.example/t.jpg"})
    assert len(_BY_KEYS) > 0
