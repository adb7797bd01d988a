"""The byte scan answers exactly what the one regular expression answers, by any path."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract import markers
from harvester.extract.markers import scan_bytes

# The reference: the words scan() looks for, as one regular expression.
REFERENCE = re.compile(rb"ideo[oO]bject|og:video")

PIECES = [b"j", b"J", b"ideo", b"Object", b"object", b"OBJECT", b"og:", b"video", b"v", b"V",
          b"\x00", b"x", b"bject", b"ideoObjec", b"g:video", b"og:vide", b"\xff", b"\n",
          b"o", b"oObject", b"oobject", b"ide", b"de"]


def _expected(body: bytes) -> bool:
    return REFERENCE.search(body) is not None


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=60))
def test_same_answer_as_the_reference(pieces: list[bytes]) -> None:
    body = b"".join(pieces)
    assert scan_bytes(body) is _expected(body)


@pytest.mark.parametrize("word", [b"VideoObject", b"videoobject", b"Videoobject", b"og:video"])
@pytest.mark.parametrize("js", [0, 3, markers._J_CHECKS - 1, markers._J_CHECKS,
                                markers._J_CHECKS + 1, 500])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_found_wherever_it_is_and_however_many_js_come_first(word: bytes, js: int,
                                                            where: str) -> None:
    filler = b"<p>a jar of jam</p>" * js + b"<div>nothing</div>" * 100
    body = {"start": word + filler, "middle": filler + word + filler, "end": filler + word}[where]
    assert scan_bytes(body)
    assert not scan_bytes(body.replace(word, word[:-1] + b"_"))


@pytest.mark.parametrize("body", [b"", b"j", b"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjj", b"ideoObjec",
                                  b"og:vide", b"IDEOOBJECT og:VIDEO", b"\x00" * 100])
def test_nothing_found_where_nothing_is(body: bytes) -> None:
    assert not scan_bytes(body)


def test_without_the_c_library_the_regular_expression_answers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(markers, "_libc", None)
    assert scan_bytes(b"x" * 1000 + b"og:video")
    assert scan_bytes(b"j" * 1000 + b"videoObject")
    assert not scan_bytes(b"j" * 1000 + b"video object og:vide")


def test_the_c_library_searches_are_found_on_linux() -> None:
    import sys

    if sys.platform.startswith("linux"):
        assert markers._libc is not None


@pytest.mark.parametrize("word", [b"VideoObject", b"videoobject", b"og:video"])
@pytest.mark.parametrize("nul", ["before", "after"])
@pytest.mark.parametrize("js", [0, 40])
def test_a_nul_byte_does_not_end_the_search(word: bytes, nul: str, js: int) -> None:
    # C string searches stop at a NUL: the word after one is found all the same
    filler = b"<p>a jar</p>" * js + b"<p>x</p>" * 50
    body = filler + word + filler + b"\x00" + filler if nul == "after" else (
        filler + b"\x00" + filler + word + filler)
    assert scan_bytes(body)
    assert not scan_bytes(body.replace(word, b"nothing"))


TEXT_PIECES = [p.decode("latin-1") for p in PIECES] + ["é", "“", "og:videoObject", "\x00"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TEXT_PIECES), max_size=60))
def test_markers_of_text_are_those_of_the_regular_expression(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert markers.scan(text) == markers.scan_regex(text)


@pytest.mark.parametrize("js", [0, markers._J_CHECKS - 1, markers._J_CHECKS, markers._J_CHECKS + 1])
def test_markers_of_text_with_many_js(js: int) -> None:
    text = ("og:video VideoObject " + "<p>jam</p>" * js + " videoobject og:videoObject"
            + " og:video" * 3)
    found = markers.scan(text)
    assert found == markers.scan_regex(text)
    assert len(found.video) == 3 and len(found.og_video_at) == 5


@pytest.mark.shared
def test_markers_of_corpus_pages(shared_dir: Path) -> None:
    pages = sorted((shared_dir / "corpus" / "pages").glob("*.htm*"))
    assert pages
    for path in pages:
        text = path.read_bytes().decode("utf-8", "replace")
        assert markers.scan(text) == markers.scan_regex(text), path.name
        ascii_text = text.encode("ascii", "replace").decode("ascii")  # the fast way
        assert markers.scan(ascii_text) == markers.scan_regex(ascii_text), path.name


def _regex_byte_markers(body: bytes) -> markers.Markers:
    video: list[int] = []
    og_video: list[int] = []
    markers._collect(body, markers._BYTE_MARKER.finditer(body), b"og:v", video, og_video)
    return markers.Markers(tuple(video), tuple(og_video))


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=80))
def test_byte_offsets_are_the_regular_expressions(pieces: list[bytes]) -> None:
    body = b"".join(pieces)
    assert markers.byte_markers(body) == _regex_byte_markers(body)


def test_byte_offsets_with_many_js_and_without_the_c_library(
        monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"j" * (markers._J_CHECKS + 1) + b"og:videoObject \xc3\xa9 videoobject"
    expected = _regex_byte_markers(body)
    assert expected.video and expected.og_video
    assert markers.byte_markers(body) == expected
    monkeypatch.setattr(markers, "_libc", None)
    assert markers.byte_markers(body) == expected


@pytest.mark.parametrize("lead", [b"", b"e", b"de", b"xde", b"ide", b"vide", b"Vide"])
@pytest.mark.parametrize("js", [0, markers._J_CHECKS + 1])
def test_a_tail_of_the_word_counts_only_after_its_lead(lead: bytes, js: int) -> None:
    # The whole-word searches look for "oObject"/"oobject" and then read the three
    # bytes before: a tail at the page's start or after another lead is no word.
    for tail in (b"oObject", b"oobject"):
        body = lead + tail + b" " + b"j" * js + b" " + lead + tail
        expected = _regex_byte_markers(body)
        assert len(expected.video) == (2 if lead.endswith(b"ide") else 0)
        assert markers.byte_markers(body) == expected
        assert scan_bytes(body) is bool(expected.video)


@pytest.mark.parametrize("text", ["ideoObject\x80og:v", "VideoObject og:v", "ideoObject og:v"])
def test_a_word_at_the_start_is_no_og_video_at_the_end(text: str) -> None:
    expected = markers.Markers(video=(text.index("ideo"),), og_video_at=())
    assert markers.scan_regex(text) == expected
    assert markers.scan(text) == expected
    assert markers.byte_markers(text.encode("utf-8")).og_video_at == ()


def test_a_buffer_address_is_the_one_ctypes_gives() -> None:
    libc = markers._libc
    if libc is None:
        pytest.skip("no C library searches on this platform")
    for body in (b"x", b"j" * 1000, bytes(100_000), "é".encode() * 5000):
        assert libc.address(body) == libc.cast_address(body)
