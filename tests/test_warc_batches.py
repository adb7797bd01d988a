"""A WARC file's pages that may name a video are extracted in batches: the results are
those of extracting page by page, in the pages' order, however the batches fall."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.config import Config
from harvester.inputs.warc import WarcReader
from harvester.net.client import open_session
from harvester.pipeline import batches, run
from harvester.pipeline.run import process_page
from harvester.records import Page, PageResult, Source, SourceKind
from tests.support.warcgen import GenPage, web_pages, write_warc


def _pages(count: int, video_every: int) -> list[GenPage]:
    return list(web_pages(count, video_every=video_every, min_size=2000, max_size=4000))


def _warc(tmp_path: Path, pages: list[GenPage]) -> str:
    path = tmp_path / "batch.warc.gz"
    write_warc(path, pages)
    return str(path)


def _results(path: str, config: Config) -> list[PageResult]:
    return list(run._warc_results(Source(ref=path, kind=SourceKind.WARC), config, None))


def _page_by_page(path: str, config: Config) -> list[PageResult]:
    return [process_page(page, config) for page in WarcReader(path).pages()]


@pytest.mark.parametrize(("batch_pages", "batch_bytes", "span"), [
    (16, 8 << 20, 256),  # as shipped
    (1, 8 << 20, 256),   # each page alone
    (3, 8 << 20, 5),     # batches cut by the pages read after the first
    (50, 9000, 256),     # batches cut by their size
])
def test_the_results_are_those_of_page_by_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               batch_pages: int, batch_bytes: int,
                                               span: int) -> None:
    monkeypatch.setattr(batches, "BATCH_PAGES", batch_pages)
    monkeypatch.setattr(batches, "BATCH_BYTES", batch_bytes)
    monkeypatch.setattr(batches, "BATCH_SPAN", span)
    pages = _pages(120, video_every=4)
    path = _warc(tmp_path, pages)
    config = Config()
    got = _results(path, config)
    assert got == _page_by_page(path, config)
    assert [r.ref for r in got] == [p.url for p in pages]
    assert sum(len(r.videos) for r in got) == sum(p.videos for p in pages) == 30


def test_a_page_with_a_video_waits_no_longer_than_the_span(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # one video page, then many without: its result comes before the file is read through
    monkeypatch.setattr(batches, "BATCH_SPAN", 10)
    pages = _pages(40, video_every=1000)  # the page with a video is the 500th: none here
    video = next(web_pages(1, video_every=1, host="https://v.example"))
    assert video.videos == 1
    path = _warc(tmp_path, [video, *pages])
    read: list[int] = []
    real = run.iter_warc_pages

    def counting(*args: object, **kwargs: object) -> Iterator[object]:
        for n, page in enumerate(real(*args, **kwargs), 1):  # type: ignore[arg-type]
            read.append(n)
            yield page

    monkeypatch.setattr(run, "iter_warc_pages", counting)
    results = run._warc_results(Source(ref=path, kind=SourceKind.WARC), Config(), None)
    first = next(results)
    assert len(first.videos) == 1
    assert len(read) == 10  # the batch was cut after ten pages, not at the end of the file
    assert len(list(results)) == 40


def test_pages_waiting_are_reported_before_the_damage(tmp_path: Path) -> None:
    pages = _pages(12, video_every=3)
    path = tmp_path / "cut.warc.gz"
    write_warc(path, pages)
    data = path.read_bytes()
    path.write_bytes(data[:-100])  # the last record cut short
    got = _results(str(path), Config())
    assert [r.ref for r in got[:-1]] == [p.url for p in pages[:-1]]
    assert sum(len(r.videos) for r in got) == sum(p.videos for p in pages[:-1])
    assert got[-1].error is not None and got[-1].error.code == "warc_corrupt"


@pytest.mark.parametrize("stop_at", [3, 7, 30])
def test_a_stopped_run_extracts_no_page_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            stop_at: int) -> None:
    monkeypatch.setattr(batches, "BATCH_PAGES", 4)
    pages = _pages(40, video_every=2)
    path = _warc(tmp_path, pages)
    cancel = threading.Event()
    real_read, real_process = run.iter_warc_pages, run.process_page
    extracted: list[str] = []

    def stopping(*args: object, **kwargs: object) -> Iterator[object]:
        for n, page in enumerate(real_read(*args, **kwargs), 1):  # type: ignore[arg-type]
            if n == stop_at:
                cancel.set()  # asked to stop while this page is read
            yield page

    def counting(page: Page, config: Config) -> PageResult:
        extracted.append(page.ref)
        return real_process(page, config)

    monkeypatch.setattr(run, "iter_warc_pages", stopping)
    monkeypatch.setattr(run, "process_page", counting)
    config = Config()
    session = open_session(config, cancel)
    try:
        got = list(run._warc_results(Source(ref=path, kind=SourceKind.WARC), config, session))
    finally:
        session.close()
    # the pages before the stop, in order and without a gap, each with its videos
    assert [r.ref for r in got] == [p.url for p in pages[:len(got)]]
    assert [len(r.videos) for r in got] == [p.videos for p in pages[:len(got)]]
    assert len(got) < stop_at
    # every page extracted was read before the stop, and is reported
    assert set(extracted) <= {r.ref for r in got}
    # whole batches of four pages with a video (of eight pages) came out before it
    assert len(got) >= (stop_at - 1) // 8 * 8


def test_a_scan_that_fails_costs_only_its_page(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pages = _pages(6, video_every=2)
    path = _warc(tmp_path, pages)

    def broken(body: bytes, content_type: str | None = None) -> bool:
        raise RuntimeError("scan bug")

    monkeypatch.setattr(run, "may_name_a_video", broken)
    got = _results(path, Config())
    assert [r.ref for r in got] == [p.url for p in pages]  # every page still has its result
    assert sum(len(r.videos) for r in got) == 3  # extracted, as pages that may hold one
