"""harvester.extract.repair: golden damage samples, each named repair, and hostile input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harvester.extract import jsonld, text
from harvester.extract.nodes import video_nodes
from harvester.extract.repair import MAX_PARSE_CHARS, repair
from harvester.records import Blob, Parsed, Syntax

SAMPLES = Path(__file__).parent / "samples"
PAGES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".html", ".txt"))


def page_records(page: str, name: str = "page") -> list[dict[str, Any]]:
    """What the JSON-LD and text extractors find on a page, in the golden files' shape."""
    records = []
    for finder in (jsonld.find_blobs, text.find_blobs):
        for blob in finder(page, name):
            for cand in video_nodes(repair(blob)):
                records.append({"syntax": str(cand.blob.syntax), "pointer": cand.pointer,
                                "repairs": list(cand.repairs), "partial": cand.partial,
                                "data": cand.data})
    return records


@pytest.mark.parametrize("sample", PAGES, ids=lambda p: p.name)
def test_golden_sample(sample: Path) -> None:
    expected_file = sample.with_name(sample.name.rsplit(".", 1)[0] + ".expected.json")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert page_records(sample.read_text(encoding="utf-8"), sample.name) == expected["videos"]


def test_every_sample_has_its_expectation() -> None:
    assert len(PAGES) >= 14
    for sample in PAGES:
        assert sample.with_name(sample.name.rsplit(".", 1)[0] + ".expected.json").is_file()


def _parse(raw: str, syntax: Syntax = Syntax.JSON_LD) -> Parsed:
    return repair(Blob(page="p", syntax=syntax, offset=0, raw=raw))


def test_valid_json_needs_no_repair() -> None:
    parsed = _parse('{"@type": "VideoObject", "name": "a // b, }"}')
    assert parsed.value == {"@type": "VideoObject", "name": "a // b, }"}
    assert parsed.repairs == () and not parsed.partial and parsed.error is None


def test_prebuilt_data_is_passed_through() -> None:
    blob = Blob(page="p", syntax=Syntax.MICRODATA, offset=0, raw="<div>", data={"a": 1})
    assert repair(blob) == Parsed(blob, {"a": 1})


@pytest.mark.parametrize(("raw", "value", "repairs"), [
    ('{"a": 1,}', {"a": 1}, ("trailing-comma",)),
    ('[1, 2, ]', [1, 2], ("trailing-comma",)),
    ('{"a": "x,}",}', {"a": "x,}"}, ("trailing-comma",)),
    ('{"a": 1 // one\n}', {"a": 1}, ("comments",)),
    ('/* lead */ {"a": "http://x/*y*/"}', {"a": "http://x/*y*/"}, ("comments",)),
    ('<![CDATA[{"a": 1}]]>', {"a": 1}, ("cdata",)),
    ('/*<![CDATA[*/{"a": 1}/*]]>*/', {"a": 1}, ("cdata",)),
    ('<!--{"a": 1}-->', {"a": 1}, ("cdata",)),
    ('{"a": "x\ny"}', {"a": "x\ny"}, ("control-chars",)),
    ('{"a": "it\\\'s"}', {"a": "it's"}, ("invalid-escapes",)),
    ('{"a": 1}{"b": 2}', [{"a": 1}, {"b": 2}], ("concatenated-objects",)),
    ('{"a": 1},\n{"b": 2};', [{"a": 1}, {"b": 2}], ("concatenated-objects",)),
    ('{"a": 1};', {"a": 1}, ("trailing-text",)),
    ('{“a”:”b”,”n”:2}', {"a": "b", "n": 2}, ("untexturize-quotes",)),
    ('{&quot;a&quot;: &quot;b&amp;c&quot;}', {"a": "b&c"}, ("html-entities",)),
    ('{"a": NaN}', {"a": None}, ()),
])
def test_named_repair(raw: str, value: Any, repairs: tuple[str, ...]) -> None:
    parsed = _parse(raw)
    assert (parsed.value, parsed.repairs, parsed.error) == (value, repairs, None)


def test_entities_in_values_stay_when_quotes_are_plain() -> None:
    parsed = _parse('{"url": "https://x/?a=1&amp;b=2",}')
    assert parsed.value == {"url": "https://x/?a=1&amp;b=2"}
    assert parsed.repairs == ("trailing-comma",)


