"""PAGE arguments → Source records: URLs, files, directories, lists, stdin."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pytest

from harvester.errors import ConfigError
from harvester.inputs.sources import iter_sources
from harvester.records import Source, SourceKind


def refs(sources: object) -> list[tuple[str, SourceKind]]:
    return [(s.ref, s.kind) for s in sources]  # type: ignore[attr-defined]


def test_urls_and_other_schemes_are_url_sources() -> None:
    got = refs(iter_sources(["https://example.org/a", " http://example.org/b ", "ftp://x/y"]))
    assert got == [("https://example.org/a", SourceKind.URL),
                   ("http://example.org/b", SourceKind.URL),
                   ("ftp://x/y", SourceKind.URL)]  # fails later, alone, as bad_scheme


def test_files_and_archives_by_extension(tmp_path: Path) -> None:
    names = ["a.html", "b.WARC.GZ", "c.warc", "d.arc.gz", "e.data"]
    for name in names:
        (tmp_path / name).write_text("x")
    got = refs(iter_sources([str(tmp_path / n) for n in names]))
    assert [k for _, k in got] == [SourceKind.FILE, SourceKind.WARC, SourceKind.WARC,
                                   SourceKind.WARC, SourceKind.FILE]


def test_directory_walk_is_sorted_filtered_and_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b.html", "a.json", "z/c.htm", "m/d.jsonld", "m/e.png", ".hidden.html",
                ".git/f.html", "m/g.txt", "m/h.xhtml", "m/i.warc.gz"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    got = [os.path.relpath(r, tmp_path) for r, _ in refs(iter_sources([str(tmp_path)]))]
    assert got == ["a.json", "b.html", "m/d.jsonld", "m/g.txt", "m/h.xhtml", "m/i.warc.gz",
                   "z/c.htm"]


def test_duplicates_are_dropped_keeping_order(tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    page.write_text("x")
    got = refs(iter_sources(["https://x/1", str(page), "https://x/2", "https://x/1",
                             str(tmp_path / "." / "a.html"), str(tmp_path)]))
    assert got == [("https://x/1", SourceKind.URL), (str(page), SourceKind.FILE),
                   ("https://x/2", SourceKind.URL)]


def test_stdin_list_ignores_blanks_and_comments() -> None:
    stdin = io.StringIO("# pages\nhttps://x/1\n\n   \nhttps://x/2  \n#https://x/3\n")
    got = refs(iter_sources(["https://x/0", "-"], stdin=stdin))
    assert [r for r, _ in got] == ["https://x/0", "https://x/1", "https://x/2"]


def test_dash_without_stdin_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        iter_sources(["-"])
    assert info.value.exit_code == 2


def test_list_files_follow_arguments(tmp_path: Path) -> None:
    listing = tmp_path / "pages.txt"
    listing.write_text("\ufeffhttps://x/2\n# skip\nhttps://x/1\n", encoding="utf-8")
    got = refs(iter_sources(["https://x/1"], [str(listing)]))
    assert [r for r, _ in got] == ["https://x/1", "https://x/2"]


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_bad_list_file_fails_at_once(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "list.txt"
    if kind == "directory":
        target.mkdir()
    elif kind == "binary":
        target.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError) as info:
        iter_sources(["https://x/1"], [str(target)])  # raised before any iteration
    assert str(target) in info.value.message


def test_missing_path_is_yielded_for_a_per_page_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.html")
    assert list(iter_sources([missing])) == [Source(missing, SourceKind.FILE)]


def test_file_url_becomes_a_path(tmp_path: Path) -> None:
    page = tmp_path / "my page.html"
    page.write_text("x")
    got = refs(iter_sources([page.as_uri()]))
    assert got == [(str(page), SourceKind.FILE)]


def test_walk_keeps_gzipped_and_extensionless_html_pages(tmp_path: Path) -> None:
    (tmp_path / "a.html.gz").write_bytes(gzip.compress(b"<html></html>"))
    (tmp_path / "story").write_bytes(b"\xef\xbb\xbf  <!DOCTYPE html><html></html>")
    (tmp_path / "README").write_text("plain notes")
    (tmp_path / "b.shtml").write_text("<html></html>")
    found = [Path(s.ref).name for s in iter_sources([str(tmp_path)])]
    assert found == ["a.html.gz", "story"]


def test_glob_chooses_the_files_of_a_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.shtml").write_text("<html></html>")
    (tmp_path / "a.html").write_text("<html></html>")
    found = [Path(s.ref).name for s in iter_sources([str(tmp_path)], globs=("*.shtml",))]
    assert found == ["b.shtml"]
    below = [Path(s.ref).name for s in iter_sources([str(tmp_path)], globs=("sub/*",))]
    assert below == ["b.shtml"]


def test_warc_urls_of_any_scheme_are_warc_sources() -> None:
    got = refs(iter_sources(["s3://bucket/crawl/a.warc.gz", "https://x/b.WARC?sig=1",
                             "gs://b/c.arc.gz", "https://x/page.html", "s3://b/page.html"]))
    assert got == [("s3://bucket/crawl/a.warc.gz", SourceKind.WARC),
                   ("https://x/b.WARC?sig=1", SourceKind.WARC),
                   ("gs://b/c.arc.gz", SourceKind.WARC),
                   ("https://x/page.html", SourceKind.URL),
                   ("s3://b/page.html", SourceKind.URL)]  # fails alone, as bad_scheme


@pytest.mark.parametrize("prefix", ["s3://commoncrawl/", "s3://commoncrawl"])
def test_url_prefix_goes_before_relative_lines_of_lists(tmp_path: Path, prefix: str) -> None:
    listing = tmp_path / "warc.paths"
    listing.write_text("crawl-data/a.warc.gz\nhttps://x/b.warc.gz\n/data/c.warc.gz\n"
                       "# crawl-data/skipped.warc.gz\n")
    stdin = io.StringIO("crawl-data/d.warc.gz\n")
    got = refs(iter_sources(["crawl-data/typed.warc.gz", "-"], [str(listing)], stdin=stdin,
                            url_prefix=prefix))
    assert got == [("crawl-data/typed.warc.gz", SourceKind.WARC),  # an argument: as typed
                   ("s3://commoncrawl/crawl-data/d.warc.gz", SourceKind.WARC),
                   ("s3://commoncrawl/crawl-data/a.warc.gz", SourceKind.WARC),
                   ("https://x/b.warc.gz", SourceKind.WARC),
                   ("/data/c.warc.gz", SourceKind.WARC)]


def test_gzipped_list_with_a_local_prefix(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "crawl").mkdir()
    (tmp_path / "crawl" / "a.warc.gz").write_bytes(b"")
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(gzip.compress(b"crawl/a.warc.gz\ncrawl/a.html\n"))
    got = refs(iter_sources([], [str(listing)], url_prefix=str(tmp_path)))
    assert got == [(str(tmp_path / "crawl" / "a.warc.gz"), SourceKind.WARC),
                   (str(tmp_path / "crawl" / "a.html"), SourceKind.FILE)]


def test_a_list_that_is_not_gzip_after_all_is_a_config_error(tmp_path: Path) -> None:
    listing = tmp_path / "warc.paths.gz"
    listing.write_bytes(b"\x1f\x8b\x08 not really gzip")
    with pytest.raises(ConfigError, match="not valid gzip"):
        iter_sources([], [str(listing)])
