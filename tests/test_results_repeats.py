"""A page seen twice is kept once, at its first place; a success replaces a failure."""

from __future__ import annotations

from harvester.extract import extract
from harvester.records import ErrorInfo, PageResult
from harvester.store.results import RunResults

PAGE = ('<script type="application/ld+json">{"@type": "VideoObject", "name": "v", '
        '"contentUrl": "https://x.org/v.mp4"}</script>')


def _ok(ref: str) -> PageResult:
    return PageResult(ref=ref, videos=tuple(extract(PAGE, ref)), status=200)


def _failed(ref: str) -> PageResult:
    return PageResult(ref=ref, error=ErrorInfo("http_error", "HTTP 500"))


def test_a_success_replaces_a_failure_in_its_place() -> None:
    results = RunResults(list_all=False)
    heard: list[str] = []
    results.listeners.append(lambda r: heard.append(r.ref))
    assert results.add(_failed("https://a/1"))
    assert results.add(_ok("https://a/2"))
    assert results.add(_ok("https://a/1"))  # the failure is replaced
    assert not results.add(_failed("https://a/1"))  # a failure never replaces a success
    assert not results.add(_ok("https://a/2"))  # nor a success a success
    pages = list(results.pages())
    assert [(p.ref, p.error is None, len(p.videos)) for p in pages] == [
        ("https://a/1", True, 1), ("https://a/2", True, 1)]
    assert heard == ["https://a/1", "https://a/2"]  # each heard of once, when first kept
    counts = results.counts()
    assert counts["pages"] == 5 and counts["videos"] == 2 and counts["pages_failed"] == 0
    assert [v["page"] for v in results.video_dicts()] == ["https://a/1", "https://a/2"]
    results.close()


def test_new_pages_after_a_repeat_keep_their_order() -> None:
    results = RunResults(list_all=True)
    for ref in ("https://a/1", "https://a/2", "https://a/1", "https://a/3"):
        results.add(PageResult(ref=ref, status=200))
    assert [p.ref for p in results.pages()] == ["https://a/1", "https://a/2", "https://a/3"]
    assert [e["page"] for e in results.page_entries()] == ["https://a/1", "https://a/2",
                                                           "https://a/3"]
    assert results.unlisted == 1
    results.close()
