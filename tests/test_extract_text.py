"""harvester.extract.text: VideoObject JSON pasted into visible text, texturized or not."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import pytest

from harvester.extract import candidates, extract, text
from harvester.extract.nodes import video_nodes
from harvester.extract.repair import repair
from harvester.records import Candidate, Syntax

FIXTURE = Path(__file__).parent / "samples" / "texturized-news-page.txt"
BLOB = re.compile(r"^\{“@context.*$", re.MULTILINE)

# What WordPress prints for the typographic characters of the fixture.
_ENTITIES = {"“": "&#8220;", "”": "&#8221;", "″": "&#8243;", "’": "&#8217;", "‘": "&#8216;",
             "–": "&#8211;"}


def _fixture() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _as_entities(line: str) -> str:
    escaped = html.escape(line, quote=False)
    return "".join(_ENTITIES.get(ch, ch) for ch in escaped)


def _pretty(line: str) -> str:
    """The blob pretty-printed, one property per line, joined by <br /> (wpautop)."""
    return re.sub(r",(?=&#8221;)", ",<br />\n", line).replace("{", "{<br />\n", 1)


def html_page(pretty: bool = False) -> str:
    """The fixture as a WordPress HTML page: paragraphs, entities, optionally <br /> lines."""
    paragraphs = []
    for para in _fixture().split("\n\n"):
        lines = [_pretty(_as_entities(ln)) if pretty and BLOB.match(ln) else _as_entities(ln)
                 for ln in para.split("\n")]
        paragraphs.append("<p>" + "<br />\n".join(lines) + "</p>")
    return ("<!DOCTYPE html><html><head><title>News</title></head><body><article>\n"
            + "\n".join(paragraphs) + "\n</article><footer>Footer</footer></body></html>")


def _cands(page: str) -> list[Candidate]:
    return [c for b in text.find_blobs(page, "p") for c in video_nodes(repair(b))]


def _check_three(cands: list[Candidate]) -> None:
    assert [c.blob.syntax for c in cands] == [Syntax.TEXT] * 3
    first, second, third = (c.data for c in cands)
    assert first["duration"] == "T1M30S" and second["duration"] == "T32S"
    assert first["contentUrl"].endswith("/480x270_MP4_8350744987245984723.mp4")
    assert second["contentUrl"].endswith("/480x270_MP4_2566267484713434011.mp4")
    assert (first["width"], first["height"]) == (480, 270)
    assert (second["width"], second["height"]) == (270, 480)  # as written, swapped on the page
    assert first["uploadDate"] == "2025-04-08T14:59:27+0100"
    assert second["thumbnailUrl"].endswith("96869909-0-image-a-146_1743674670701.jpg")
    assert "Russia’s side" in first["description"]
    assert "injured.nnPictures" in second["description"]  # stripped backslashes stay
    assert not cands[0].partial and not cands[1].partial
    assert "untexturize-quotes" in cands[0].repairs and "truncated" not in cands[0].repairs
    assert third["name"] == "Metro.co.uk" and third["duration"] == "T46S"
    assert third["thumbnailUrl"].endswith("95868773-0-image-a-4_1741184494193.jpg")
    assert third["uploadDate"] == "2025-03-05T14:21:27+0000"
    assert cands[2].partial and cands[2].repairs[-1] == "truncated"
    assert "untexturize-quotes" in cands[2].repairs


def test_fixture_gives_three_videos() -> None:
    cands = _cands(_fixture())
    _check_three(cands)
    assert [c.repairs for c in cands] == [("untexturize-quotes",), ("untexturize-quotes",),
                                         ("untexturize-quotes", "truncated")]
    assert cands[2].data["description"].endswith("after a closed trial.nnInvestigators")
    # "\n\n" lost its backslashes ("injured.nnPictures"): seen, named, left as found.
    assert [c.notes for c in cands] == [(), ("stripped-backslashes",), ("stripped-backslashes",)]


@pytest.mark.parametrize("pretty", [False, True], ids=["one-line", "pretty-br"])
def test_html_entity_page_gives_the_same_three(pretty: bool) -> None:
    page = html_page(pretty)
    assert "&#8220;@context&#8221;:&#8221;https://schema.org&#8221;" in page or pretty
    cands = _cands(page)
    _check_three(cands)
    plain = _cands(_fixture())
    assert [c.data for c in cands[:2]] == [c.data for c in plain[:2]]
    assert cands[0].repairs[:2] == (("html-tags", "html-entities") if pretty
                                    else ("html-entities", "untexturize-quotes"))
    # The cut-off blob stops at its paragraph's end, not at the footer.
    assert "Footer" not in cands[2].blob.raw and "</p>" not in cands[2].blob.raw


def test_raw_is_the_blob_as_found_with_its_offset() -> None:
    page = _fixture()
    blobs = list(text.find_blobs(page, "p"))
    assert [page[b.offset:b.offset + len(b.raw)] == b.raw for b in blobs] == [True] * 3
    assert blobs[0].raw.startswith("{“@context”") and blobs[0].raw.endswith("”width”:480}")


def test_extract_reports_the_fixture_through_the_pipeline() -> None:
    videos = extract(_fixture(), None, ref="texturized-news-page.txt")
    assert [(v.syntax, v.partial) for v in videos] == [
        (Syntax.TEXT, False), (Syntax.TEXT, False), (Syntax.TEXT, True)]
    assert videos[0].declared.duration_s == 90.0
    assert videos[2].declared.thumbnail_urls and videos[2].repairs[-1] == "truncated"


def test_ld_json_scripts_belong_to_jsonld_not_text() -> None:
    blob = '{"@context": "https://schema.org", "@type": "VideoObject", "name": "x"}'
    page = f'<script type="application/ld+json">{blob}</script><p>text</p>'
    assert list(text.find_blobs(page, "p")) == []
    assert [c.blob.syntax for c in candidates(page, "p")] == [Syntax.JSON_LD]


@pytest.mark.parametrize("page", [
    '<script>var v = {"@type": "VideoObject", "name": "in JavaScript"};</script>',
    '<div data-v=\'{"@type": "VideoObject", "name": "in an attribute"}\'></div>',
    '<!-- {"@type": "VideoObject", "name": "in a comment"} -->',
    '<style>/* {"@type": "VideoObject"} */</style>',
], ids=["script", "attribute", "comment", "style"])
def test_hidden_json_is_not_visible_text(page: str) -> None:
    assert list(text.find_blobs(page + "<p>after</p>", "p")) == []


def test_plain_json_in_text_and_other_objects() -> None:
    page = ('<p>Not a video: {"@type": "ImageObject", "name": "i"}.</p>'
            '<pre>{"@context": "https://schema.org", "@type": "VideoObject", '
            '"name": "in a code sample"}</pre>')
    cands = _cands(page)
    assert [c.data["name"] for c in cands] == ["in a code sample"] and cands[0].repairs == ()


def test_pages_without_videos_cost_one_substring_search() -> None:
    page = "<p>" + "{“a”: “b”} " * 200_000 + "</p>"
    start = time.perf_counter()
    assert list(text.find_blobs(page, "p")) == []
    assert time.perf_counter() - start < 0.05


def test_many_non_video_objects_stay_fast() -> None:
    page = "<p>VideoObject</p>" + "<p>{“a”: “b”}</p>\n" * 20_000
    start = time.perf_counter()
    assert list(text.find_blobs(page, "p")) == []
    assert time.perf_counter() - start < 2.0


def test_unterminated_blob_is_bounded() -> None:
    page = '{"@type": "VideoObject", "name": "' + "x" * (text.MAX_SCAN_CHARS * 2)
    blobs = list(text.find_blobs(page, "p"))
    assert len(blobs) == 1 and len(blobs[0].raw) <= text.MAX_SCAN_CHARS
    parsed = repair(blobs[0])
    assert parsed.partial and json.dumps(parsed.value)


def test_a_blob_inside_a_template_is_not_visible_text() -> None:
    page = ('<p>intro</p><template><p>{"@type": "VideoObject", "name": "t"}</p></template>'
            '<p>{"@type": "VideoObject", "name": "v"}</p>')
    assert [b.raw for b in text.find_blobs(page, "p")] == ['{"@type": "VideoObject", "name": "v"}']
