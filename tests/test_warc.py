"""WARC input: response records become pages; damaged records cost only themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config import Config
from harvester.inputs.warc import WarcReader, iter_warc_pages
from harvester.pipeline.run import harvest
from harvester.records import Source, SourceKind
from tests.support.warcgen import GenPage, corpus_pages, warc_bytes

SAMPLES = Path(__file__).resolve().parent.parent / "harvester" / "samples" / "pages"


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
