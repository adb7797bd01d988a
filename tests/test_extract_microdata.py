"""Microdata VideoObject finder: value rules, nesting, speed guard, real pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.extract.microdata import find_blobs
from harvester.records import Syntax

VIDEO = """<html><body><p>intro</p>
<div itemscope itemtype="http://schema.org/VideoObject" itemid="urn:v1">
  <meta itemprop="name" content="Fish &amp;amp; chips">
  <link itemprop="contentUrl" href="https://cdn.example.org/a.mp4">
  <img itemprop="thumbnailUrl" src="https://cdn.example.org/a.jpg">
  <span itemprop="duration" content="PT3M12S">03:12</span>
  <time itemprop="uploadDate" datetime="2024-05-01">May 1</time>
  <span itemprop="description">  two
     lines  </span>
  <meta itemprop="thumbnailURL" content="https://cdn.example.org/wrong-case.jpg">
  <span itemprop="thumbnail" itemscope itemtype="http://schema.org/ImageObject">
    <link itemprop="url" href="https://cdn.example.org/big.jpg">
    <meta itemprop="width" content="1280"><meta itemprop="height" content="720">
  </span>
  <meta itemprop="keywords" content="a"><meta itemprop="keywords" content="b">
  <meta itemprop="genre" content="news"><meta itemprop="genre" content="news">
