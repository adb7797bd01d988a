"""VideoObject JSON printed by WordPress: quotes inside strings, and damage past repair.

The cases in ``samples/wptexturize-cases.json`` were made by WordPress's own
``wptexturize()`` and ``wpautop()`` (``scripts/wptexturize_cases.php``); these
tests read them and need no PHP.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from harvester.extract import extract
from harvester.extract.repair import repair
from harvester.extract.requote import requote, salvage
from harvester.records import Blob, Parsed, Syntax, Video

CASES = json.loads((Path(__file__).parent / "samples" / "wptexturize-cases.json")
                   .read_text(encoding="utf-8"))
FORMS = ("html", "text")
REPAIR_NAME = re.compile(r"^[a-z0-9-]+$")
# What wptexturize does to prose, undone, so that a name can be compared with its source.
_PLAIN = str.maketrans({"“": '"', "”": '"', "″": '"', "„": '"', "‘": "'", "’": "'", "′": "'",
                        "—": "--", "–": "--", "…": "..."})


def _case_ids() -> list[tuple[dict[str, Any], str]]:
    return [(case, form) for case in CASES for form in FORMS]


def _video(case: dict[str, Any], form: str) -> Video:
    videos = [v for v in extract(case[form], "https://news.example.org/post")
              if v.data.get("@type") == "VideoObject"]
    assert len(videos) == 1, [v.data for v in videos]
    return videos[0]


def test_the_cases_are_wordpress_output() -> None:
    assert len(CASES) >= 8
    assert {c["id"] for c in CASES} >= {"quoted-words", "quote-before-comma", "corrupt-middle"}
    for case in CASES:
        assert "&#8220;" in case["html"] or "&#8221;" in case["html"]  # entities in HTML
        assert "”" in case["text"] and "&#" not in case["text"]  # characters in saved text
    assert any("<br />" in c["html"] for c in CASES)
    assert any("&#215;" in c["html"] for c in CASES)  # 1920x1080 -> 1920×1080
    assert any("nn" in c["text"] and "\\n" in c["source"] for c in CASES)  # \n -> n


@pytest.mark.parametrize(("case", "form"), _case_ids(),
                         ids=[f"{c['id']}-{f}" for c, f in _case_ids()])
def test_every_video_is_recovered(case: dict[str, Any], form: str) -> None:
    video = _video(case, form)
    expected = case["expected"]
    assert video.declared.content_url == expected.get("contentUrl")
    assert video.declared.embed_url == expected.get("embedUrl")
    assert video.data.get("duration") == expected.get("duration")
    assert video.declared.duration_s is not None
    assert str(video.data["name"]).translate(_PLAIN) == expected["name"]
    assert all(REPAIR_NAME.match(name) for name in video.repairs)
    for lost in case["lost"]:
        assert lost not in video.data


# The cases whose quotes the punctuation rule of untexturize-quotes misreads (the
# others keep their inner quotes typographic and away from , : { } [ ]).
NEED_STRUCTURE = {"quoted-words", "quote-before-comma", "quote-opens-value",
                  "quoted-key-lookalike", "pretty-printed", "corrupt-lost-colon"}


@pytest.mark.parametrize("form", FORMS)
def test_quotes_inside_values_are_named_and_the_blob_is_whole(form: str) -> None:
    for case in CASES:
        video = _video(case, form)
        assert video.partial == (case["id"] == "corrupt-middle"), case["id"]
        assert ("inner-quotes" in video.repairs) == (case["id"] in NEED_STRUCTURE), case["id"]


@pytest.mark.parametrize("form", FORMS)
def test_damage_past_repair_gives_a_partial_record_of_the_fields_around_it(form: str) -> None:
    case = next(c for c in CASES if c["id"] == "corrupt-middle")
    video = _video(case, form)
    assert video.partial and video.repairs[-1] == "salvaged-fields"
    source = json.loads(case["source"])
    kept = {k: v for k, v in source.items() if k not in case["lost"]}
    assert set(video.data) == set(kept)
    assert video.data["name"] == kept["name"]  # before the damage
    assert video.declared.duration_s == 72.0  # after it


def _parse(raw: str, syntax: Syntax = Syntax.JSON_LD) -> Parsed:
    return repair(Blob(page="p", syntax=syntax, offset=0, raw=raw))


@pytest.mark.parametrize(("raw", "value"), [
    ('{"a": "say "hi" now", "b": 1}', {"a": 'say "hi" now', "b": 1}),
    ('{"a": ""quoted" first", "b": [1]}', {"a": '"quoted" first', "b": [1]}),
    ('{"a": "yes", "no": or "maybe"", "b": 2}', {"a": 'yes", "no": or "maybe"', "b": 2}),
    ('{"a": ["x "y" z", "w"]}', {"a": ['x "y" z', "w"]}),
    ('{"a": "end "quote"", "b": {"c": "d"}}', {"a": 'end "quote"', "b": {"c": "d"}}),
])
def test_quotes_inside_strings_are_escaped(raw: str, value: Any) -> None:
    parsed = _parse(raw)
    assert (parsed.value, parsed.repairs, parsed.partial) == (value, ("inner-quotes",), False)


def test_typographic_quotes_inside_strings_are_kept_as_written() -> None:
    parsed = _parse('{“a”:”He said “yes”, then “no”.”,”b”:”Middleton. “}', Syntax.TEXT)
    assert parsed.value == {"a": "He said “yes”, then “no”.", "b": "Middleton. "}
    assert parsed.repairs == ("untexturize-quotes", "inner-quotes")


def test_a_cut_off_blob_with_inner_quotes_is_closed() -> None:
    parsed = _parse('{"a": "say "hi"", "b": "cut o')
    assert parsed.value == {"a": 'say "hi"', "b": "cut o"}
    assert parsed.partial and parsed.repairs == ("inner-quotes", "truncated")


def test_prose_after_the_object_is_left_out() -> None:
    parsed = _parse('{"a": "say "hi""}\nA caption, not JSON.', Syntax.TEXT)
    assert parsed.value == {"a": 'say "hi"'}


@pytest.mark.parametrize(("raw", "value"), [
    ('{"a": 1, "b": [1, 2}, "c": "x"}', {"a": 1, "c": "x"}),
    ('{"a": 1, "b" 2, "c": "x", "d": {"e": 1}}', {"a": 1, "c": "x", "d": {"e": 1}}),
    ('{"a": 1, "b": ], "a": 2, "c": true}', {"a": 1, "c": True}),
])
def test_fields_around_damage_are_salvaged(raw: str, value: Any) -> None:
    parsed = _parse(raw)
    assert (parsed.value, parsed.repairs, parsed.partial) == (value, ("salvaged-fields",), True)


@pytest.mark.parametrize("raw", ['{"a": 1, "b": }', '[1, }', '{"a": ]', "not json at all"])
def test_nothing_is_salvaged_without_fields_after_the_damage(raw: str) -> None:
    parsed = _parse(raw)
    assert parsed.value is None and parsed.error


def test_well_formed_json_is_left_alone_by_requote() -> None:
    text = '{"a": "x, \\"q\\"", "b": [1, "y"], "c": {"d": null}}'
    assert requote(text, curly=False) == (text, False)


def test_salvage_stops_within_its_budget() -> None:
    damaged = '{"a": 1, ' + '"b": [1}, ' * 50_000 + '"c": 2}'
    started = time.perf_counter()
    found = salvage(damaged, json.JSONDecoder().raw_decode)
    assert time.perf_counter() - started < 2.0
    assert found is None or found.get("a") == 1
