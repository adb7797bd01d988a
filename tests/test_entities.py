"""Character references of any length: decoded as html.unescape does, never raising."""

from __future__ import annotations

import html

import pytest

from harvester.extract import extract
from harvester.extract.entities import unescape

LONG = "9" * 50_000  # far over the 4,300 digits Python reads into an int


@pytest.mark.parametrize("text", [
    "&#65;", "&#0000000000065;x", "&#1114111;", "&#11141110;", "&#x41;", "a &amp; b",
    "&#00000000;", "&#12345678901234567890;", "plain", "&#;", "&#65",
])
def test_unescape_answers_as_html_unescape(text: str) -> None:
    assert unescape(text) == html.unescape(text)


def test_a_reference_too_long_for_an_int_is_the_replacement_character() -> None:
    with pytest.raises(ValueError):
        html.unescape(f"&#{LONG};")
    assert unescape(f"a&#{LONG};b") == "a\ufffdb"
    assert unescape("&#" + "0" * 5000 + "65;") == "A"


def test_a_page_with_one_still_gives_its_video() -> None:
    text_blob = f'<p>{{"@type":"VideoObject","name":"x&#{LONG};","contentUrl":"https://e.org/v.mp4"}}</p>'
    og = (f'<meta property="og:video" content="https://e.org/v.mp4"/>'
          f'<meta property="og:title" content="t&#{LONG};"/>')
    for page in (text_blob, og):
        videos = extract(page.encode(), "https://e.org/p")
        assert [v.data.get("contentUrl") for v in videos] == ["https://e.org/v.mp4"]
