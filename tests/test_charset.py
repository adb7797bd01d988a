"""harvester.extract.charset: bytes to text as a browser decodes them, never raising."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harvester.extract import extract
from harvester.extract.charset import decode_html

LATIN1 = "Gebühren für große Städte".encode("latin-1")


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (codecs.BOM_UTF8 + "é".encode(), "text/html; charset=iso-8859-1", ("é", "utf-8")),
    (codecs.BOM_UTF16_LE + "é".encode("utf-16-le"), None, ("é", "utf-16-le")),
    (codecs.BOM_UTF16_BE + "é".encode("utf-16-be"), None, ("é", "utf-16-be")),
    ("é".encode(), "text/html; charset=UTF-8", ("é", "utf-8")),
    (b"caf\xe9", "text/html; charset=ISO-8859-1", ("café", "cp1252")),
    (b"caf\xe9", 'text/html; charset="latin1"', ("café", "cp1252")),
    (b"\x93quoted\x94", "text/html; charset=us-ascii", ("“quoted”", "cp1252")),
    (b"caf\xe9", "text/html", ("café", "cp1252")),
    ("é".encode(), None, ("é", "utf-8")),
    (b"\x81\x8d\x80", None, ("\x81\x8d€", "cp1252")),
    ("Привет".encode("koi8-r"), "text/html; charset=KOI8-R", ("Привет", "koi8-r")),
])
def test_decoding_order(body: bytes, content_type: str | None,
                        expected: tuple[str, str]) -> None:
    assert decode_html(body, content_type) == expected


@pytest.mark.parametrize("meta", [
    b'<meta charset="iso-8859-1">',
    b"<meta charset=windows-1252>",
    b"<META CHARSET='latin1'/>",
    b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />',
    b'<meta content="text/html; charset=ISO-8859-1" http-equiv="content-type">',
])
def test_meta_declarations(meta: bytes) -> None:
    body = b"<html><head>" + meta + b"</head><body>" + LATIN1 + b"</body></html>"
    text, encoding = decode_html(body, None)
    assert encoding == "cp1252" and "Gebühren für große Städte" in text


def test_http_header_wins_over_meta() -> None:
    body = b'<meta charset="iso-8859-1">' + "é".encode()
    assert decode_html(body, "text/html; charset=utf-8") == ('<meta charset="iso-8859-1">é',
                                                            "utf-8")


def test_meta_after_the_first_4_kb_is_ignored() -> None:
    body = b"<!--" + b"x" * 5000 + b'--><meta charset="koi8-r">' + "é".encode()
    assert decode_html(body, None)[1] == "utf-8"


@pytest.mark.parametrize("label", ["no-such-charset", "base64", "rot13", "zlib", ""])
def test_unknown_or_non_text_labels_are_skipped(label: str) -> None:
    body = f'<meta charset="{label}">'.encode() + "é".encode()
    assert decode_html(body, f"text/html; charset={label}")[1] == "utf-8"


def test_utf16_label_in_ascii_bytes_means_utf8() -> None:
    assert decode_html('<meta charset="utf-16">é'.encode(), None) == ('<meta charset="utf-16">é',
                                                                     "utf-8")


def test_declared_utf8_with_bad_bytes_gets_replacement_chars() -> None:
    assert decode_html(b"a\xffb", "text/html; charset=utf-8") == ("a\ufffdb", "utf-8")


def test_latin1_corpus_page_has_no_mojibake(shared_dir: Path) -> None:
    body = (shared_dir / "corpus" / "pages" / "winfuture-latin1.html").read_bytes()
    text, encoding = decode_html(body, None)
    assert encoding == "cp1252"
    assert "\ufffd" not in text and "Ã" not in text
    assert any(word in text for word in ("ä", "ö", "ü", "ß"))


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=2000), content_type=st.one_of(st.none(), st.text(max_size=60)))
def test_never_raises(body: bytes, content_type: str | None) -> None:
    text, encoding = decode_html(body, content_type)
    assert isinstance(text, str) and codecs.lookup(encoding)


WIDE_PAGE = ('<html><head><title>é</title></head><body><script type="application/ld+json">'
             '{"@type": "VideoObject", "name": "vidéo"}</script></body></html>')


@pytest.mark.parametrize(("codec", "label"), [
    ("utf-16-le", "utf-16"), ("utf-16-le", "UTF-16LE"), ("utf-16-be", "utf-16be"),
    ("utf-32-le", "utf-32"), ("utf-32-be", "UTF-32BE"),
])
def test_a_bomless_wide_page_is_read_by_its_http_charset(codec: str, label: str) -> None:
    body = WIDE_PAGE.encode(codec)
    text, used = decode_html(body, f"text/html; charset={label}")
    assert text == WIDE_PAGE and used == codec
    videos = extract(body, "https://e.org/", content_type=f"text/html; charset={label}")
    assert [v.data["name"] for v in videos] == ["vidéo"]


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_a_utf32_byte_order_mark_is_not_read_as_utf16(codec: str) -> None:
    bom = codecs.BOM_UTF32_LE if codec.endswith("le") else codecs.BOM_UTF32_BE
    assert decode_html(bom + WIDE_PAGE.encode(codec), None) == (WIDE_PAGE, codec)


def test_a_wide_http_charset_on_ascii_bytes_is_a_mislabel() -> None:
    assert decode_html(WIDE_PAGE.encode("utf-8"), "text/html; charset=utf-16") == (
        WIDE_PAGE, "utf-8")


def test_a_non_ascii_charset_label_is_ignored() -> None:
    assert decode_html(b"caf\xc3\xa9", "text/html; charset=utf\u0661\u0666")[1] == "utf-8"
