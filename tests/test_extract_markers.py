"""The one-scan gate finds exactly the VideoObjects running every finder finds."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from harvester.extract import (
    extract,
    find_all_blobs,
    jsonld,
    may_name_a_video,
    microdata,
    opengraph,
    rdfa,
    text,
)
from harvester.extract.jsonld import script_spans
from harvester.extract.markers import scan
from harvester.extract.nodes import video_nodes
from harvester.extract.repair import repair
from harvester.records import Blob

PAGES = [
    "",
    "<p>nothing here</p>",
    '<meta property="og:videoObject" content="x"><meta property="og:video" content="https://a/v">',
    '<script data-x="a+json" type="application/ld+json">{"@type": "VideoObject"}</script>',
    '<SCRIPT type=application/LD+JSON>{"@type": "videoObject", "name": "x"}</SCRIPT>',
    '<script type="application/ld+json">[{"@type": "WebPage"}, {"@type": "Videoobject"}]'
    '</script><script type="application/ld+json">{"@type": "NewsArticle"}</script>',
    '<script type="application/ld+json">{"@type": "VideoObject"</script>',
    "x+json <p>a > b</p> <script type='application/ld+json'>{}</script> +json",
    '<div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="name" content="v">'
    '</div><p>{"@type": "VideoObject", "name": "t"}</p>',
    '<div typeof="schema:videoobject"><span property="name">r</span></div>',
]


# Each syntax's finder on the whole page, in the gate's order: what the gate must equal.
FINDERS = (jsonld.find_blobs, text.find_blobs, microdata.find_blobs, rdfa.find_blobs,
           opengraph.find_blobs)


def _every_finder(page: str) -> list[tuple[str, int, str, Any]]:
    return _videos(blob for finder in FINDERS for blob in finder(page, "p"))


def _gate(page: str) -> list[tuple[str, int, str, Any]]:
    return _videos(find_all_blobs(page, "p"))


def _videos(blobs: Iterable[Blob]) -> list[tuple[str, int, str, Any]]:
    return [(c.blob.syntax.value, c.blob.offset, c.pointer, c.data)
            for blob in blobs for c in video_nodes(repair(blob))]


@pytest.mark.parametrize("page", PAGES)
def test_gate_keeps_every_video(page: str) -> None:
    assert _gate(page) == _every_finder(page)


def test_gate_skips_scripts_without_a_video() -> None:
    page = ('<script type="application/ld+json">{"@type": "NewsArticle"}</script>'
            '<script type="application/ld+json">{"@type": "VideoObject", "name": "v"}</script>')
    [blob] = find_all_blobs(page, "p")
    assert blob.raw == '{"@type": "VideoObject", "name": "v"}'


def test_only_the_spellings_the_scan_knows_are_read() -> None:
    # The type is recognised as VideoObject, videoObject or videoobject (in any IRI
    # form): an all-capitals VIDEOOBJECT is not a type any consumer reads.
    page = '<script type="application/ld+json">{"@type": "VIDEOOBJECT"}</script>'
    assert list(find_all_blobs(page, "p")) == []


def test_markers_spell_as_the_finders_did() -> None:
    markers = scan("og:videoObject videoobject VideoObject")
    assert markers.og_video
    assert markers.video == (4, 16, 28)
    assert markers.exact("og:videoObject videoobject VideoObject") == [4, 28]
    assert scan("video og:vide").video == ()
    assert not scan("video og:vide").og_video


def test_script_spans_any_attribute_order() -> None:
    page = '<script async type="application/ld+json" id=a>{}</script><script>+json</script>'
    assert list(script_spans(page)) == [(46, 48)]


def test_corpus_pages_agree(shared_dir: Path) -> None:
    pages = sorted((shared_dir / "corpus" / "pages").glob("*.htm*"))
    assert pages
    for path in pages:
        page = path.read_bytes().decode("utf-8", "replace")
        assert _gate(page) == _every_finder(page), path.name


VIDEO_PAGE = ('<html><head><meta charset="utf-8"></head><body><script type="application/ld+json">'
              '{"@type": "VideoObject", "name": "Café", "contentUrl": "https://x.org/v.mp4"}'
              "</script></body></html>")


@pytest.mark.parametrize(("body", "content_type"), [
    (VIDEO_PAGE.encode("utf-8"), None),
    (VIDEO_PAGE.replace("utf-8", "windows-1252").encode("cp1252"), None),
    (codecs.BOM_UTF16_LE + VIDEO_PAGE.encode("utf-16-le"), None),  # ASCII is not ASCII here
    (VIDEO_PAGE.replace('<meta charset="utf-8">', "").encode("cp037"), "text/html; charset=cp037"),
])
def test_bytes_are_read_whatever_the_encoding(body: bytes, content_type: str | None) -> None:
    [video] = extract(body, "https://x.org/a", content_type=content_type)
    assert video.declared.name == "Café"


def test_a_page_without_a_video_word_is_not_even_decoded() -> None:
    body = b"<html><body>" + b"<p>no structured data \xff\xfe here</p>" * 10_000 + b"</body></html>"
    assert not may_name_a_video(body)
    assert extract(body, "https://x.org/a") == []
    assert may_name_a_video(b'<meta property="og:video" content="x">')
    assert may_name_a_video("<p>x</p>".encode("utf-16"))  # cannot tell from the bytes


def test_scripts_found_by_looking_back_match_a_full_scan(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from harvester.extract import jsonld, rawtext

    page = ('<script type="application/ld+json"><!--\n{"@type": "VideoObject"}\n--></script>'
            + "<div><p>x</p></div>" * 100
            + "<script>var t = 'VideoObject';</script>"
            + '<SCRIPT TYPE="application/ld+json">[{"@type": "videoObject"}]</SCRIPT>'
            + '<p>VideoObject in text</p>'
            # a mention in the opening tag itself, then one in the body of that script
            + '<script type="application/ld+json" data-kind="VideoObject">'
              '{"@type": "VideoObject"}</script><p>VideoObject after it</p>')
    offsets = scan(page).video
    near = jsonld.enclosing_script_spans(page, offsets)
    monkeypatch.setattr(rawtext, "MAX_STEPS_BACK", 2)  # too many tags: the full scan answers
    far = jsonld.enclosing_script_spans(page, offsets)
    assert near == far == list(script_spans(page))
    assert len(near) == 3


def test_item_type_mentions_are_not_mistaken_for_script_content() -> None:
    page = ('<div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="name" '
            'content="md"></div>'
            '<script type="application/ld+json">{"description": "a < b", '
            '"embed": "<div itemtype=\\"https://schema.org/VideoObject\\">", '
            '"@type": "VideoObject", "name": "ld"}</script>')
    assert [(c[0], c[3].get("name")) for c in _gate(page)] == [("json-ld", "ld"),
                                                              ("microdata", "md")]
    assert _gate(page) == _every_finder(page)
