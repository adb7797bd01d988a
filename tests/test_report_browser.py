"""The report in a real headless browser: no console errors, one card per video,
working filters, and a page name carrying ``<script>`` that does not run.

Drives Debian's /usr/bin/chromium through playwright (no browser download);
skips with a reason when either is missing.  Every request the page makes is
checked: only file:// and the loopback test server are allowed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.store.report import write_report
from tests.support.server import LoopbackServer
from tests.test_report import HOSTILE, sample_manifest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SAMPLE_JPG = Path(__file__).resolve().parent.parent / "harvester/samples/media/harbour-evening.jpg"

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 900})
        finally:
            browser.close()


@pytest.fixture
def report_file(tmp_path: Path, http_server: LoopbackServer) -> Path:
    """A report whose one local thumbnail exists and whose remote one is on loopback."""
    http_server.route("/t.jpg", body=SAMPLE_JPG.read_bytes(), content_type="image/jpeg")
    local = tmp_path / "dl" / "media" / "good.jpg"
    local.parent.mkdir(parents=True)
    shutil.copy(SAMPLE_JPG, local)
    target = tmp_path / "report" / "report.html"
    write_report(sample_manifest(thumb_url=http_server.url("/t.jpg")), target,
                 download_dir=tmp_path / "dl")
    return target


def _visible_ids(page: Any) -> list[str]:
    ids = page.eval_on_selector_all("article.card:not([hidden])", "els => els.map(e => e.id)")
    return list(ids)


def test_report_in_headless_chromium(browser_page: Any, report_file: Path, tmp_path: Path) -> None:
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    strangers: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file://", "http://127.0.0.1:", "data:")):
            route.continue_()
        else:
            strangers.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto(report_file.as_uri(), wait_until="load")
    # Poll from the test side: wait_for_function would eval() inside the page, which the
    # report's Content-Security-Policy rightly forbids.
    for _ in range(100):
        if page.evaluate("[...document.images].every(i => i.complete)"):
            break
        page.wait_for_timeout(50)

    assert len(_visible_ids(page)) == 4
    assert page.text_content("#shown") == "showing 4 of 4"
    images = page.eval_on_selector_all(".thumb img", "els => els.map(e => e.naturalWidth)")
    assert len(images) == 1 and all(w > 0 for w in images)  # the downloaded file only
    assert strangers == []

    page.click("button[data-select='finding=mismatch']")  # a count tile filters the gallery
    assert _visible_ids(page) == ["v-bbbb000000000002"]
    page.click("button[data-select='reset']")
    assert len(_visible_ids(page)) == 4

    page.select_option("#filter-status", "failed")
    assert _visible_ids(page) == ["v-cccc000000000003"]
    page.select_option("#filter-status", "")
    page.select_option("#filter-finding", "mismatch")
    assert _visible_ids(page) == ["v-bbbb000000000002"]
    page.select_option("#filter-finding", "")
    page.select_option("#filter-syntax", "json-ld")
    assert len(_visible_ids(page)) == 2
    page.fill("#filter-q", "lighthouse")
    assert _visible_ids(page) == ["v-bbbb000000000002"]
    page.select_option("#filter-syntax", "text")
    assert _visible_ids(page) == [] and page.is_visible("#empty")
    page.select_option("#filter-syntax", "")
    page.fill("#filter-q", "")
    assert len(_visible_ids(page)) == 4

    # The hostile name is shown as text and its script never ran.
    assert page.evaluate("window.__pwned") is None
    assert HOSTILE in page.inner_text("#v-dddd000000000004 h2")
    assert page.eval_on_selector_all("script", "els => els.length") == 2

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert problems == []
    assert strangers == []