def test_curly_quotes_inside_values_are_kept() -> None:
    parsed = _parse('{“name”:”The “best” take”,”n”:1}')
    assert parsed.value == {"name": "The “best” take", "n": 1}


@pytest.mark.parametrize(("raw", "value"), [
    ('{"a": "b", "c": "cut of', {"a": "b", "c": "cut of"}),
    ('{"a": [1, 2', {"a": [1, 2]}),
    ('{"a": "b", "c":', {"a": "b"}),
    ('{"a": "b", "na', {"a": "b"}),
    ('{"a": {"b": "x\\', {"a": {"b": "x"}}),
    ('[{"a": 1}, {"b": "two\nlines', [{"a": 1}, {"b": "two\nlines"}]),
])
def test_truncated_blob_is_closed(raw: str, value: Any) -> None:
    parsed = _parse(raw)
    assert parsed.value == value
    assert parsed.partial and parsed.repairs[-1] == "truncated"


def test_truncated_texturized_blob_names_both_repairs() -> None:
    parsed = _parse('{“@type”:”VideoObject”,”name”:”Cut”,”description”:”stops he', Syntax.TEXT)
    assert parsed.value == {"@type": "VideoObject", "name": "Cut", "description": "stops he"}
    assert parsed.repairs == ("untexturize-quotes", "truncated") and parsed.partial


def test_stripped_backslashes_are_left_as_found_and_noted() -> None:
    parsed = _parse('{“a”:”one.nnTwo”,}', Syntax.TEXT)
    assert parsed.value == {"a": "one.nnTwo"}
    assert parsed.notes == ("stripped-backslashes",)


@pytest.mark.parametrize("raw", ['{“a”:”Jenny and Anna”,}', '{"a": "one.nnTwo",}',
                                 '{“a”:”Caf\\u00e9 one.nnTwo”,}'])
def test_no_stripped_backslash_note_without_evidence(raw: str) -> None:
    assert _parse(raw, Syntax.TEXT).notes == ()


def test_numbers_no_python_number_holds_are_kept_as_text() -> None:
    parsed = _parse('{"width": ' + "9" * 5000 + ', "height": 1e999, "d": 2.5}')
    assert parsed.value == {"width": "9" * 5000, "height": "1e999", "d": 2.5}
    assert parsed.error is None


@pytest.mark.parametrize(("raw", "message"), [
    ("", "empty"),
    ("   \n ", "empty"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 100_000, "nested too deeply"),
    ('{"a": ' * 50_000, "nested too deeply"),
    ("\x00\x01\x02\xff\ufffd binary", "not JSON"),
    ("<html><body>not json</body></html>", "not JSON"),
    ('{"a": 1, "b": }', "not JSON"),
], ids=["empty", "blank", "deep", "deep-open", "deep-objects", "binary", "html",
        "missing-value"])
def test_bad_input_gives_an_error_not_an_exception(raw: str, message: str) -> None:
    parsed = _parse(raw)
    assert parsed.value is None
    assert parsed.error is not None and message in parsed.error


def test_huge_blob_is_refused_before_parsing() -> None:
    raw = '{"@type": "VideoObject", "name": "' + "x" * (MAX_PARSE_CHARS + 10) + '"}'
    parsed = _parse(raw)
    assert parsed.value is None and parsed.error is not None and "too large" in parsed.error


@pytest.mark.parametrize("module", ["harvester.extract.repair", "harvester.extract.nodes",
                                    "harvester.extract.text", "harvester.extract.jsonld",
                                    "harvester.extract.charset"])
def test_module_imports_on_its_own(module: str) -> None:
    """No import cycle: each stage module can be the first one imported."""
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, check=False, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stderr


def test_long_number_behind_other_damage_is_named() -> None:
    parsed = _parse('{"a": 1,, "b": ' + "9" * 5000 + "}")
    assert parsed.value is None and parsed.error is not None and "number longer" in parsed.error


@pytest.mark.parametrize("text", ["", " ", "{}", " {}", "{} ", "\n[1, 2]\t", "{}x", "{} x",
                                  "nul", '"a"', "1 2"])
def test_the_decoder_answers_as_json_loads(text: str) -> None:
    from harvester.extract.repair import _DECODER

    try:
        expected: Any = ("value", json.loads(text))
    except json.JSONDecodeError as exc:
        expected = ("error", str(exc))
    try:
        got: Any = ("value", _DECODER.decode(text))
    except json.JSONDecodeError as exc:
        got = ("error", str(exc))
    assert got == expected
