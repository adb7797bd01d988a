"""WARC input: response records become pages; damaged records cost only themselves.

Every test runs with each reader, FastWARC (the default) and warcio (the fallback).
"""

from __future__ import annotations

import gzip as gzip_module
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from harvester.config import Config
from harvester.errors import ConfigError
from harvester.inputs.warc import READER_ENV, READERS, WarcReader, default_reader, iter_warc_pages
from harvester.pipeline.run import harvest
from harvester.records import Source, SourceKind
from tests.support.warcgen import GenPage, corpus_pages, warc_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "harvester" / "samples" / "pages"


@pytest.fixture(autouse=True, params=READERS)
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The reader every WARC file of the test is read with (through the environment,
    so that runs of the whole pipeline use it too)."""
    monkeypatch.setenv(READER_ENV, request.param)
    assert default_reader() == request.param
    yield request.param


def _sample_pages() -> list[GenPage]:
    base = "https://media.example"
    return [GenPage(url=f"https://news.example/{p.name}",
                    body=p.read_bytes().replace(b"{{BASE}}", base.encode()))
            for p in sorted(SAMPLES.glob("*.html"))]


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize("gzip", [True, False])
def test_response_records_become_pages_with_target_uri(tmp_path: Path, gzip: bool) -> None:
    pages = _sample_pages()
    path = _write(tmp_path, "s.warc.gz" if gzip else "s.warc", warc_bytes(pages, gzip=gzip))
    reader = WarcReader(path)
    got = list(reader.pages())
    assert [p.url for p in got] == [p.url for p in pages]
    assert [p.body for p in got] == [p.body for p in pages]
    assert [p.content_type for p in got] == [p.content_type for p in pages]
    assert all(p.status == 200 for p in got)
    assert reader.bad_records == 0


def test_non_html_records_are_skipped(tmp_path: Path) -> None:
    image = GenPage(url="https://news.example/a.jpg", body=b"\xff\xd8\xff",
                    content_type="image/jpeg")
    html = GenPage(url="https://news.example/a.html", body=b"<p>hello</p>")
    reader = WarcReader(_write(tmp_path, "mixed.warc.gz", warc_bytes([image, html])))
    assert [p.url for p in reader.pages()] == ["https://news.example/a.html"]
    assert reader.records == 2 and reader.bad_records == 0


def test_http_charset_is_honoured(tmp_path: Path) -> None:
    html = ('<html><head><script type="application/ld+json">{"@type": "VideoObject", '
            '"name": "Café à Zürich", "contentUrl": "https://m.example/v.mp4"}'
            "</script></head></html>").encode("iso-8859-1")
    page = GenPage(url="https://news.example/latin1.html", body=html,
                   content_type="text/html; charset=ISO-8859-1")
    path = _write(tmp_path, "latin1.warc.gz", warc_bytes([page]))
    manifest = harvest([path], Config(output=None))
    assert [v.declared.name for v in manifest.videos] == ["Café à Zürich"]
    assert manifest.videos[0].page == "https://news.example/latin1.html"


def test_harvest_finds_every_syntax_in_a_warc(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.warc.gz", warc_bytes(_sample_pages()))
    manifest = harvest([path], Config(output=None))
    syntaxes = {v.syntax.value for v in manifest.videos}
    assert {"json-ld", "text", "microdata", "opengraph"} <= syntaxes
    assert not manifest.failed


def _members(count: int) -> list[bytes]:
    pages = corpus_pages(count, min_size=3000, max_size=6000, video_every=4)
    return [warc_bytes([p]) for p in pages]


def _read(tmp_path: Path, data: bytes) -> tuple[list[str], WarcReader]:
    reader = WarcReader(_write(tmp_path, "bad.warc.gz", data))
    return [p.ref for p in reader.pages()], reader


def test_a_corrupt_gzip_member_costs_only_its_record(tmp_path: Path) -> None:
    members = _members(10)
    broken = bytearray(members[4])
    for i in range(len(broken) // 2, len(broken) // 2 + 64):
        broken[i] ^= 0xFF
    members[4] = bytes(broken)
    refs, reader = _read(tmp_path, b"".join(members))
    assert len(refs) == 9 and "article-4.html" not in " ".join(refs)
    assert reader.bad_records == 1
    assert "not a valid record" in reader.problems[0]


def test_garbage_between_records_is_counted_and_skipped(tmp_path: Path) -> None:
    members = _members(6)
    refs, reader = _read(tmp_path, b"".join(members[:3]) + b"junk\r\n" * 20
                         + b"".join(members[3:]))
    assert len(refs) == 6
    assert reader.bad_records == 1


def test_a_truncated_file_loses_only_its_last_record(tmp_path: Path) -> None:
    data = b"".join(_members(5))
    refs, reader = _read(tmp_path, data[:-1500])
    assert len(refs) == 4
    assert reader.bad_records == 1 and "incomplete" in reader.problems[0]
    refs, reader = _read(tmp_path, data[:-100])  # cut inside the last body
    assert len(refs) == 4
    assert reader.bad_records == 1 and "truncated" in reader.problems[0]


def test_uncompressed_record_with_wrong_length_is_counted(tmp_path: Path) -> None:
    pages = list(corpus_pages(6, min_size=3000, max_size=6000))
    members = [warc_bytes([p], gzip=False) for p in pages]
    members[2] = members[2][: len(members[2]) // 2]
    refs, reader = _read(tmp_path, b"".join(members))
    assert reader.bad_records >= 1
    assert len(refs) >= 4


def test_damage_is_reported_in_the_manifest_not_fatal(tmp_path: Path) -> None:
    members = _members(8)
    members[3] = members[3][:40] + b"\x00" * 200 + members[3][240:]
    path = _write(tmp_path, "bad.warc.gz", b"".join(members))
    manifest = harvest([path], Config(output=None))
    failed = [p for p in manifest.pages if p.error is not None]
    assert manifest.counts()["pages"] == 8  # 7 good pages plus the report of the lost record
    assert [p.error.code for p in failed if p.error] == ["warc_corrupt"]
    assert "1 WARC record(s)" in failed[0].error.message  # type: ignore[union-attr]


def test_missing_warc_is_a_clear_error(tmp_path: Path) -> None:
    source = Source(ref=str(tmp_path / "nope.warc.gz"), kind=SourceKind.WARC)
    with pytest.raises(Exception, match="cannot read WARC") as info:
        list(iter_warc_pages(source, Config()))
    assert getattr(info.value, "code", None) == "unreadable"


def test_oversized_records_are_skipped(tmp_path: Path) -> None:
    pages = list(corpus_pages(3, min_size=20_000, max_size=30_000))
    reader = WarcReader(_write(tmp_path, "big.warc.gz", warc_bytes(pages)), max_bytes=10_000)
    assert list(reader.pages()) == []
    assert reader.records == 3 and reader.bad_records == 0


def _record_bytes(records: list[tuple[str, str, bytes, list[tuple[str, str]] | None]],
                  gzip: bool = True) -> bytes:
    """A WARC of (uri, WARC-Type, payload, HTTP headers or None for a non-HTTP record)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip)
    for uri, kind, payload, headers in records:
        http = (StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
                if headers is not None else None)
        writer.write_record(writer.create_warc_record(
            uri, kind, payload=io.BytesIO(payload), length=len(payload), http_headers=http,
            warc_content_type=None if http else "text/html"))
    return buffer.getvalue()