</div></body></html>"""


def test_values_follow_the_microdata_rules() -> None:
    [blob] = find_blobs(VIDEO, "p")
    data = blob.data
    assert blob.syntax is Syntax.MICRODATA
    assert data["@type"] == "VideoObject"
    assert data["@id"] == "urn:v1"
    assert data["name"] == "Fish &amp; chips"  # attribute entities decoded once
    assert data["contentUrl"] == "https://cdn.example.org/a.mp4"
    assert data["thumbnailUrl"] == "https://cdn.example.org/a.jpg"
    assert data["duration"] == "PT3M12S"  # content= wins over the text
    assert data["uploadDate"] == "2024-05-01"
    assert data["description"] == "two lines"
    assert data["thumbnailURL"] == "https://cdn.example.org/wrong-case.jpg"  # kept as written
    assert data["keywords"] == ["a", "b"]
    assert data["genre"] == "news"  # identical repeats collapse


def test_nested_item_keeps_its_own_properties() -> None:
    [blob] = find_blobs(VIDEO, "p")
    assert blob.data["thumbnail"] == {
        "@type": "ImageObject", "url": "https://cdn.example.org/big.jpg",
        "width": "1280", "height": "720",
    }
    assert "width" not in blob.data and "url" not in blob.data


def test_offset_and_raw_point_at_the_item() -> None:
    [blob] = find_blobs(VIDEO, "p")
    assert VIDEO[blob.offset:].startswith('<div itemscope itemtype="http://schema.org/VideoObject"')
    assert blob.raw.startswith("<div") and "contentUrl" in blob.raw


def test_video_nested_in_a_recipe_and_itemref() -> None:
    page = """<div itemscope itemtype="https://schema.org/Recipe">
      <span itemprop="name">Cake</span>
      <div itemprop="video" itemscope itemtype="https://schema.org/VideoObject" itemref="d">
        <meta itemprop="name" content="How to bake"></div></div>
      <p id="d"><meta itemprop="duration" content="PT1M"></p>"""
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "How to bake"
    assert blob.data["duration"] == "PT1M"


def test_camel_case_attributes_on_the_html_element() -> None:
    page = ('<html itemScope="itemscope" itemType="https://schema.org/VideoObject">'
            '<head><meta itemprop="name" content="Whole page"></head></html>')
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "Whole page"


@pytest.mark.parametrize("page", [
    "<html><body>no structured data</body></html>",
    '<script type="application/ld+json">{"@type": "VideoObject"}</script>',
    '<div itemscope itemtype="https://schema.org/Recipe"><b itemprop="name">x</b></div>'
    "<p>VideoObject mentioned in text</p>",
    "",
])
def test_pages_without_a_microdata_video_yield_nothing(page: str) -> None:
    assert list(find_blobs(page, "p")) == []


def test_broken_markup_does_not_raise() -> None:
    page = ('<div itemscope itemtype="http://schema.org/VideoObject"><meta itemprop="name" '
            'content="a"><meta itemprop="embedHTML" href=\'<iframe src="x"&w="1"</iframe>\' />'
            '<span itemprop="duration">PT1M</div><?xml version="1.0" encoding="utf-8"?>\ud800')
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "a"


def test_dev_corpus_microdata_records(shared_dir: Path) -> None:
    corpus = shared_dir / "corpus"
    labels = json.loads((corpus / "expected-dev.json").read_text(encoding="utf-8"))
    for page in labels["pages"]:
        expected = [v for v in page["videos"] if v["syntax"] == "microdata"]
        text = (corpus / "pages" / page["file"]).read_bytes().decode("utf-8", "replace")
        found = [b.data for b in find_blobs(text, page["file"])]
        assert len(found) == len(expected), page["file"]
        for data, label in zip(found, expected, strict=True):
            for key in ("name", "contentUrl", "embedUrl", "duration", "uploadDate"):
                value = data.get(key)
                assert (value[0] if isinstance(value, list) else value) == label[key]


def test_item_in_a_script_string_or_comment_is_not_an_item() -> None:
    item = ('<div itemscope itemtype="http://schema.org/VideoObject">'
            '<meta itemprop="name" content="{}"></div>')
    page = (f"<script>var t = '{item.format('in script')}';</script>"
            f"<!-- {item.format('commented out')} -->{item.format('real')}")
    assert [b.data["name"] for b in find_blobs(page, "p")] == ["real"]


def test_each_of_two_nested_videos_is_read_whole() -> None:
    page = """<div itemscope itemtype="https://schema.org/VideoObject">
      <meta itemprop="name" content="outer">
      <div itemprop="hasPart" itemscope itemtype="https://schema.org/VideoObject">
        <meta itemprop="name" content="inner"></div>
      <meta itemprop="duration" content="PT2M"></div>
      <div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="name" content="3rd">
      """
    outer, inner, third = find_blobs(page, "p")
    assert (outer.data["name"], outer.data["duration"]) == ("outer", "PT2M")
    assert outer.data["hasPart"] == {"@type": "VideoObject", "name": "inner"}
    assert inner.data == {"@type": "VideoObject", "name": "inner"}
    assert page[inner.offset:].startswith('<div itemprop="hasPart"')
    assert third.data["name"] == "3rd"  # never closed: read to the end of the page


def test_an_item_closed_by_html_rules_ends_where_a_browser_ends_it() -> None:
    # A <div> start tag closes an open <p>: the duration after it is not the item's.
    page = ('<p itemscope itemtype="https://schema.org/VideoObject">'
            '<meta itemprop="name" content="a"><div><meta itemprop="duration" content="PT1M">'
            "</div>" + "<span>filler</span>" * 2000)
    [blob] = find_blobs(page, "p")
    assert blob.data == {"@type": "VideoObject", "name": "a"}


def test_a_long_item_is_read_to_its_end() -> None:
    filler = "<p>" + "words " * 50 + "</p>"
    page = ('<div itemscope itemtype="https://schema.org/VideoObject">' + filler * 2000
            + '<meta itemprop="name" content="after a long body"></div><div>next</div>')
    [blob] = find_blobs(page, "p")
    assert blob.data["name"] == "after a long body"


def test_an_item_bigger_than_a_megabyte_reads_the_same_and_keeps_its_markup_small() -> None:
    from harvester.extract import html
    from harvester.extract.microdata import _whole_page_blobs

    filler = "<p>Lorem <a href='/x'>ipsum</a> dolor sit amet.</p>\n" * 30_000
    page = ('<html><head></head><body itemscope itemtype="https://schema.org/VideoObject">'
            '<h1 itemprop="name">Big <b>one</b></h1>' + filler
            + '<div itemprop="description"><p>kept <i>whole</i></p>\n<p>text</p></div>'
            + '<span itemprop="thumbnail" itemscope itemtype="https://schema.org/ImageObject">'
            '<link itemprop="url" href="https://cdn.example.org/t.jpg"></span>'
            + filler + '<meta itemprop="duration" content="PT1M"></body></html>')
    assert len(page) > 2 * html.BIG_ITEM_CHARS
    [blob] = find_blobs(page, "p")
    [whole] = _whole_page_blobs(page, "p", [blob.offset])
    assert blob.data == whole.data
    assert blob.data["description"] == "kept whole text"
    assert blob.data["thumbnail"]["url"] == "https://cdn.example.org/t.jpg"
    assert len(blob.raw) < 2_000  # the filler between properties is not kept


@pytest.mark.parametrize("name", ["p\x00", "a\ud800", "a{b", "x}", 'a"b', "ä", "DIV"])
def test_odd_tag_names_never_raise(name: str) -> None:
    page = (f'<{name} itemscope itemtype="https://schema.org/VideoObject">'
            f'<meta itemprop="name" content="n"></{name}>')
    blobs = list(find_blobs(page, "p"))
    assert [b.data["name"] for b in blobs] == (["n"] if name == "DIV" else [])


def test_items_nested_thousands_deep_fall_back_to_one_parse_of_the_page() -> None:
    from harvester.extract.microdata import _whole_page_blobs

    depth = 1500
    page = ('<div itemscope itemtype="https://schema.org/VideoObject">'
            '<meta itemprop="name" content="x">' * depth + "</div>" * depth)
    found = list(find_blobs(page, "p"))
    # Reading each of 1,500 nested items from its own start would read the page
    # 750 times over: the budget sends it to the whole-page parse instead.
    whole = list(_whole_page_blobs(page, "p", [b.offset for b in found]))
    assert 0 < len(found) < depth
    assert [b.data for b in found] == [b.data for b in whole]
