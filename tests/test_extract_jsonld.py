"""harvester.extract.jsonld: every ld+json script, found fast and without an HTML parser."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from harvester.extract import jsonld
from harvester.extract.nodes import video_nodes
from harvester.extract.repair import repair
from harvester.records import Blob, Parsed, Syntax

VIDEO = '{"@type": "VideoObject", "name": "v"}'


def _raws(page: str) -> list[str]:
    return [b.raw for b in jsonld.find_blobs(page, "p")]


@pytest.mark.parametrize("tag", [
    '<script type="application/ld+json">',
    "<script type='application/ld+json'>",
    "<script type=application/ld+json>",
    '<SCRIPT TYPE="APPLICATION/LD+JSON">',
    '<script id="x" class="y" type="application/ld+json" nonce="n">',
    '<script type="application/ld+json; charset=utf-8">',
    '<script\ntype = "application/ld+json"\n>',
    '<script data-type="x" type="application/ld+json" async>',
])
def test_script_tag_forms(tag: str) -> None:
    assert _raws(f"<head>{tag}{VIDEO}</script></head>") == [VIDEO]


@pytest.mark.parametrize("page", [
    f'<script type="text/javascript">{VIDEO}</script>',
    f'<script>{VIDEO}</script>',
    f'<script type="application/json">{VIDEO}</script>',
    f'<p>{VIDEO}</p>',
    '<script type="application/ld+json">  \n </script>',
    "",
])
def test_not_json_ld(page: str) -> None:
    assert _raws(page) == []


def test_blob_carries_offset_and_page() -> None:
    page = f'<html><script type="application/ld+json">{VIDEO}</script></html>'
    (blob,) = jsonld.find_blobs(page, "https://example.org/a")
    assert blob == Blob("https://example.org/a", Syntax.JSON_LD, page.index(VIDEO), VIDEO)
    assert page[blob.offset:blob.offset + len(blob.raw)] == blob.raw


def test_several_scripts_in_document_order() -> None:
    page = "".join(f'<script type="application/ld+json">{{"n": {i}}}</script><p>x</p>'
                   for i in range(5))
    assert _raws(page) == [f'{{"n": {i}}}' for i in range(5)]


def test_script_without_end_tag_runs_to_the_end() -> None:
    page = '<script type="application/ld+json">{"@type": "VideoObject", "name": "cut'
    (blob,) = jsonld.find_blobs(page, "p")
    (cand,) = video_nodes(repair(blob))
    assert cand.data == {"@type": "VideoObject", "name": "cut"} and cand.partial


def test_close_tag_in_any_case() -> None:
    assert _raws(f'<script type="application/ld+json">{VIDEO}</SCRIPT ><p>x</p>') == [VIDEO]


def test_page_without_json_ld_is_nearly_free() -> None:
    page = "<html>" + '<script src="a.js"></script><div class="x">text</div>\n' * 50_000
    start = time.perf_counter()
    for _ in range(10):
        assert _raws(page) == []
    assert (time.perf_counter() - start) / 10 < 0.05  # ~3 MB page


def test_fifty_megabyte_script_gives_an_error_not_a_hang() -> None:
    body = '{"@type": "VideoObject", "name": "' + "x" * (50 * 1024 * 1024) + '"}'
    page = f'<script type="application/ld+json">{body}</script>'
    tracemalloc.start()
    start = time.perf_counter()
    (blob,) = jsonld.find_blobs(page, "p")
    parsed = repair(blob)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert parsed.value is None and parsed.error is not None and "too large" in parsed.error
    assert list(video_nodes(parsed)) == []
    assert elapsed < 5 and peak < 200 * 1024 * 1024


def _nodes(value: object, partial: bool = False) -> list[tuple[str, bool]]:
    parsed = Parsed(Blob("p", Syntax.JSON_LD, 0, ""), value, partial=partial)
    return [(c.pointer, c.partial) for c in video_nodes(parsed)]


def test_pointers_are_escaped_json_pointers() -> None:
    value = {"a/b": {"@type": "VideoObject"}, "c~d": [{"@type": "VideoObject"}]}
    assert _nodes(value) == [("/a~1b", False), ("/c~0d/0", False)]


@pytest.mark.parametrize("value", [
    {"@type": 5}, {"@type": None}, {"@type": [None, 3]}, {"@type": {"@id": "VideoObject"}},
    {"type": ["ImageObject"]}, {"@type": "ImageObject", "type": "VideoObject"}, None, 7, "x",
])
def test_not_a_video_node(value: object) -> None:
    assert _nodes(value) == []


def test_hostile_nesting_is_bounded() -> None:
    deep: dict[str, object] = {"@type": "VideoObject"}
    for _ in range(10_000):
        deep = {"next": deep}
    assert _nodes(deep) == []  # past the depth cap: not looked into, and no crash
    shallow = {"a": {"b": {"@type": "VideoObject"}}}
    assert _nodes(shallow) == [("/a/b", False)]


def test_only_nodes_open_at_the_cut_are_partial() -> None:
    raw = ('{"@graph": [{"@type": "VideoObject", "name": "whole"}, {"@type": "VideoObject", '
           '"hasPart": {"@type": "VideoObject", "name": "inner"}, "description": "cut he')
    parsed = repair(Blob("p", Syntax.JSON_LD, 0, raw))
    assert [(c.pointer, c.partial) for c in video_nodes(parsed)] == [
        ("/@graph/0", False), ("/@graph/1", True), ("/@graph/1/hasPart", False)]
