"""The video words of a page found in its bytes, then read in its text only near them,
are those a scan of the whole text finds; and the windowed walk back over tags gives
what a walk from tag to tag gives."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract import extract, rawtext
from harvester.extract.charset import decode_html
from harvester.extract.markers import byte_markers, scan, scan_near
from harvester.extract.opengraph import meta_tags

# Pieces a page is made of: the words scanned for, near-misses, and characters of
# every width (a two-byte, three-byte and four-byte UTF-8 character), plus bytes
# that are not UTF-8 (stray continuation bytes, a lead byte with nothing after).
_PIECES = [
    "VideoObject", "videoobject", "ideoObject", "og:video", "og:videoObject", "deo",
    "video", "og:vid", "og:v", "<script>", "</script>", "<meta property=og:video content=x>",
    "é", "€", "😀", " ", "<p>", "x" * 40,
]
_BAD_BYTES = [b"\x80", b"\xbf\xbf", b"\xe2\x82", b"\xf0\x9f", b"\xff", b"\xc3"]

pieces = st.lists(st.one_of(st.sampled_from(_PIECES).map(str.encode), st.sampled_from(_BAD_BYTES)),
                  max_size=60).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(pieces, st.sampled_from([None, "text/html; charset=utf-8",
                                "text/html; charset=windows-1252"]))
def test_scan_near_the_byte_hits_is_the_scan_of_the_text(body: bytes, content_type: str | None
                                                         ) -> None:
    text, encoding = decode_html(body, content_type)
    assert encoding in ("utf-8", "cp1252")
    assert scan_near(text, byte_markers(body), len(body) - len(text)) == scan(text)


@pytest.mark.parametrize("body", [b"ideoObject og:v", "ideoObject \u00e9 og:v".encode(),
                                  b"x" * 5000 + "\u00e9".encode() + b"VideoObject" * 3])
def test_scan_near_agrees_at_the_edges(body: bytes) -> None:
    text, _ = decode_html(body, None)
    assert scan_near(text, byte_markers(body), len(body) - len(text)) == scan(text)


def test_a_byte_order_mark_is_allowed_for() -> None:
    body = b"\xef\xbb\xbf" + "é😀 VideoObject og:video".encode()
    text, _ = decode_html(body, None)
    assert scan_near(text, byte_markers(body), len(body) - len(text)) == scan(text)


@pytest.mark.parametrize("content_type", ["text/html; charset=shift_jis",
                                          "text/html; charset=utf-16"])
def test_other_encodings_are_scanned_as_text(content_type: str) -> None:
    page = ('<script type="application/ld+json">{"@type": "VideoObject", "name": "動画", '
            '"contentUrl": "https://example.org/v.mp4"}</script>')
    codec = "shift_jis" if "shift_jis" in content_type else "utf-16-le"
    videos = extract(page.encode(codec), "https://example.org/", content_type=content_type)
    assert [v.data["name"] for v in videos] == ["動画"]
    assert videos[0].offset == page.index("{")


def test_offsets_are_characters_after_wide_characters() -> None:
    page = ("😀" * 1000 + '<script type="application/ld+json">{"@type": "VideoObject", '
            '"name": "x", "contentUrl": "https://example.org/v.mp4"}</script>')
    videos = extract(page.encode(), "https://example.org/")
    assert [v.offset for v in videos] == [page.index("{")]


def _walk_from_tag_to_tag(text: str, at: int, leads: frozenset[str], stop: int = 0
                          ) -> Iterator[int]:
    """tags_before as a walk over every "<", one step each: what the windowed walk must give."""
    pos = at
    for _ in range(rawtext.MAX_STEPS_BACK):
        start = text.rfind("<", stop, pos)
        if start < 0:
            return
        pos = start
        lead = text[start + 1:start + 3]
        if lead[:1] == "/":
            lead = text[start + 2:start + 4]
        if lead.lower() in leads:
            yield start
    yield rawtext.TOO_FAR


_TAG_PIECES = ["<", "</", "<sc", "<SC", "</Sc", "<st", "<te", "<TE", "<!-", "</!-", "<//sc",
               "<ſc", "<\u212ae", "<İe", "<s", "c", "<div>", "x", "é", " ", "<<sc"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_TAG_PIECES), max_size=80).map("".join),
       st.data(), st.sampled_from([3, 7, 5000]))
def test_the_windowed_walk_back_is_the_walk_from_tag_to_tag(
        text: str, data: st.DataObject, most: int) -> None:
    at = data.draw(st.integers(0, len(text)))
    stop = data.draw(st.integers(0, at))
    for leads in (frozenset({"sc"}), frozenset({"sc", "st", "te", "!-"})):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(rawtext, "MAX_STEPS_BACK", most)
            assert (list(rawtext.tags_before(text, at, leads, stop))
                    == list(_walk_from_tag_to_tag(text, at, leads, stop)))


def test_the_walk_back_crosses_many_windows() -> None:
    leads = frozenset({"sc"})
    for divs, last in ((400, 400 * 305), (2500, rawtext.TOO_FAR)):
        text = ("<div>" + "x" * 300) * divs + "<script>" + "<b>" * 3000 + "y"
        walked = list(rawtext.tags_before(text, len(text), leads))
        assert walked == list(_walk_from_tag_to_tag(text, len(text), leads))
        assert walked[-1] == last


def test_leads_the_regex_cannot_stand_for_are_refused() -> None:
    with pytest.raises(ValueError):
        list(rawtext.tags_before("<ki" * 20, 60, frozenset({"ki"})))


def test_meta_tags_mentioning_reads_the_tags_holding_a_word_in_any_case() -> None:
    page = ('<meta property="OG:Title" content="t"><meta name="viewport" content="w">'
            '<meta property="og:image" content="i"><meta name="x" content="og:VIDEO">')
    found = [(key, value) for _, key, value, _ in meta_tags(page, ("og:title", "og:video"))]
    assert found == [("og:title", "t"), ("x", "og:VIDEO")]