def test_only_http_response_records_are_pages(tmp_path: Path) -> None:
    html = b"<html><p>hello</p></html>"
    records = [("https://a.example/resource", "resource", html, None),
               ("https://a.example/page", "response", html, [("Content-Type", "text/html")]),
               ("dns:a.example", "response", b"a.example. 300 IN A 10.0.0.1", None),
               ("https://a.example/req", "request", b"", [("Host", "a.example")]),
               ("https://a.example/page", "revisit", b"", [("Content-Type", "text/html")]),
               ("https://a.example/last", "response", html, [("Content-Type", "text/html")])]
    for gzip in (True, False):
        reader = WarcReader(_write(tmp_path, f"kinds-{gzip}.warc", _record_bytes(records, gzip)))
        assert [p.url for p in reader.pages()] == ["https://a.example/page",
                                                   "https://a.example/last"]
        assert reader.records == 2 and reader.bad_records == 0


def test_chunked_and_gzip_bodies_are_decoded(tmp_path: Path) -> None:
    html = b"<html>" + b"<p>harbour</p>" * 500 + b"</html>"
    packed = gzip_module.compress(html)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(packed[i:i + 100]), packed[i:i + 100])
                       for i in range(0, len(packed), 100)) + b"0\r\n\r\n"
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
               ("Transfer-Encoding", "chunked")]
    records = [("https://a.example/z", "response", chunked, headers),
               ("https://a.example/plain", "response", html, [("Content-Type", "text/html")])]
    reader = WarcReader(_write(tmp_path, "enc.warc.gz", _record_bytes(records)))
    pages = list(reader.pages())
    assert [p.body for p in pages] == [html, html]
    assert [p.status for p in pages] == [200, 200] and reader.bad_records == 0


@pytest.mark.parametrize("gzip", [True, False])
def test_every_cut_of_the_last_record_is_reported(tmp_path: Path, gzip: bool,
                                                  reader: str) -> None:
    """However a file is cut inside its last record, the records before it are pages;
    with FastWARC (which may stop without a word: the reader checks what is left) the
    cut is always reported, and a page is kept only when its body is whole.  warcio
    passes over a few cuts in silence."""
    data = warc_bytes(list(corpus_pages(3, min_size=2000, max_size=3000)), gzip=gzip)
    last = data.rfind(b"\x1f\x8b\x08") if gzip else data.rfind(b"WARC/1.")
    whole = b"".join(p.body for p in corpus_pages(3, min_size=2000, max_size=3000))
    for cut in range(last + 1, len(data), 7 if reader == "fastwarc" else 53):
        got = WarcReader(_write(tmp_path, "cut.warc", data[:cut]))
        pages = list(got.pages())
        assert [p.url for p in pages[:2]] == [
            f"https://news.example/{2025 + n % 2}/article-{n}.html" for n in range(2)]
        if reader == "fastwarc":
            assert got.bad_records == 1
            assert len(pages) == 2 or b"".join(p.body for p in pages) == whole


def test_remote_warc_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    memory = fsspec.filesystem("memory")
    pages = _sample_pages()
    memory.pipe_file("/crawls/s.warc.gz", warc_bytes(pages))
    reader = WarcReader("memory://crawls/s.warc.gz")
    assert [p.url for p in reader.pages()] == [p.url for p in pages]
    assert reader.bad_records == 0


def test_default_reader_is_fastwarc_and_unknown_names_are_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(READER_ENV)
    assert default_reader() == "fastwarc"
    monkeypatch.setenv(READER_ENV, "lynx")
    with pytest.raises(ConfigError, match=READER_ENV):
        default_reader()
