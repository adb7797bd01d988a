"""The one-scan gate finds exactly what running every finder finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.extract import EXTRACTORS, find_all_blobs
from harvester.extract.jsonld import script_spans
from harvester.extract.markers import scan
from harvester.records import Blob

PAGES = [
    "",
    "<p>nothing here</p>",
    '<meta property="og:videoObject" content="x"><meta property="og:video" content="https://a/v">',
    '<script data-x="a+json" type="application/ld+json">{"@type": "VideoObject"}</script>',
    '<SCRIPT type=application/LD+JSON>{"@type": "VIDEOOBJECT", "name": "x"}</SCRIPT>',
    "x+json <p>a > b</p> <script type='application/ld+json'>{}</script> +json",
    '<div itemscope itemtype="https://schema.org/VideoObject"><meta itemprop="name" content="v">'
    '</div><p>{"@type": "VideoObject", "name": "t"}</p>',
    '<div typeof="schema:videoobject"><span property="name">r</span></div>',
]


def _every_finder(text: str) -> list[Blob]:
    return [blob for finder in EXTRACTORS.values() for blob in finder(text, "p")]


@pytest.mark.parametrize("page", PAGES)
def test_gate_keeps_every_blob(page: str) -> None:
    assert list(find_all_blobs(page, "p")) == _every_finder(page)


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
        text = path.read_bytes().decode("utf-8", "replace")
        assert list(find_all_blobs(text, "p")) == _every_finder(text), path.name
